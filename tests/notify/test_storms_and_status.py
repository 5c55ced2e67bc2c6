"""Storms become one message; a failing destination is retried, visible, then caught up."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from conftest import FAST_SETTINGS, Site, write_watchlist

from .receivers import Webhook, free_port

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")


def pages(site: Site, count: int, version: int) -> None:
    for i in range(count):
        site.set(f"/p{i}", f"<main><h1>接口 {i}</h1><p>返回年龄、性别、版本 {version}。</p></main>")


def watchlist(tmp_path: Path, site: Site, count: int, route: str) -> Path:
    watches = "".join(
        f"  - name: p{i}\n    url: {site.url(f'/p{i}')}\n    vendor: V{i % 3}\n"
        for i in range(count)
    )
    return write_watchlist(
        tmp_path / "w.yaml", f"watches:\n{watches}notify:\n{route}{FAST_SETTINGS}"
    )


def test_a_redesign_of_thirty_pages_is_one_message(tmp_path: Path, site: Site, cli) -> None:
    with Webhook() as hook:
        route = f"  - name: team\n    urls: ['{hook.url()}']\n"
        path = watchlist(tmp_path, site, 30, route)
        pages(site, 30, 1)
        assert cli("check", "--watchlist", str(path)).code == 0
        pages(site, 30, 2)  # every page changes at once
        result = cli("check", "--watchlist", str(path))
        assert result.code == 0
        assert "notify: 1 message(s) queued, 1 delivered, 0 failed" in result.out
    (summary,) = hook.requests
    assert summary["title"] == "[monitor] summary: 30 events on 30 watches"
    assert "changes --since" in summary["message"]
    assert all(f" p{i}: " in summary["message"] for i in range(30))


def test_the_rate_limit_holds_and_says_so(tmp_path: Path, site: Site, cli) -> None:
    with Webhook() as hook:
        route = (
            f"  - name: team\n    urls: ['{hook.url()}']\n    rate_limit: 2/1h\n"
            "    summarize_over: 10\n"
        )
        path = watchlist(tmp_path, site, 3, route)
        pages(site, 3, 1)
        assert cli("check", "--watchlist", str(path)).code == 0
        for version in (2, 3, 4):  # three events in a row on p0
            site.set("/p0", f"<main><p>版本 {version}</p></main>")
            assert cli("check", "--watchlist", str(path), "p0").code == 0
        assert len(hook.requests) == 2  # the third is held, not lost
        status = cli("notify", "status", "--format", "json").json()
    (team,) = status["routes"]  # type: ignore[index]
    assert (team["held"], team["held_because"], team["messages"]) == (1, "rate", 2)
    text = cli("notify", "status").out
    assert "held      1 event(s): the route's rate limit is reached" in text


def test_a_failing_destination_is_retried_shown_and_caught_up(
    tmp_path: Path, site: Site, cli, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # not even debug logging shows the URL's secret
    port = free_port()
    secret = "hook-Pa55word-xyz"
    route = (
        f"  - name: team\n    urls: ['json://bot:{secret}@127.0.0.1:{port}/hook']\n"
        "    retry: 1s\n    summarize_over: 3\n"
    )
    path = watchlist(tmp_path, site, 5, route)
    pages(site, 5, 1)
    assert cli("check", "--watchlist", str(path)).code == 0
    outputs = []
    for i in range(5):  # five checks, five events, the destination down every time
        site.set(f"/p{i}", f"<main><p>改动 {i}</p></main>")
        result = cli("check", "--watchlist", str(path), f"p{i}")
        assert result.code == 0  # a failed delivery is not a failed check
        outputs.append(result.out + result.err)
    assert "FAILED to send change #" in outputs[0]

    status = cli("notify", "status", "--format", "json")
    shown = status.json()
    (team,) = shown["routes"]  # type: ignore[index]
    assert team["pending"] == 5 and team["failed"] >= 1
    failed = [d for d in shown["deliveries"] if d["state"] == "failed"]  # type: ignore[index]
    assert failed and all(d["last_error"] and d["next_attempt_at"] for d in failed)
    assert failed[0]["target"] == f"json://bot:****@127.0.0.1:{port}/hook?method=POST"
    text = cli("notify", "status").out
    assert "FAILED  team: message 1 (change #1)" in text

    with Webhook(port=port) as hook:
        sent = cli("notify", "send", "--watchlist", str(path), "--retry-now")
        assert sent.code == 0 and "a catch-up of 5 messages (5 events)" in sent.out
        again = cli("notify", "send", "--watchlist", str(path), "--retry-now")
        assert "0 delivered" in again.out
    (catch_up,) = hook.requests
    assert catch_up["title"] == "[monitor] catch-up: 5 events on 5 watches"
    after = cli("notify", "status", "--format", "json").json()
    assert after["deliveries"] == []  # type: ignore[index]

    everything = "".join(outputs) + status.out + text + sent.out + again.out + caplog.text
    assert secret not in everything
    assert f"127.0.0.1:{port}" not in caplog.text.replace(f"@127.0.0.1:{port}", "")
    for file in cli.data_dir.rglob("*"):
        if file.is_file():
            assert secret.encode() not in file.read_bytes(), file


def test_status_json_fields_are_the_documented_ones(tmp_path: Path, site: Site, cli) -> None:
    port = free_port()
    route = f"  - name: team\n    urls: ['json://127.0.0.1:{port}/hook']\n"
    path = watchlist(tmp_path, site, 1, route)
    pages(site, 1, 1)
    cli("check", "--watchlist", str(path))
    site.set("/p0", "<main><p>新</p></main>")
    cli("check", "--watchlist", str(path))
    shown = cli("notify", "status", "--watchlist", str(path), "--format", "json").json()
    section = DOC.split("## JSON: notify status")[1].split("\n## ")[0]
    route_table, delivery_table = section.split("Each delivery not done")
    documented = re.findall(r"^\| `(\w+)` \|", route_table, re.M)
    assert list(shown["routes"][0]) == documented  # type: ignore[index]
    documented = re.findall(r"^\| `(\w+)` \|", delivery_table, re.M)
    assert list(shown["deliveries"][0]) == documented  # type: ignore[index]


def test_notify_test_reports_each_destination(tmp_path: Path, site: Site, cli) -> None:
    down = free_port()
    with Webhook() as hook:
        route = f"  - name: team\n    urls: ['{hook.url()}', 'json://127.0.0.1:{down}/x']\n"
        path = watchlist(tmp_path, site, 1, route)
        result = cli("notify", "test", "--watchlist", str(path))
    assert result.code == 1
    assert f"team             {hook.url()}?method=POST  ok" in result.out
    assert f"json://127.0.0.1:{down}/x?method=POST  FAILED:" in result.out
    assert "1 of 2 destination(s) accepted" in result.out
    (sample,) = hook.requests
    assert sample["title"].startswith("[monitor TEST] FLAGGED 维族 removed")
    assert not cli.data_dir.exists()  # a test writes nothing
