"""The walk from a prepared tree to blocks: headings, text, items, rows and code.

Iterative, with an explicit stack: lxml (with ``huge_tree``) reads pages nested up to
2,048 elements deep, and a recursive walk would hit Python's recursion limit (1,000
frames, three per level) long before that, failing the check on a page it could read.

>>> from lxml import etree
>>> deep = etree.fromstring("<p>" + "<b>" * 1500 + "是否是维族", etree.HTMLParser(huge_tree=True))
>>> inner_text(deep).strip()
'是否是维族'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from lxml import etree

from .document import CELL_SEPARATOR, Block
from .limits import SizeBudget
from .patterns import IgnoreRules
from .tables import TableKeys, table_keys
from .textnorm import clean, clean_verbatim

SKIP = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "math",
        "iframe",
        "object",
        "embed",
        "canvas",
        "select",
        "option",
        "datalist",
        "input",
        "textarea",
        "head",
        "title",
        "meta",
        "link",
        "base",
    ]
)
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "center",
        "details",
        "dialog",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "header",
        "hgroup",
        "hr",
        "html",
        "legend",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "section",
        "summary",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "ul",
    ]
)
_CELLS = frozenset(("td", "th"))
_SPECIAL = frozenset((*HEADINGS, "tr", "pre", "br"))


def _tag(element: etree._Element) -> str | None:
    tag = element.tag
    return tag.lower() if isinstance(tag, str) else None  # comments and PIs have no str tag


def inner_text(element: etree._Element) -> str:
    """Visible text of an element, block boundaries becoming spaces (not its own tail:
    the text after a heading is the next block's, not the heading's).

    Recursive, which is twice as fast for the shallow cells and headings it is called
    on; an element nested deeper than Python's recursion limit is walked with a stack.

    >>> inner_text(etree.fromstring("<td>a<div>b</div><script>x</script>c</td>"))
    ' a b c '
    >>> inner_text(etree.fromstring("<div><h2>Title</h2>Some text</div>")[0])
    ' Title '
    >>> huge = etree.XMLParser(huge_tree=True)
    >>> deep = etree.fromstring("<td>" + "<b>" * 1500 + "维族" + "</b>" * 1500 + "</td>", huge)
    >>> inner_text(deep).strip()
    '维族'
    """
    parts: list[str] = []
    try:
        _collect(element, parts, tail=False)
    except RecursionError:
        return _inner_text_iterative(element)
    return "".join(parts)


def _collect(element: etree._Element, parts: list[str], tail: bool = True) -> None:
    tag = _tag(element)
    if tag is not None and tag not in SKIP:
        spaced = tag in BLOCKS or tag in _CELLS or tag == "br" or tag in HEADINGS
        if spaced:
            parts.append(" ")
        if element.text:
            parts.append(element.text)
        for child in element:
            _collect(child, parts)
        if spaced:
            parts.append(" ")
    if tail and element.tail:
        parts.append(element.tail)


def _inner_text_iterative(element: etree._Element) -> str:
    parts: list[str] = []
    # Strings are output; elements are expanded in place. An element pushes its tail
    # first, so the tail comes out after everything inside it.
    stack: list[etree._Element | str] = [element]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        if item.tail and item is not element:
            stack.append(item.tail)
        tag = _tag(item)
        if tag is None or tag in SKIP:
            continue
        spaced = tag in BLOCKS or tag in _CELLS or tag == "br" or tag in HEADINGS
        if spaced:
            stack.append(" ")
        stack.extend(reversed(item))
        if item.text:
            stack.append(item.text)
        if spaced:
            stack.append(" ")
    return "".join(parts)


def _cell_text(cell: etree._Element) -> str:
    # Most cells hold plain text: skip the walk for them.
    if len(cell) == 0:
        return cell.text or ""
    return inner_text(cell)


@dataclass(frozen=True)
class _Close:
    """Marks the end of a block element on the walk's stack."""

    table: bool


_CLOSE_BLOCK: Final = _Close(table=False)
_CLOSE_TABLE: Final = _Close(table=True)


