"""`monitor demo` ends with a Save Page Now witness of the edit, its copy checked."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli


def test_demo_witnesses_the_edit(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    result = run_cli("--data-dir", str(data), "demo")
    assert result.code == 0, result.err
    assert "witness:  wayback archived" in result.out
    assert "byte-identical to ours" in result.out
    changes = json.loads(run_cli("--data-dir", str(data), "changes", "--format", "json").out)
    (witnessed,) = [c for c in changes if c["witnesses"]]
    assert witnessed["kind"] == "changed" and witnessed["flags"]
    assert witnessed["witnesses"][0]["copy"]["sha256_matches"] is True
