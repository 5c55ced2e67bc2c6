"""Structured documents (JSON, YAML, OpenAPI 3, Swagger 2, API metadata): before/after corpus.

Each directory in tests/documents/structured holds before.* and after.* and a case.yaml
(format in tests/documents/README.md). The expectations are exact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.analysis.flag import flag_terms
from monitor.analysis.structured import compare_structured
from monitor.documents.document import Document
from monitor.documents.structured import StructuredError, extract_structured

CORPUS = Path(__file__).parent / "structured"
CASES = sorted(p for p in CORPUS.iterdir() if (p / "case.yaml").is_file())


def load(case: Path) -> tuple[dict[str, Any], Document, Document]:
    spec = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
    before, after = (next(case.glob(f"{side}.*")) for side in ("before", "after"))
    return (
        spec,
        extract_structured(before.read_bytes(), spec["media"]),
        extract_structured(after.read_bytes(), spec["media"]),
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_structured_case(case: Path) -> None:
    spec, before, after = load(case)
    assert before.type == after.type == spec["type"]
    result = compare_structured(before, after)
    assert [e.summary for e in result.edits] == spec["edits"]
    assert [f.text for f in result.removed] == spec["removed"]
    assert [f.text for f in result.added] == spec["added"]
    assert result.changed == spec["change"]
    if "where" in spec:
        assert [e.where for e in result.edits] == spec["where"]
    if "flags" in spec:
        flags = flag_terms(before.text, after.text, spec["terms"])
        assert [f.to_dict() for f in flags] == spec["flags"]


def test_corpus_covers_the_document_kinds() -> None:
    types = {yaml.safe_load((c / "case.yaml").read_text("utf-8"))["type"] for c in CASES}
    assert {"openapi", "swagger", "acs-api", "json"} <= types


def test_same_document_any_formatting_is_equal() -> None:
    """Indentation, key order, YAML vs JSON: the same tree gives the same Document JSON."""
    _spec, before, _ = load(CORPUS / "openapi3-reordered")
    again = extract_structured((CORPUS / "openapi3-reordered" / "after.yaml").read_bytes(), "yaml")
    assert [(b.kind, b.text, b.key) for b in before.blocks] == [
        (b.kind, b.text, b.key) for b in again.blocks
    ]


def test_pointer_of_each_version() -> None:
    """A removal points into the old version, an addition into the new, by real index."""
    old = extract_structured('{"p": [{"name": "a"}, {"name": "uygur"}]}', "json")
    new = extract_structured('{"p": [{"name": "b"}, {"name": "a", "x": 1}]}', "json")
    edits = {e.op + " " + e.where: e.pointer for e in compare_structured(old, new).edits}
    assert edits == {"removed /p/1": "/p/1", "added /p/0": "/p/0", "added /p/1/x": "/p/1/x"}


def test_round_trip_through_storage() -> None:
    _, before, _ = load(CORPUS / "openapi3-face")
    assert Document.from_json(before.to_json()) == before


BAD_INPUT = [
    ("json", b'{"a": 1,', "not valid JSON"),
    ("json", b"\xff\xfe{", "not valid JSON"),
    ("yaml", b"a: [1, 2\nb: 3", "not valid YAML"),
    ("yaml", b"!!python/object/apply:os.system ['true']", "not valid YAML"),
    ("json", b"[" * 300 + b"]" * 300, "nested deeper than"),
]


@pytest.mark.parametrize(("media", "body", "message"), BAD_INPUT)
def test_bad_input_is_a_clear_error(media: str, body: bytes, message: str) -> None:
    with pytest.raises(StructuredError, match=message):
        extract_structured(body, media)


@pytest.mark.parametrize(
    ("body", "texts"),
    [
        (b"42", ["42"]),
        (b"{}", []),
        (b'{"a": []}', ["a: []"]),
        (b'{"a": [1, 1]}', ["a:", "[0] 1", "[1] 1"]),
        (b'{"a": [[1], [2]]}', ["a:", "0:", "1", "1:", "2"]),
    ],
)
def test_shapes(body: bytes, texts: list[str]) -> None:
    assert [b.text for b in extract_structured(body, "json").blocks] == texts
