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

    kind: ``heading``, ``text``, ``item`` (list item), ``row`` (table row) or ``code``;
    structured documents use ``node``, ``field`` and ``member`` (monitor.documents.structured).
    path: the heading texts this block sits under (a heading includes itself); for a
    structured document, the node's location (its JSON pointer's steps).
    key: what identifies the block between versions when position does not: a parameter
    table row's table and parameter name, a structured node's identity path ("" = none).
    page: the PDF page the block starts on (0 when the document has no pages).
    """

    kind: str
    text: str
    path: tuple[str, ...] = ()
    key: str = ""
    page: int = 0


@dataclass(frozen=True, slots=True)
class Document:
    """The extracted text of one capture.

    ``selected`` is False when a ``select`` rule matched nothing: the page changed shape
    and the watch needs attention, which is not the same as "all text was removed".
    ``incomplete`` says why the text could not be read in full (a parser limit, the CSS
    rules' time budget; ``limit`` names the kind, see limits.py): such a document has
    no blocks, is never stored as a text and never compared, so it is not serialised.
    """

    title: str = ""
    blocks: tuple[Block, ...] = ()
    selected: bool = True
    type: str = "html"  # html, pdf, json, yaml, openapi, swagger, acs-api (documents.EXTRACTORS)
    incomplete: str = ""
    limit: str = ""
    # Which version of its extractor made it (html.HTML_GENERATION): a comparison reads
    # an older one again from its raw bytes (current.py), so that a fix to extraction
    # never reads as an edit of the page. 1: before generations were written.
    generation: int = 1

    @property
    def text(self) -> str:
        return "\n".join(block.text for block in self.blocks)

    def to_json(self) -> str:
        # Key, page, type and generation are written only when set: a document of the
        # first generation serialises as it always did and keeps its hash.
        payload: dict[str, object] = {
            "title": self.title,
            "selected": self.selected,
            "blocks": [_block_json(b) for b in self.blocks],
        }
        if self.type != "html":
            payload["type"] = self.type
        if self.generation != 1:
            payload["generation"] = self.generation
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | bytes) -> Document:
        payload = json.loads(data)
        blocks = tuple(
            Block(item[0], item[1], tuple(item[2]), *item[3:]) for item in payload["blocks"]
        )
        return cls(
            title=payload["title"],
            blocks=blocks,
            selected=payload["selected"],
            type=payload.get("type", "html"),
            generation=payload.get("generation", 1),
        )


def _block_json(block: Block) -> list[object]:
    """[kind, text, path] plus key and page when set.

    >>> _block_json(Block("row", "a | b", ("T",))), _block_json(Block("text", "x", (), "", 3))
    (['row', 'a | b', ['T']], ['text', 'x', [], '', 3])
    """
    item: list[object] = [block.kind, block.text, list(block.path)]
    if block.page:
        item += [block.key, block.page]
    elif block.key:
        item.append(block.key)
    return item
