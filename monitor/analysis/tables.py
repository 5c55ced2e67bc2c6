"""Parameter-table changes in words: "parameter `uygur` removed from table 返回参数".

Pure functions on the text comparison's result and the two documents' keyed rows (see
``monitor.documents.tables``). Only rows the comparison found changed are described, so
a renamed table heading or re-sorted rows, which change no row's wording, give no edit.

>>> from monitor.analysis.compare import compare
>>> from monitor.documents.html import extract_html
>>> table = ('<h2>返回参数</h2><table><tr><th>参数</th><th>描述</th></tr>'
...          '<tr><td>age</td><td>年龄</td></tr>{}</table>')
>>> old = extract_html(table.format('<tr><td>uygur</td><td>是否是维族</td></tr>'))
>>> new = extract_html(table.format(''))
>>> [e.summary for e in table_edits(old, new, compare(old, new))]
['parameter `uygur` removed from table 返回参数']
"""

from __future__ import annotations

from ..documents.document import CELL_SEPARATOR, Block, Document
from ..documents.tables import RowKey, header_key, parse_key
from .comparison import Comparison, Edit

REMOVED, ADDED, CHANGED = "removed", "added", "changed"


def table_edits(old: Document, new: Document, comparison: Comparison) -> tuple[Edit, ...]:
    """One edit per keyed row the comparison found removed, added or changed."""
    old_rows, new_rows = _keyed(old), _keyed(new)
    if not old_rows and not new_rows:
        return ()
    old_by_text = {b.text: k for k, b in old_rows.items()}
    new_by_text = {b.text: k for k, b in new_rows.items()}
    touched: list[str] = []
    for fragment in comparison.removed:
        key = old_by_text.get(fragment.block) if fragment.kind == "row" else None
        if key is not None and key not in touched:
            touched.append(key)
    for fragment in comparison.added:
        key = new_by_text.get(fragment.block) if fragment.kind == "row" else None
        if key is not None and key not in touched:
            touched.append(key)
    edits: list[Edit] = []
    for key in touched:
        edits += _describe(key, old_rows.get(key), new_rows.get(key), old, new)
    return tuple(edits)


def _keyed(document: Document) -> dict[str, Block]:
    return {b.key: b for b in document.blocks if b.kind == "row" and parse_key(b.key)}


def _describe(
    key: str, before: Block | None, after: Block | None, old: Document, new: Document
) -> list[Edit]:
    row = parse_key(key)
    assert row is not None
    table = f"table {row.label}" if row.label else "a table"
    thing = f"{row.noun} `{row.name}`"
    if after is None and before is not None:
        summary = f"{thing} removed from {table}"
        return [Edit(REMOVED, summary, where=row.label, old=before.text)]
    if before is None and after is not None:
        return [Edit(ADDED, f"{thing} added to {table}", where=row.label, new=after.text)]
    assert before is not None and after is not None
    old_cells = before.text.split(CELL_SEPARATOR)
    new_cells = after.text.split(CELL_SEPARATOR)
    if len(old_cells) != len(new_cells):
        summary = f"{thing} changed in {table}"
        return [Edit(CHANGED, summary, row.label, "", before.text, after.text)]
    columns = _columns(row, new) or _columns(row, old)
    return [
        Edit(
            CHANGED,
            f"{_column(columns, index)} of {thing} changed in {table}",
            where=row.label,
            old=was,
            new=now,
        )
        for index, (was, now) in enumerate(zip(old_cells, new_cells, strict=True))
        if was != now
    ]


def _columns(row: RowKey, document: Document) -> list[str]:
    wanted = header_key(row)
    for block in document.blocks:
        if block.key == wanted:
            return block.text.split(CELL_SEPARATOR)
    return []


def _column(columns: list[str], index: int) -> str:
    if index < len(columns) and columns[index]:
        return f"`{columns[index]}`"
    return f"column {index + 1}"
