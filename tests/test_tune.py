"""`monitor watchlist test`: the page's own noise, suggested ignore rules, coverage."""

from __future__ import annotations

import itertools
import re

import pytest
from conftest import FAST_SETTINGS, write_watchlist

from monitor.analysis.compare import Fragment
from monitor.tune import suggest_pattern


def test_noisy_page_gets_suggestions_that_silence_it(tmp_path, site, cli) -> None:
    counter = itertools.count(8812)

    def page() -> bytes:
        n = next(counter)
        return (
            f"<nav>Docs</nav><main><h1>Face</h1><p>更新时间：2020-12-{n % 28 + 1:02d}</p>"
            f"<p>Request id {n}</p><p>Stable text.</p></main>"
        ).encode()

    site.set("/face", page)
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"""
watches:
  - name: face
    url: {site.url("/face")}
    select: main
    ignore: ['^更新时间[:：].*$']
{FAST_SETTINGS}""",
    )
    result = cli("watchlist", "test", str(path), "face", "--wait", "0")
    assert result.code == 0, result.err
    assert "keeps 3 of 5 blocks" in result.out  # nav and the ignored time are not kept
    assert "[Request id 8812]" in result.out or "[8812]" in result.out
    suggested = re.findall(r"^  - '(.*)'$", result.out, re.MULTILINE)
    assert suggested
    # The suggestion really silences the noise: with it, a third fetch shows none.
    rules = ", ".join(f"'{p}'" for p in ["^更新时间[:：].*$", *suggested])
    tuned = write_watchlist(
        tmp_path / "t.yaml",
        f"""
watches:
  - name: face
    url: {site.url("/face")}
    select: main
    ignore: [{rules}]
{FAST_SETTINGS}""",
    )
    again = cli("watchlist", "test", str(tuned), "face", "--wait", "0")
    assert "Your ignore rules already silence all of it." in again.out


def test_select_matching_nothing_is_called_out(tmp_path, site, cli) -> None:
    site.set("/p", b"<p>hello</p>")
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"""
watches:
  - name: p
    url: {site.url("/p")}
    select: article.doc
{FAST_SETTINGS}""",
    )
    result = cli("watchlist", "test", str(path), "p", "--wait", "0")
    assert "matches NOTHING" in result.out


def test_validate_lists_watches_without_fetching(tmp_path, cli) -> None:
    result = cli("watchlist", "validate", "watchlists/face-and-moderation.yaml")
    assert result.code == 0 and "valid" in result.out


def test_suggested_pattern_matches_other_values() -> None:
    fragment = Fragment(
        "2020-12-09 10:21:33", (), "text", "Updated 2020-12-09 10:21:33", before="Updated "
    )
    pattern = re.compile(suggest_pattern(fragment))
    assert pattern.search("Updated 2024-01-31 23:59:00")
    assert not pattern.search("Returns the age of each face")


# (what the server answers, words the NOT WATCHABLE line must contain)
UNWATCHABLE = [
    (None, "the page is gone"),
    (
        b"<html><title>Just a moment...</title><body>Checking your browser</body></html>",
        "the page is blocked",
    ),
    (
        b"<html><body>"
        + b"<script src=/a.js></script>" * 6
        + b'<div id="app"></div></body></html>',
        "fetch: browser",
    ),
    (b"<html><body><p>hello</p></body></html>", "almost no text (5 characters)"),
]


@pytest.mark.parametrize(("body", "words"), UNWATCHABLE)
def test_an_unwatchable_page_exits_2_and_says_why(tmp_path, site, cli, body, words) -> None:
    if body is not None:
        site.set("/p", body)
    path = write_watchlist(
        tmp_path / "w.yaml", f"watches:\n  - name: p\n    url: {site.url('/p')}\n{FAST_SETTINGS}"
    )
    result = cli("watchlist", "test", str(path), "p", "--wait", "0")
    assert result.code == 2
    assert "NOT WATCHABLE AS IS" in result.out and words in result.out


def test_unreachable_page_exits_2(tmp_path, cli) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"watches:\n  - name: p\n    url: http://127.0.0.1:{port}/p\n{FAST_SETTINGS}",
    )
    result = cli("watchlist", "test", str(path), "p", "--wait", "0")
    assert result.code == 2 and "the page is unreachable" in result.out
