"""HTML parameter tables keyed by parameter name: before/after corpus in tests/documents/tables.

Each case holds before.html, after.html and case.yaml (watch rules, the exact removed and
added wording, and the edits in words, in order).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from monitor.analysis.flag import flag_terms
from monitor.analysis.structured import compare_documents
from monitor.documents.document import Document
from monitor.documents.html import extract_html

CORPUS = Path(__file__).parent / "tables"
CASES = sorted(p for p in CORPUS.iterdir() if (p / "case.yaml").is_file())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_table_case(case: Path) -> None:
    spec = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
    rules = spec.get("watch") or {}
    before, after = (
        extract_html((case / name).read_text(encoding="utf-8"), select=rules.get("select"))
        for name in ("before.html", "after.html")
    )
    result = compare_documents(before, after)
    assert [e.summary for e in result.edits] == spec["edits"]
    assert [f.text for f in result.removed] == spec["removed"]
    assert [f.text for f in result.added] == spec["added"]
    if "flags" in spec:
        flags = flag_terms(before.text, after.text, spec["terms"])
        assert [f.to_dict() for f in flags] == spec["flags"]


def test_duplicate_names_key_nothing() -> None:
    """Nested parameters named alike in one table: no key, so no wrong pairing."""
    html = (
        "<h2>返回参数</h2><table><tr><th>名称</th><th>描述</th></tr>"
        "<tr><td>Name</td><td>人脸名称</td></tr><tr><td>Name</td><td>分组名称</td></tr>"
        "<tr><td>Id</td><td>编号</td></tr></table>"
    )
    rows = [b for b in extract_html(html).blocks if b.kind == "row"]
    assert [bool(b.key) for b in rows] == [True, False, False, True]


def test_tables_without_a_name_column_or_header_are_not_keyed() -> None:
    html = (
        "<table><tr><td>名称</td><td>描述</td></tr><tr><td>a</td><td>b</td></tr></table>"
        "<table><tr><th>地域</th><th>Endpoint</th></tr><tr><td>华东</td><td>x</td></tr></table>"
    )
    assert not any(b.key for b in extract_html(html).blocks)


def test_plain_pages_serialise_as_before() -> None:
    """No keyed rows: the blocks serialise as before keys; a first-generation document
    is byte-identical to the format before keys, so stored texts keep their hash."""
    doc = extract_html("<h1>T</h1><p>是否是维族</p><table><tr><td>a</td></tr></table>")
    blocks = '"blocks":[["heading","T",["T"]],["text","是否是维族",["T"]],["row","a",["T"]]]'
    assert doc.to_json() == '{"title":"","selected":true,' + blocks + ',"generation":2}'
    first = dataclasses.replace(doc, generation=1)
    assert first.to_json() == '{"title":"","selected":true,' + blocks + "}"
    assert Document.from_json(first.to_json()) == first
