"""`monitor demo` shows imported history before the live checks and a witness after."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli


def test_demo_imports_history_and_witnesses_the_edit(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    result = run_cli("--data-dir", str(data), "demo")
    assert result.code == 0, result.err
    step0 = result.out.split("== 0.")[1].split("== 1.")[0]
    assert "listed 2, imported 2" in step0 and "new change events 0" in step0
    assert "witness:  wayback archived" in result.out
    assert "byte-identical to ours" in result.out
    (change,) = json.loads(run_cli("--data-dir", str(data), "changes", "--format", "json").out)
    assert change["source"] == "live"  # the live check saw the edit; the archive agrees
    assert change["witnesses"][0]["copy"]["sha256_matches"] is True
    history = run_cli("--data-dir", str(data), "history", "aliyun-cloud-shield-face-api").out
    assert history.count("wayback") == 2