@dataclass
class Walker:
    ignore: IgnoreRules | None
    blocks: list[Block] = field(default_factory=list)
    buffer: list[str] = field(default_factory=list)
    headings: list[tuple[int, str]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=lambda: ["text"])
    path: tuple[str, ...] = ()  # the heading texts of ``headings``, kept in step
    tables: list[TableKeys | None] = field(default_factory=list)  # enclosing tables
    keyed: bool = False  # some row has a key (see tables.py)
    size: SizeBudget = field(default_factory=lambda: SizeBudget(source_chars=None))
    path_chars: int = 0  # the length of ``path``, copied into every block

    def add(self, kind: str, text: str, key: str = "") -> None:
        if self.ignore is not None:
            text = self.ignore.sub("", text)
            text = text if kind == "code" else clean(text)
        if text.strip():
            self.size.spend(len(text) + self.path_chars)
            self.blocks.append(Block(kind, text, self.path, key))

    def flush(self) -> None:
        if self.buffer:
            text = clean("".join(self.buffer))
            self.buffer.clear()
            if text:
                self.add(self.kinds[-1], text)

    def visit(self, root: etree._Element) -> None:
        """Walk an element and everything inside it (not its tail), in document order."""
        stack: list[etree._Element | str | _Close] = [root]
        pop, push, buffer = stack.pop, stack.append, self.buffer
        while stack:
            item = pop()
            kind = type(item)
            if kind is str:
                buffer.append(item)  # type: ignore[arg-type]
                continue
            if kind is _Close:
                self._close(item)  # type: ignore[arg-type]
                continue
            element: etree._Element = item  # type: ignore[assignment]
            tag = element.tag
            if not isinstance(tag, str):
                continue  # comments and PIs
            tag = tag.lower()
            if tag in SKIP:
                continue
            if tag in _SPECIAL:
                self._special(tag, element)
                continue
            if tag in BLOCKS:
                self.flush()
                if tag == "table":
                    self.tables.append(table_keys(element, self.path, _cell_text))
                self.kinds.append("item" if tag == "li" else "text")
                push(_CLOSE_TABLE if tag == "table" else _CLOSE_BLOCK)
            # The element's text, then each child followed by its tail (pushed reversed).
            for child in reversed(element):
                if child.tail:
                    push(child.tail)
                push(child)
            if element.text:
                push(element.text)

    def _special(self, tag: str, element: etree._Element) -> None:
        """Elements read whole, not walked: headings, table rows, code and line breaks."""
        if tag in HEADINGS:
            self._heading(HEADINGS[tag], element)
        elif tag == "tr":
            self._row(element)
        elif tag == "pre":
            self.flush()
            self.add("code", clean_verbatim("".join(element.itertext())))
        else:  # br
            self.buffer.append("\n")

    def _close(self, marker: _Close) -> None:
        self.flush()
        self.kinds.pop()
        if marker.table:
            self.tables.pop()

    def _heading(self, level: int, element: etree._Element) -> None:
        self.flush()
        text = clean(inner_text(element))
        if self.ignore is not None:
            text = clean(self.ignore.sub("", text))
        if not text:
            return
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        self.headings.append((level, text))
        self.path = tuple(heading for _, heading in self.headings)
        self.path_chars = sum(map(len, self.path))
        self.size.spend(len(text) + self.path_chars)
        self.blocks.append(Block("heading", text, self.path))

    def _row(self, element: etree._Element) -> None:
        self.flush()
        cells: list[str] = []
        loose: list[str] = []  # text in the row but in no cell
        for child in element:
            if _tag(child) in _CELLS:
                cells.append(clean(_cell_text(child)))
            else:
                loose.append(inner_text(child))
            tail = child.tail
            if tail and not tail.isspace():
                loose.append(tail)
        text = element.text
        if text and not text.isspace():
            loose.insert(0, text)
        if loose:
            # A browser shows it, moved before the table; dropping it would hide its
            # removal. Its own block, before the row: the row's cells stay as they were.
            self.add(self.kinds[-1], clean(" ".join(loose)))
        if any(cells):
            keys = self.tables[-1] if self.tables else None
            key = keys.key(cells, element) if keys is not None else ""
            self.keyed = self.keyed or bool(key)
            self.add("row", CELL_SEPARATOR.join(cells), key)
