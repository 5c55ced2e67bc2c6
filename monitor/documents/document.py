"""The extracted text of a capture: blocks of visible text in reading order.

Every extractor (HTML today; one per document type) produces a :class:`Document`, and
everything after extraction (compare, flag, reports) works on Documents only.

>>> doc = Document("t", (Block("heading", "Face", ("Face",)), Block("text", "维族", ("Face",))))
>>> Document.from_json(doc.to_json()) == doc
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass

CELL_SEPARATOR = " | "


@dataclass(frozen=True, slots=True)
class Block:
    """One unit of visible text.

    kind: ``heading``, ``text``, ``item`` (list item), ``row`` (table row) or ``code``.
    path: the heading texts this block sits under (a heading includes itself).
    """

    kind: str
    text: str
    path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Document:
    """The extracted text of one capture.

    ``selected`` is False when a ``select`` rule matched nothing: the page changed shape
    and the watch needs attention, which is not the same as "all text was removed".
    """

    title: str = ""
    blocks: tuple[Block, ...] = ()
    selected: bool = True

    @property
    def text(self) -> str:
        return "\n".join(block.text for block in self.blocks)

    def to_json(self) -> str:
        payload = {
            "title": self.title,
            "selected": self.selected,
            "blocks": [[b.kind, b.text, list(b.path)] for b in self.blocks],
        }
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | bytes) -> Document:
        payload = json.loads(data)
        blocks = tuple(Block(kind, text, tuple(path)) for kind, text, path in payload["blocks"])
        return cls(title=payload["title"], blocks=blocks, selected=payload["selected"])
