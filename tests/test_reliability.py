"""Fetching that survives the real web: each fault has one exact recorded outcome.

Every scenario: a good capture of a real-looking page, then the same watch hits a
fault, then (where it matters) the good page again. Asserted: the fault's capture
row (outcome, error class), the events (never a spurious ``changed``), and a store
that passes its integrity check with every blob matching its hash.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultserver import FaultServer

from monitor.check import run_checks
from monitor.config.watchlist import Settings, Watch, Watchlist
from monitor.documents.document import Document
from monitor.fetch.http import FetchPolicy
from monitor.store import Store

DOC = """<html><head><meta charset="utf-8"><title>DetectFaces</title></head><body>
<main><h1>DetectFaces</h1><p>Detects up to 100 faces in an image and returns attributes.</p>
<table><tr><th>Name</th><th>Type</th></tr><tr><td>AgeRange</td><td>object</td></tr>
<tr><td>Emotions</td><td>array</td></tr></table>{extra}</main></body></html>"""

POLICY = FetchPolicy(
    connect_timeout=2,
    read_timeout=1.0,
    attempt_deadline=3.0,
    retries=1,
    backoff=0.05,
    max_wait=2.0,
    host_delay=0,
    max_bytes=5 * 1024 * 1024,
)


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer() as fault_server:
        yield fault_server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "data") as opened:
        yield opened


def check(store: Store, url: str, name: str = "w", **rules: object) -> dict[str, object]:
    """One check of watch ``name`` at ``url``; returns its capture row and event kinds."""
    watch = Watch(name=name, url=url, **rules)  # type: ignore[arg-type]
    watchlist = Watchlist(path="<test>", watches=(watch,), settings=Settings())
    (result,) = asyncio.run(run_checks(store, watchlist, [watch], POLICY))
    assert result.error is None, result.error
    row = dict(store.capture(result.capture_id))
    row["events"] = list(result.events)
    return row


def good(server: FaultServer, extra: str = "") -> str:
    server.set_page("doc", DOC.format(extra=extra))
    return server.url("/page/doc")


FAULTS = [
    # path, expected outcome, expected error class (None: an HTTP answer was recorded)
    ("/reset", "transient", "transient"),
    ("/reset-after-headers", "transient", "transient"),
    ("/drip?bytes=200&delay=0.5", "transient", "transient"),
    ("/hang", "transient", "transient"),
    ("/truncate", "transient", "transient"),
    ("/lie-length", "transient", None),
    ("/gzip-bomb", "error", "too_large"),
    ("/big?mb=50", "error", "too_large"),
    ("/redirect-loop", "error", "redirect_loop"),
    ("/500", "transient", None),
    ("/503", "transient", None),
    ("/cloudflare", "blocked", None),
    ("/aws-waf", "blocked", None),
    ("/akamai", "blocked", None),
    ("/captcha-200", "blocked", None),
    ("/soft404", "gone", None),
    ("/soft404-zh", "gone", None),
    ("/redirect-home/docs/face-api", "gone", None),
    ("/404", "gone", None),
    ("/410", "gone", None),
]


@pytest.mark.parametrize(("path", "outcome", "error_class"), FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_is_recorded_exactly_and_never_diffed(
    server: FaultServer, store: Store, path: str, outcome: str, error_class: str | None
) -> None:
    first = check(store, good(server))
    assert first["outcome"] == "ok"
    fault = check(store, server.url(path))
    assert (fault["outcome"], fault["error_class"]) == (outcome, error_class)
    assert "changed" not in fault["events"]
    if outcome == "blocked":
        assert fault["body_sha256"]  # the wall itself is kept as evidence
        assert fault["text_sha256"] is None  # ...but never extracted or diffed
        assert check(store, server.url(path))["events"] == ["blocked"]  # once confirmed
    back = check(store, good(server))
    assert "changed" not in back["events"]
    assert store.verify() == []


def test_repeated_transient_failures_give_one_unreachable_then_one_restored(
    server: FaultServer, store: Store
) -> None:
    events = [check(store, good(server))["events"]]
    events += [check(store, server.url("/500"))["events"] for _ in range(5)]
    events.append(check(store, good(server))["events"])
    assert events == [[], [], [], ["unreachable"], [], [], ["restored"]]


def test_gone_needs_two_checks_and_the_last_good_capture_stays_the_reference(
    server: FaultServer, store: Store
) -> None:
    reference = check(store, good(server))
    assert check(store, server.url("/404"))["events"] == []
    assert check(store, server.url("/soft404"))["events"] == ["gone"]
    back = check(store, good(server, extra="<p>New paragraph.</p>"))
    assert back["events"] == ["restored", "changed"]
    (change,) = [c for c in store.changes() if c["kind"] == "changed"]
    assert change["from_capture"] == reference["id"]
    assert json.loads(change["added"]) == ["New paragraph."]


def test_flapping_server_is_retried_within_the_check(server: FaultServer, store: Store) -> None:
    server.reset_hits()
    row = check(store, server.url("/flap"))
    assert (row["outcome"], row["status"], row["attempts"]) == ("ok", 200, 2)


def test_retry_after_is_honoured(server: FaultServer, store: Store) -> None:
    server.reset_hits()
    row = check(store, server.url("/429?retry_after=1"))
    assert (row["outcome"], row["attempts"]) == ("ok", 2)
    assert row["elapsed_ms"] >= 1000


def test_redirects_are_followed_and_recorded_and_a_new_target_is_moved(
    server: FaultServer, store: Store
) -> None:
    chain = check(store, server.url("/redirect-chain?n=3"), name="chain")
    assert chain["outcome"] == "ok"
    assert len(json.loads(chain["redirects"])) == 3
    check(store, server.url("/page/doc"), name="m")
    moved = check(store, server.url("/moved-permanently"), name="m")
    assert moved["final_url"] == server.url("/page/new-location")
    assert "moved" in moved["events"]


@pytest.mark.parametrize(
    ("path", "encoding", "expected"),
    [
        ("/gb18030", "gb18030", "生僻字：𠮷"),  # a character outside GBK survives
        ("/gbk-header", "gb18030", "接口说明"),
        ("/shift-jis", "cp932", "ストレージサービスの設定方法"),
        ("/utf8-bom", "utf-8", "带字节序标记的页面"),
        ("/undeclared-gb18030", "gb18030", "开发者指南"),
        ("/invalid-utf8", "utf-8", "支持跨区\ufffd\ufffd域复制"),
    ],
)
def test_any_encoding_is_decoded_and_raw_bytes_kept(
    server: FaultServer, store: Store, path: str, encoding: str, expected: str
) -> None:
    row = check(store, server.url(path))
    assert (row["outcome"], row["encoding"]) == ("ok", encoding)
    text = Document.from_json(store.get_blob(row["text_sha256"])).text
    assert expected in text
    assert store.blobs.verify(row["body_sha256"])


@pytest.mark.parametrize("path", ["/etag", "/last-modified"])
def test_conditional_requests_record_not_modified(
    server: FaultServer, store: Store, path: str
) -> None:
    first = check(store, server.url(path))
    second = check(store, server.url(path))
    assert (first["status"], second["status"], second["outcome"]) == (200, 304, "not_modified")
    assert second["text_sha256"] == first["text_sha256"] and second["events"] == []
    header = "If-None-Match" if path == "/etag" else "If-Modified-Since"
    assert server.requests(path)[-1].header(header)


def test_selector_missing_is_a_warning_not_a_removal(server: FaultServer, store: Store) -> None:
    server.set_page(
        "shape", "<main>" + "<p>Plenty of documentation text here.</p>" * 20 + "</main>"
    )
    url = server.url("/page/shape")
    check(store, url, name="s", select="main")
    server.set_page("shape", "<div id='app'>" + "<p>Redesigned page.</p>" * 20 + "</div>")
    missing = check(store, url, name="s", select="main")
    assert (missing["outcome"], missing["events"]) == ("selector_missing", [])
    server.set_page("shape", "<main><p>x</p></main>")  # almost nothing where there was plenty
    confirmed = check(store, url, name="s", select="main")
    assert (confirmed["outcome"], confirmed["events"]) == ("selector_missing", ["selector_missing"])
    (event,) = store.changes()
    detail = json.loads(store.change(event["id"])["detail"])
    assert detail["remaining_text"] == "x"  # the warning carries what the page says now
    plenty = 20 * len("Plenty of documentation text here.") + 19  # 20 blocks, 19 newlines
    assert (detail["chars"], detail["reference_chars"]) == (1, plenty)
    assert [c["kind"] for c in store.changes()] == ["selector_missing"]


def test_validators_are_rechecked_with_a_full_fetch(server: FaultServer, store: Store) -> None:
    """A server that wrongly answers 304 for ever must not hide an edit for ever."""
    server.reset_hits()
    statuses = [check(store, server.url("/etag"))["status"] for _ in range(13)]
    assert statuses == [200] + [304] * 10 + [200] + [304]
    sent = [bool(r.header("If-None-Match")) for r in server.requests("/etag")]
    assert sent == [False] + [True] * 10 + [False] + [True]
