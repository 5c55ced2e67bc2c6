"""SIGKILL between recording an event and delivering it: nothing lost, nothing doubled.

``monitor run`` runs in its own process against a local page server and two webhook
receivers: A is up throughout; B is down (or hangs) at first and comes up later.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import FAST_SETTINGS, PYTHON, Site, write_watchlist

from monitor.demo import demo_page

from .receivers import Webhook, free_port, wait_for

ZH = "/document_detail/70429.html"
ENV = "MONITOR_TEST_NOTIFY"


def changes(data: Path) -> int:
    database = data / "monitor.db"
    if not database.exists():
        return 0
    connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return int(connection.execute("SELECT count(*) FROM changes").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # the schema is still being created
    finally:
        connection.close()


def setup(tmp_path: Path, site: Site, wait: str) -> tuple[Path, list[str]]:
    site.set(ZH, demo_page("aliyun-zh-v1.html"))
    watchlist = write_watchlist(
        tmp_path / "w.yaml",
        f"""
defaults:
  terms: [维族]
watches:
  - name: aliyun-face
    url: {site.url(ZH)}
    vendor: Alibaba Cloud
    select: main
    ignore: ['^更新时间[:：].*$']
    every: 1h
notify:
  - name: team
    urls_env: {ENV}
    kinds: [changed, attention]
    wait: {wait}
    retry: 1s
{FAST_SETTINGS}  gone_after: 1
""",
    )
    base = [PYTHON, "-m", "monitor", "--data-dir", str(tmp_path / "data")]
    return watchlist, base


def start(base: list[str], watchlist: Path, urls: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, ENV: urls}
    return subprocess.Popen(
        [*base, "run", "--watchlist", str(watchlist), "--startup-spread", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


@pytest.mark.slow
def test_killed_before_sending(tmp_path: Path, site: Site) -> None:
    """Killed while the route waits after the event: the restart sends it.

    The page is gone at the first check (``gone_after: 1``), so ``monitor run`` records
    an event at once; the route's ``wait`` holds it long enough to kill the process.
    """
    watchlist, base = setup(tmp_path, site, wait="8s")
    site.pages.bodies.pop(ZH)
    b_port = free_port()
    with Webhook() as a:
        urls = f"{a.url()} json://127.0.0.1:{b_port}/hook"
        first = start(base, watchlist, urls)
        try:
            wait_for(lambda: changes(tmp_path / "data") == 1, what="the gone event")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        assert a.requests == []  # recorded, not yet delivered

        second = start(base, watchlist, urls)
        try:
            wait_for(lambda: len(a.requests) == 1, timeout=60, what="delivery to A")
            with Webhook(port=b_port) as b:  # B comes up only now
                wait_for(lambda: len(b.requests) == 1, timeout=60, what="delivery to B")
                stop(second)
                assert len(b.requests) == 1
        finally:
            if second.poll() is None:
                second.kill()
        assert len(a.requests) == 1
        assert a.requests[0]["title"] == "[monitor] needs attention: gone · aliyun-face"


@pytest.mark.slow
def test_killed_in_the_middle_of_delivering(tmp_path: Path, site: Site) -> None:
    """A flagged removal; `monitor check` is killed while B hangs after A has its copy.

    The restarted `monitor run` gives B its copy once, and A never gets a second one.
    """
    watchlist, base = setup(tmp_path, site, wait="0s")
    check = [*base, "check", "--watchlist", str(watchlist)]
    assert subprocess.run(check, check=False, capture_output=True).returncode == 0
    with Webhook() as a:
        hanging = Webhook(behaviour="hang").start()
        urls = f"{a.url()} {hanging.url()}"
        site.set(ZH, demo_page("aliyun-zh-v3.html"))  # the silent edit
        first = subprocess.Popen(
            check,
            env={**os.environ, ENV: urls},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(lambda: len(a.requests) == 1 and hanging.connections == 1, what="A, then B")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        hanging.stop()

        second = start(base, watchlist, urls)
        try:
            with Webhook(port=hanging.port) as b:
                wait_for(lambda: len(b.requests) == 1, timeout=60, what="delivery to B")
                stop(second)
                assert len(b.requests) == 1
                assert "、是否是维族" in b.requests[0]["message"]
        finally:
            if second.poll() is None:
                second.kill()
        assert len(a.requests) == 1
