"""SIGKILL at random points never leaves an inconsistent store."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from conftest import PYTHON, Site, count_captures, pages_watchlist

from monitor.store import Store

PAGES = 40


def big_page(i: int, version: int) -> str:
    rows = "".join(
        f"<tr><td>attr{r}</td><td>说明 {r} version {version if r % 17 == i % 17 else 0}</td></tr>"
        for r in range(1500)
    )
    return f"<html><body><main><h1>Page {i}</h1><table>{rows}</table></main></body></html>"


def serve_round(site: Site, version: int) -> None:
    for i in range(PAGES):
        site.set(f"/p{i}", big_page(i, version))


def watchlist(tmp_path: Path, site: Site, prefix: str) -> Path:
    paths = [f"/p{i}" for i in range(PAGES)]
    return pages_watchlist(
        tmp_path / f"{prefix or 'base'}.yaml", site, paths, prefix, "    every: 1h\n"
    )


def kill_after(command: list[str], seconds: float, data: Path) -> None:
    """SIGKILL a monitor ``seconds`` after it started writing captures.

    Counting from its first new capture, not from its start: on a loaded machine the
    start-up alone can take longer than the delay, and the kill must land mid-work.
    """
    before = count_captures(data)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if count_captures(data) > before:
            break
        time.sleep(0.05)
    time.sleep(seconds)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_sigkill_during_checks_and_runs_leaves_a_consistent_store(tmp_path: Path, site) -> None:
    data = tmp_path / "data"
    base = [PYTHON, "-m", "monitor", "--data-dir", str(data)]
    rng = random.Random(2026)
    check_list = watchlist(tmp_path, site, "")
    for round_number in range(8):
        serve_round(site, round_number)
        delay = rng.uniform(0.0, 1.5)
        if round_number % 2:
            run_list = watchlist(tmp_path, site, f"r{round_number}-")
            kill_after(
                [*base, "run", "--watchlist", str(run_list), "--startup-spread", "0"], delay, data
            )
        else:
            kill_after([*base, "check", "--watchlist", str(check_list)], delay, data)

    with Store(data) as store:
        assert store.verify() == []
    captures = count_captures(data)
    assert 0 < captures < 8 * PAGES  # the kills landed in the middle of real work

    # The store is still usable: a normal check completes and verifies.
    serve_round(site, 99)
    done = subprocess.run(
        [*base, "check", "--watchlist", str(check_list)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert f"checked {PAGES}" in done.stdout
    verified = subprocess.run([*base, "verify"], capture_output=True, text=True, timeout=120)
    assert verified.stdout.strip().endswith("store OK")
    connection = sqlite3.connect(data / "monitor.db")
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    connection.close()
