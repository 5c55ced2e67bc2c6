"""Scheduling: restart-aware due times, no start-up burst, clean SIGTERM."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import PYTHON, count_captures, pages_watchlist

from monitor.config.watchlist import Watch
from monitor.run.scheduler import first_run, trigger_for

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_next_check_comes_from_the_last_recorded_check() -> None:
    watch = Watch(name="w", url="https://x", every_seconds=3600)
    assert first_run(watch, NOW - timedelta(minutes=20), NOW) == NOW + timedelta(minutes=40)


def test_overdue_watches_are_spread_not_burst() -> None:
    rng = random.Random(7)
    watches = [Watch(name=f"w{i}", url="https://x", every_seconds=21600) for i in range(200)]
    starts = [first_run(w, NOW - timedelta(days=1), NOW, rng) for w in watches]
    offsets = sorted((s - NOW).total_seconds() for s in starts if s is not None)
    assert offsets[0] >= 0 and offsets[-1] <= 300
    per_second = [int(o) for o in offsets]
    assert max(per_second.count(s) for s in per_second) <= 5  # 200 watches, no burst
    assert offsets[-1] - offsets[0] > 240  # spread over the window


def test_short_interval_spreads_within_one_interval() -> None:
    watch = Watch(name="w", url="https://x", every_seconds=60)
    start = first_run(watch, None, NOW, random.Random(1))
    assert start is not None and NOW <= start <= NOW + timedelta(seconds=60)


def test_cron_watches_are_left_to_their_trigger() -> None:
    watch = Watch(name="w", url="https://x", every_seconds=None, cron="0 */6 * * *")
    assert first_run(watch, None, NOW) is None
    fire = trigger_for(watch).get_next_fire_time(None, NOW)
    assert fire == datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_interval_trigger_has_jitter() -> None:
    trigger = trigger_for(Watch(name="w", url="https://x", every_seconds=3600))
    assert trigger.jitter == 300  # 10% of an hour, capped at five minutes


def test_run_checks_then_stops_cleanly_on_sigterm(tmp_path: Path, site) -> None:
    for i in range(5):
        site.set(f"/p{i}", f"<p>page {i}</p>")
    paths = [f"/p{i}" for i in range(5)]
    path = pages_watchlist(tmp_path / "w.yaml", site, paths, extra="    every: 1h\n")
    data = tmp_path / "data"
    command = [
        PYTHON,
        "-m",
        "monitor",
        "--data-dir",
        str(data),
        "run",
        "--watchlist",
        str(path),
        "--startup-spread",
        "0",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and count_captures(data) < 5:
            time.sleep(0.2)
        seen = count_captures(data)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert seen == 5, out + err
    assert process.returncode == 0, err
    assert "stopped cleanly" in out

    # A restart does not re-check at once: each watch is next due an hour after its check.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    # Wait until it is running (a loaded machine can take seconds to start), then a while.
    assert process.stdout.readline().startswith("monitoring"), process.stderr
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    assert process.returncode == 0
    assert count_captures(data) == 5
