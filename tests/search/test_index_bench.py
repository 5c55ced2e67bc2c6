"""The index benchmark stays runnable: snapshots from real checks, then timed catch-ups."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import index_bench


def test_the_benchmark_indexes_a_first_capture_and_a_changed_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index_bench.main(["--pages", "10", "--rounds", "1", "--data", str(tmp_path)])
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line}
    assert rows["first"][0] == "10" and rows["changed"][0] == "10"  # versions read
    assert float(rows["first"][1]) > 0
    assert (tmp_path / "first" / "monitor.db").exists()  # kept for the next run
