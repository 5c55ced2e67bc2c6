"""What a comparison found: fragments of wording, display hunks, edits in words.

The result types of every comparer (``compare`` for text, ``compare_structured`` for
JSON/YAML), and what a change event keeps as its detail (:meth:`Comparison.to_detail`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .pairing import Move


@dataclass(frozen=True, slots=True)
class Fragment:
    """A run of removed or added wording, located in its page."""

    text: str
    path: tuple[str, ...]
    kind: str  # kind of the block it sat in: heading, text, item, row, code
    block: str  # the whole block (for a table: the row it sat in)
    before: str = ""  # context: text just before it in the same block
    after: str = ""  # context: text just after it
    page: int = 0  # the PDF page of its block (0: the document has no pages)

    def to_dict(self) -> dict[str, object]:
        fields: dict[str, object] = {
            "text": self.text,
            "path": list(self.path),
            "kind": self.kind,
            "block": self.block,
            "before": self.before,
            "after": self.after,
        }
        if self.page:
            fields["page"] = self.page
        return fields


@dataclass(frozen=True, slots=True)
class Edit:
    """One change in words, where a document's structure names it.

    ``parameter `uygur` removed from table 返回参数``, ``response property `uygur`
    removed from DetectFace``. ``where`` is a readable location (a structured
    document's dotted path, a table's label) and ``pointer`` the JSON pointer of the
    node in the version it refers to (the old one for a removal), for structured documents.
    """

    op: str  # removed, added, changed, renamed
    summary: str
    where: str = ""
    pointer: str = ""
    old: str | None = None
    new: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "op": self.op,
            "summary": self.summary,
            "where": self.where,
            "pointer": self.pointer,
            "old": self.old,
            "new": self.new,
        }


@dataclass(frozen=True, slots=True)
class Hunk:
    """A region of changed blocks for display: (op, text) segments, blocks split by '\\n'."""

    path: tuple[str, ...]
    segments: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class Comparison:
    removed: tuple[Fragment, ...] = ()
    added: tuple[Fragment, ...] = ()
    moved: tuple[Move, ...] = ()
    hunks: tuple[Hunk, ...] = ()
    fallback: bool = False  # the time budget ran out and some regions are reported whole
    edits: tuple[Edit, ...] = ()  # the changes in words, where the structure names them

    @property
    def changed(self) -> bool:
        """True when wording was removed or added, or a block moved to another section."""
        return self.changed_for("section")

    def changed_for(self, moves: str) -> bool:
        """A change event? Moves alone count per ``moves``: ignore | section | any."""
        if self.removed or self.added or self.edits:
            return True
        if moves == "any":
            return bool(self.moved)
        return moves == "section" and any(m.changed_section for m in self.moved)

    def to_detail(self) -> dict[str, object]:
        """JSON-ready detail kept with a change event."""
        return {
            "removed": [f.to_dict() for f in self.removed],
            "added": [f.to_dict() for f in self.added],
            "moved": [
                {"text": m.text, "from_path": list(m.from_path), "to_path": list(m.to_path)}
                for m in self.moved
            ],
            "hunks": [
                {"path": list(h.path), "segments": [list(s) for s in h.segments]}
                for h in self.hunks
            ],
            "fallback": self.fallback,
            **({"edits": [e.to_dict() for e in self.edits]} if self.edits else {}),
        }
