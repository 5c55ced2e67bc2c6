"""The search benchmark stays runnable and its planted wording is found (tiny scale)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import search_bench


def test_the_benchmark_builds_a_real_index_and_finds_what_it_planted(tmp_path: Path) -> None:
    pages = search_bench.Pages(watches=20, versions=6)
    store, _, _ = search_bench.build(tmp_path, pages)
    store.close()
    found = {label: hits for label, _, hits, _, _ in search_bench.measure(tmp_path, runs=1)}
    assert found["planted phrase (5 characters)"] == 2  # watches 0 and 10
    assert found["the same in traditional characters"] == 2
    assert found["two characters (per-character index)"] == 2
    assert found["English word, planted"] == 1  # watch 5
    assert found["absent phrase"] == 0
    assert found["one watch (--watch)"] == 1
