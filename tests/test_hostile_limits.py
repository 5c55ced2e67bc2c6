"""Hostile input, hangs and blow-ups (issue 9): watchlist regexes and YAML in bounded time.

Each table row is one hostile (or merely unlucky) input and what must happen. Budgets are
passed small (``ignore_budget``, ``limit=``) so no test waits for a real default.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import FAST_SETTINGS, PYTHON, Site, write_watchlist

from monitor.config.reading import read_text
from monitor.config.source import _parse_yaml
from monitor.config.watchlist import load_watchlist, loads_watchlist
from monitor.documents import EXTRACTORS, Unreadable, read_document
from monitor.documents.patterns import IgnoreRules, PatternTimeout, ignore_budget
from monitor.errors import WatchlistError

RUNAWAY = "a" * 5000 + "b"  # (a+)+$ backtracks for ever on it (2^5000 ways to split)
SHORT_RUNAWAY = "a" * 60 + "b"  # (a|aa)+$: fib(60) ways; short enough for a PDF line

# --- ignore patterns: a runaway ends within its budget, naming the pattern ------------

# (id, patterns, text, the pattern(s) named, or None: finishes with re's result)
PATTERNS = [
    ("nested-plus", ["(a+)+$"], RUNAWAY, ["(a+)+$"]),
    ("overlapping-alternation", ["(a|aa)+$"], SHORT_RUNAWAY, ["(a|aa)+$"]),
    ("nested-star", ["(a*)*$"], RUNAWAY, ["(a*)*$"]),
    ("culprit-among-good", [r"^Updated: .*$", "(a+)+$", r"\d+"], RUNAWAY, ["(a+)+$"]),
    ("good-patterns-finish", [r"^Updated: .*$", r"\d{4}-\d\d-\d\d"], "x\nUpdated: 1\n", None),
    ("cjk-word-class", [r"更新于\w+"], "文档更新于二零二六年。正文", None),
    ("lookaround-backref", [r"(?<=id=)(\w)\1+", r"(?i:session) \d+"], "id=aaab SESSION 42", None),
    ("long-text-linear", [r"^Updated: .*$"], "Updated: x\n" + "word " * 200_000, None),
]


@pytest.mark.parametrize(
    ("patterns", "text", "named"), [p[1:] for p in PATTERNS], ids=[p[0] for p in PATTERNS]
)
def test_ignore_patterns_run_in_bounded_time(
    patterns: list[str], text: str, named: list[str] | None
) -> None:
    budget = 0.1
    started = time.thread_time()
    if named is None:
        joined = re.compile("|".join(f"(?:{p})" for p in patterns), re.MULTILINE)
        assert IgnoreRules(tuple(patterns), budget).sub("", text) == joined.sub("", text)
        return
    with pytest.raises(PatternTimeout) as caught:
        IgnoreRules(tuple(patterns), budget).sub("", text)
    assert caught.value.patterns == tuple(named)
    assert repr(named[0]) in str(caught.value) and "0.1s" in str(caught.value)
    # The match and the search for the culprit: each within one budget (plus slack).
    assert time.thread_time() - started < 2 * budget + 0.5


def test_the_budget_is_per_document_not_per_call() -> None:
    slowish = "a" * 150 + "b"  # (a+)+$ needs milliseconds here
    rules = IgnoreRules(("(a+)+$",), 0.2)
    rules.sub("", slowish)
    assert 0 < rules.spent < 0.2
    with pytest.raises(PatternTimeout):
        for _ in range(10_000):  # many calls, each well under the budget, together over it
            rules.sub("", slowish)
    assert rules.spent < 0.2 + 0.1


def _pdf_with(line: str) -> bytes:
    from documents.pdfs import Item, flowing_pdf

    return flowing_pdf([Item("Title", 1), Item(line)], lang="en", footer="", title="t")


# Every extractor applies ignore patterns: each must stop a runaway the same way.
DOCUMENTS = [
    ("html", f"<html><body><h1>T</h1><p>{RUNAWAY}</p></body></html>", "(a+)+$"),
    ("html-heading", f"<h2>{RUNAWAY}</h2>", "(a+)+$"),
    ("json", f'{{"description": "{RUNAWAY}"}}', "(a+)+$"),
    ("yaml", f"description: {RUNAWAY}\n", "(a+)+$"),
    ("pdf", None, "(a|aa)+$"),
]


@pytest.mark.parametrize(
    ("kind", "content", "pattern"), [d[:3] for d in DOCUMENTS], ids=[d[0] for d in DOCUMENTS]
)
def test_every_extractor_stops_a_runaway_pattern(
    kind: str, content: str | None, pattern: str
) -> None:
    body: str | bytes = _pdf_with(SHORT_RUNAWAY) if content is None else content
    extract = EXTRACTORS[kind.split("-")[0]]
    with ignore_budget(0.05), pytest.raises(PatternTimeout) as caught:
        extract(body, None, (), (pattern,))
    assert caught.value.patterns == (pattern,)


def test_an_archived_copy_is_read_in_bounded_time_too() -> None:
    from datetime import UTC, datetime

    from monitor.archives.reading import Rules, read_copy

    body = f"<html><body><p>{RUNAWAY}</p></body></html>".encode()
    headers = [("content-type", "text/html; charset=utf-8")]
    with ignore_budget(0.05):
        found = read_copy(
            "https://x/p", 200, headers, body, datetime.now(UTC), Rules(ignore=("(a+)+$",))
        )
    assert found.outcome == "incomplete" and found.document is None
    assert "'(a+)+$'" in found.reason and "not compared" in found.reason


def test_check_records_a_runaway_pattern_as_incomplete_never_as_a_change(
    tmp_path: Path, site: Site, cli
) -> None:  # type: ignore[no-untyped-def]
    site.set("/p", "<h1>Terms</h1><p>Updated: 2026-01-01</p><p>We keep your data.</p>")
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"watches:\n  - name: terms\n    url: {site.url('/p')}\n"
        "    ignore: ['^Updated: .*$', '(a+)+$']\n" + FAST_SETTINGS,
    )
    assert cli("check", "--watchlist", str(path)).code == 0
    # The page grows a long run of 'a': the second pattern would run for ever on it.
    site.set("/p", f"<h1>Terms</h1><p>{RUNAWAY}</p><p>We keep your data.</p>")
    with ignore_budget(0.05):
        first = cli("check", "--watchlist", str(path))
        second = cli("check", "--watchlist", str(path))
    assert first.code == 0 and second.code == 0, first.err
    line = first.out.splitlines()[0]
    assert "incomplete" in line and "watch 'terms'" in line and "'(a+)+$'" in line, line
    assert "internal error" not in first.out + first.err
    assert "events: incomplete" in second.out  # confirmed: a warning, never "changed"
    db = sqlite3.connect(cli.data_dir / "monitor.db")
    outcomes = [r[0] for r in db.execute("SELECT outcome FROM captures ORDER BY id")]
    kinds = [r[0] for r in db.execute("SELECT kind FROM changes ORDER BY id")]
    assert outcomes == ["ok", "incomplete", "incomplete"]
    assert kinds == ["incomplete"]


def test_watchlist_test_calls_a_runaway_pattern_unwatchable(
    tmp_path: Path, site: Site, cli
) -> None:  # type: ignore[no-untyped-def]
    site.set("/p", f"<h1>Terms</h1><p>{RUNAWAY}</p><p>We keep your data.</p>")
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"watches:\n  - name: p\n    url: {site.url('/p')}\n    ignore: '(a+)+$'\n" + FAST_SETTINGS,
    )
    with ignore_budget(0.05):
        result = cli("watchlist", "test", str(path), "p", "--wait", "0")
    assert result.code == 2, result.out + result.err
    assert "NOT WATCHABLE AS IS: watch 'p': ignore pattern '(a+)+$' ran past" in result.out


# --- YAML: alias bombs, self-reference, deep nesting, size ------------------------------


def _bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return (
        "\n".join(lines)
        + f"\nwatches:\n  - name: a\n    url: https://x\n    terms: *a{levels - 1}\n"
    )


# (id, watchlist text, alias-node limit, reason the error must contain, its line)
YAML_CASES = [
    ("billion-laughs", _bomb(9), 100_000, "the limit is 100,000", None),
    ("small-bomb-tiny-limit", _bomb(3), 50, "the limit is 50", None),
    ("alias-in-itself", "watches: &w [*w]\n", 100_000, "endless structure", 1),
    ("merge-in-itself", "defaults: &d {<<: *d}\nwatches: []\n", 100_000, "endless structure", 1),
    ("deep-sequences", "watches: " + "[" * 5000 + "]" * 5000 + "\n", 100_000, "nested too", None),
    ("deep-mappings", "watches: " + "{a: " * 3000 + "1" + "}" * 3000, 100_000, "nested too", None),
]


@pytest.mark.parametrize(
    ("text", "limit", "reason", "line"), [c[1:] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES]
)
def test_hostile_yaml_is_refused_quickly(
    text: str, limit: int, reason: str, line: int | None
) -> None:
    started = time.monotonic()
    with pytest.raises(WatchlistError) as caught:
        _parse_yaml(text, "w.yaml", limit)
    assert reason in caught.value.reason, caught.value
    assert caught.value.file == "w.yaml" and caught.value.line == line
    assert time.monotonic() - started < 10  # minutes before


# A page may serve the same bombs as a YAML document (an OpenAPI file, say).
PAGE_YAML = [
    ("billion-laughs", _bomb(9), "YAML aliases (*name) expand the file to"),
    ("alias-in-itself", "paths: &p {a: *p}\n", "inside the node it names"),
]


@pytest.mark.parametrize(
    ("text", "reason"), [c[1:] for c in PAGE_YAML], ids=[c[0] for c in PAGE_YAML]
)
def test_a_yaml_page_with_hostile_aliases_is_an_error_not_a_hang(text: str, reason: str) -> None:
    started = time.monotonic()
    found = read_document("yaml", text)
    assert isinstance(found, Unreadable) and found.outcome == "error"
    assert reason in found.reason, found.reason
    assert time.monotonic() - started < 10
    anchors = "base: &b {type: string, description: x}\nparams:\n" + "  - *b\n" * 50
    document = read_document("yaml", anchors)  # ordinary anchors still read
    assert not isinstance(document, Unreadable) and len(document.blocks) > 50


def test_legitimate_aliases_and_merges_still_load() -> None:
    text = (
        "x-rules: &rules {terms: [民族, 维吾尔], ignore: ['^Updated: .*$']}\n"
        "defaults: {every: 6h}\n"
        "watches:\n"
        + "".join(f"  - {{<<: *rules, name: w{i}, url: 'https://x/{i}'}}\n" for i in range(200))
    )
    with pytest.raises(WatchlistError, match="unknown key 'x-rules'"):
        loads_watchlist(text, "w.yaml")  # top-level anchors need a home the schema knows
    text = text.replace("x-rules: &rules {", "defaults: &rules {every: 6h, ").replace(
        "defaults: {every: 6h}\n", ""
    )
    watchlist = loads_watchlist(text, "w.yaml")
    assert len(watchlist.watches) == 200 and watchlist.watches[7].terms == ("民族", "维吾尔")


def test_an_oversized_watchlist_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("watches:\n" + "  - {name: a, url: 'https://x'}\n" * 200, encoding="utf-8")
    with pytest.raises(WatchlistError, match=r"over the 1,048 bytes limit") as caught:
        read_text(str(path), limit=1048)
    assert caught.value.file == str(path) and "split it" in caught.value.reason
    assert "watches" in read_text(str(path), limit=10_000)


@pytest.mark.slow
def test_validate_refuses_bombs_and_big_files_with_exit_status_2(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    bomb = write_watchlist(tmp_path / "bomb.yaml", _bomb(9))
    big = tmp_path / "big.yaml"
    with big.open("w", encoding="utf-8") as handle:
        handle.write("watches:\n")
        line = "  - {name: a, url: 'https://x'}\n"
        handle.write(line * (5 * 1024 * 1024 // len(line)))
    for path, reason in ((bomb, "YAML aliases"), (big, "MB limit for a watchlist")):
        started = time.monotonic()
        result = cli("watchlist", "validate", str(path))
        assert result.code == 2, result.out + result.err
        assert str(path) in result.err and reason in result.err
        assert time.monotonic() - started < 10
    with pytest.raises(WatchlistError):
        load_watchlist(big)


# --- shutdown: SIGINT/SIGTERM during a runaway match --------------------------------------

# (id, command after the watchlist, signal, exit status, outcomes written). `run` finishes
# the check in flight (bounded by the page's ignore budget) and exits 0; `check` is
# interrupted: Ctrl-C exits 130 (its worker processes ended), SIGTERM ends it at once.
STOPS = [
    ("run-sigterm", ["run", "--startup-spread", "0"], signal.SIGTERM, 0, ["incomplete"] * 2),
    ("run-sigint", ["run", "--startup-spread", "0"], signal.SIGINT, 0, ["incomplete"] * 2),
    ("check-sigint", ["check"], signal.SIGINT, 130, None),
    ("check-sigterm", ["check"], signal.SIGTERM, -signal.SIGTERM, None),
    ("check-workers-sigint", ["check", "--workers", "2"], signal.SIGINT, 130, None),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "signum", "status", "outcomes"), [s[1:] for s in STOPS], ids=[s[0] for s in STOPS]
)
def test_stops_promptly_on_a_signal_during_a_runaway_match(
    tmp_path: Path,
    site: Site,
    command: list[str],
    signum: signal.Signals,
    status: int,
    outcomes: list[str] | None,
) -> None:
    served = threading.Event()

    def page() -> bytes:
        served.set()
        return f"<p>{RUNAWAY * 20}</p>".encode()

    entries = ""
    for i in range(2):
        site.pages.set(f"/p{i}", page)
        entries += f"  - name: slow{i}\n    url: {site.url(f'/p{i}')}\n    ignore: '(a+)+$'\n"
    path = write_watchlist(tmp_path / "w.yaml", f"watches:\n{entries}{FAST_SETTINGS}")
    data = tmp_path / "data"
    where = ["--watchlist", str(path)]
    argv = [PYTHON, "-m", "monitor", "--data-dir", str(data), *command[:1], *where, *command[1:]]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert served.wait(60), "the page was never fetched"
        time.sleep(0.5)  # the match is running now
        sent = time.monotonic()
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == status, out + err
    assert "Traceback" not in err and "internal error" not in err, err
    # Within the page's ignore budget (2 CPU seconds) and the shutdown's own work, on a
    # loaded machine; the match alone would run for hours, and signals waited for it.
    assert took < 15, f"took {took:.1f}s to stop"
    db = sqlite3.connect(data / "monitor.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    written = [r[0] for r in db.execute("SELECT outcome FROM captures")]
    if outcomes is not None:
        assert written == outcomes, out + err  # the checks in flight were written...
        assert out.count("ran past its time budget") == 2, out  # ...and shown
    assert set(written) <= {"incomplete"}  # never a half-cleaned text
