"""Parameter tables in HTML API references: rows keyed by the parameter they describe.

A table whose header names a parameter (or field, property, error code) column is a
*keyed* table: each row's ``Block.key`` is the table's label (its caption, else the
heading it sits under), the kind of thing its rows name, and the row's name. The
comparison then pairs a row with its other version by key, wherever re-sorting moved it
and however much its description changed, and the report can say "parameter `uygur`
removed from table 返回参数". A name that occurs twice under one label keys nothing.

>>> from lxml import etree
>>> table = etree.fromstring('<table><thead><tr><th>参数</th><th>描述</th></tr></thead>'
...     '<tr><td>uygur</td><td>是否是维族</td></tr></table>', etree.HTMLParser()).find(".//table")
>>> keys = table_keys(table, ("人脸属性", "返回参数"))
>>> keys.label, keys.noun, keys.column
('返回参数', 'parameter', 0)
>>> parse_key(keys.key(["uygur", "是否是维族"]))
RowKey(label='返回参数', noun='parameter', name='uygur')
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from lxml import etree

from .document import Block
from .textnorm import clean

_SEPARATOR = "\x1f"  # a control character: not part of any documentation text
_ROW, _HEADER = "row", "header"

# Header cells that name the column of names, by the noun its rows are.
_NOUNS: dict[str, str] = {
    **dict.fromkeys(
        (
            "名称",
            "参数",
            "参数名",
            "参数名称",
            "字段",
            "字段名",
            "字段名称",
            "属性",
            "属性名",
            "属性名称",
            "名字",
            "名稱",
            "參數",
            "參數名",
            "參數名稱",
            "欄位",
            "欄位名稱",
            "屬性",
            "name",
            "parameter",
            "parameters",
            "parameter name",
            "param",
            "field",
            "field name",
            "property",
            "property name",
            "attribute",
            "key",
            "element",
            "名前",
            "パラメータ",
            "パラメーター",
            "パラメータ名",
            "項目",
            "項目名",
            "フィールド",
            "属性名",
        ),
        "parameter",
    ),
    **dict.fromkeys(
        ("错误码", "錯誤碼", "error code", "errorcode", "code", "エラーコード", "状态码"),
        "error code",
    ),
}


class RowKey(NamedTuple):
    label: str  # the table: its caption, or the heading it sits under ("" if none)
    noun: str  # what its rows name: "parameter", "error code"
    name: str  # the row's name ("" for the header row)


@dataclass(frozen=True)
class TableKeys:
    """How one table's rows are keyed: its label, noun, name column and header row."""

    label: str
    noun: str
    column: int
    header: etree._Element

    def key(self, cells: Sequence[str], row: etree._Element | None = None) -> str:
        """A row's key; the header row's has an empty name (the report reads columns)."""
        if row is self.header:
            return _SEPARATOR.join((_HEADER, self.label, self.noun, ""))
        name = cells[self.column] if self.column < len(cells) else ""
        return _SEPARATOR.join((_ROW, self.label, self.noun, name)) if name else ""


def parse_key(key: str) -> RowKey | None:
    """A row key's parts; None for a key that is not a table row's (or the header's)."""
    parts = key.split(_SEPARATOR)
    if len(parts) != 4 or parts[0] != _ROW:
        return None
    return RowKey(parts[1], parts[2], parts[3])


def header_key(row: RowKey) -> str:
    """The key of the header row of a row's table."""
    return _SEPARATOR.join((_HEADER, row.label, row.noun, ""))


def _tag(element: etree._Element) -> str:
    return element.tag.lower() if isinstance(element.tag, str) else ""


def table_keys(
    table: etree._Element,
    path: tuple[str, ...],
    cell_text: Callable[[etree._Element], str] = lambda c: "".join(c.itertext()),
) -> TableKeys | None:
    """How a table's rows are keyed, or None when it has no header naming a name column."""
    first = _first_row(table)
    if first is None:
        return None
    cells = [c for c in first if _tag(c) in ("td", "th")]
    in_head = _tag(first.getparent()) == "thead" if first.getparent() is not None else False
    if not cells or not (in_head or all(_tag(c) == "th" for c in cells)):
        return None
    for column, cell in enumerate(cells):
        noun = _NOUNS.get(clean(cell_text(cell)).rstrip(":：").casefold())
        if noun is not None:
            caption = table.find("caption")
            label = clean("".join(caption.itertext())) if caption is not None else ""
            return TableKeys(label or (path[-1] if path else ""), noun, column, first)
    return None


def _first_row(table: etree._Element) -> etree._Element | None:
    """The table's first own row in document order: never a row of a nested table.

    Nested tables are skipped whole, not searched and filtered: 600 tables nested in
    each other around 10,000 rows took 15 s that way (each table went through every
    row below it). Here each element is looked at by its nearest table only.

    >>> table = etree.fromstring("<table><caption><table><tr><td>inner</td></tr></table>"
    ...     "</caption><tbody><tr><td>own</td></tr></tbody></table>", etree.HTMLParser())
    >>> _first_row(table.find(".//table")).findtext("td")
    'own'
    """
    stack = list(reversed(table))
    while stack:
        element = stack.pop()
        tag = _tag(element)
        if tag == "tr":
            return element
        if tag != "table":
            stack.extend(reversed(element))
    return None


def unique_keys(blocks: list[Block]) -> list[Block]:
    """Blocks whose key is shared by another block lose it: a key must name one row."""
    counts = Counter(b.key for b in blocks if b.key)
    if all(n == 1 for n in counts.values()):
        return blocks
    return [replace(b, key="") if b.key and counts[b.key] > 1 else b for b in blocks]
