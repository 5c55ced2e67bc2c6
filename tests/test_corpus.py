"""The diff corpus: real before/after documentation pairs through extract, compare, flag.

Each directory in tests/corpus holds before.html, after.html and case.yaml (format in
tests/corpus/README.md). The expectations are exact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.analysis.compare import Comparison, compare
from monitor.analysis.flag import flag_terms
from monitor.documents.document import Document
from monitor.documents.html import extract_html

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p for p in CORPUS.iterdir() if (p / "case.yaml").is_file())


def load(case: Path) -> tuple[dict[str, Any], Document, Document]:
    spec = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
    rules = spec.get("watch") or {}
    documents = [
        extract_html(
            (case / name).read_text(encoding="utf-8"),
            select=rules.get("select"),
            exclude=tuple(rules.get("exclude") or ()),
            ignore=tuple(rules.get("ignore") or ()),
        )
        for name in ("before.html", "after.html")
    ]
    return spec, documents[0], documents[1]


def first_location(comparison: Comparison) -> list[str]:
    fragments = sorted([*comparison.removed, *comparison.added], key=lambda f: f.path)
    return list((comparison.removed or comparison.added or fragments)[0].path)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case: Path) -> None:
    spec, before, after = load(case)
    comparison = compare(before, after)
    assert [f.text for f in comparison.removed] == spec.get("removed", [])
    assert [f.text for f in comparison.added] == spec.get("added", [])
    assert comparison.changed == spec["change"]
    assert not comparison.fallback
    if "moved" in spec:
        assert [m.text for m in comparison.moved] == spec["moved"]
    if "location" in spec:
        assert first_location(comparison) == spec["location"]
    if "flags" in spec:
        terms = (spec.get("watch") or {}).get("terms") or []
        flags = flag_terms(before.text, after.text, terms)
        assert [f.to_dict() for f in flags] == spec["flags"]


def test_corpus_covers_languages_and_noise() -> None:
    specs = {c.name: yaml.safe_load((c / "case.yaml").read_text(encoding="utf-8")) for c in CASES}
    languages = {name.split("-")[0] for name in specs}
    assert {"en", "zh", "zht", "ja"} <= languages
    assert len(specs) >= 40
    assert sum(not spec["change"] for spec in specs.values()) >= 8
