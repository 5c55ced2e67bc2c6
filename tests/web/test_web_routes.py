"""Dashboard routes through the ASGI test client, on the demo's data."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import feedparser
import lxml.html
import pytest
from conftest import run_cli
from fastapi.testclient import TestClient
from webdata import ZH, client, copy, csrf, make_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo(tmp_path_factory.mktemp("demo") / "data")


@pytest.fixture
def data(demo: Path, tmp_path: Path) -> Path:
    return copy(demo, tmp_path / "data")  # triage writes stay in this test


@pytest.fixture
def web(data: Path) -> Iterator[TestClient]:
    with client(data) as c:
        yield c


PAGES = [
    "/",
    "/changes",
    "/changes?flagged=1",
    "/changes/1",
    f"/watches/{ZH}",
    "/search",
    "/search?q=维族",
    "/static/style.css",
    "/feed.atom",
    "/openapi.json",
    "/api/changes",
    "/api/watches",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_answer_with_strict_headers(web: TestClient, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 200, response.text
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_change_list_filters_and_pages(web: TestClient) -> None:
    def ids(query: str) -> list[str]:
        page = lxml.html.fromstring(web.get(f"/changes?{query}").text)
        return [a.text_content() for a in page.cssselect("table.changes td:first-child a")]

    assert ids("") == ["#1"]
    assert ids("flagged=1") == ["#1"]
    assert ids("kind=changed&vendor=Alibaba+Cloud&tag=zh") == ["#1"]
    assert ids(f"watch={ZH}-en") == []
    assert ids("kind=gone") == []
    assert ids("since=2000-01-01&until=2100-01-01") == ["#1"]
    assert ids("until=2000-01-01") == []
    assert ids("triage=untriaged") == ["#1"] and ids("triage=important") == []
    assert web.get("/changes?since=yesterday").status_code == 400
    assert web.get("/changes?triage=maybe").status_code == 400
    assert ids("limit=1&offset=1") == []


def test_change_page_shows_the_struck_wording_and_the_evidence(web: TestClient) -> None:
    html = web.get("/changes/1").text
    page = lxml.html.fromstring(html)
    struck = " ".join(d.text_content() for d in page.cssselect("del"))
    assert "是否是维族" in struck
    assert page.cssselect("#inline") and page.cssselect("#side-by-side")
    event = web.get("/api/changes/1").json()
    assert event["from_snapshot"] in html and event["to_snapshot"] in html
    raw = web.get(f"/captures/{event['to_capture']}/raw")
    assert hashlib.sha256(raw.content).hexdigest() == event["to_snapshot"]
    assert raw.headers["content-disposition"].startswith("attachment;")
    assert raw.headers["content-type"] == "application/octet-stream"
    assert "sandbox" in raw.headers["content-security-policy"]


def test_triage_marks_are_appended_shown_filtered_and_exported(web: TestClient, data: Path) -> None:
    token = csrf(web.get("/changes/1").text)
    for mark, note in (("reviewed", ""), ("important", "维族 removed after press inquiries")):
        response = web.post(
            "/changes/1/triage",
            data={"mark": mark, "note": note, "author": "ana", "csrf_token": token},
        )
        assert response.status_code == 303, response.text
    page = web.get("/changes/1").text
    assert "维族 removed after press inquiries" in page and "ana" in page
    triage = web.get("/api/changes/1").json()["triage"]
    assert triage["state"] == "important"
    assert [m["mark"] for m in triage["marks"]] == ["reviewed", "important"]
    assert all(m["author"] == "ana" and m["at"].endswith("Z") for m in triage["marks"])
    listed = web.get("/api/changes?triage=important").json()
    assert [c["id"] for c in listed["changes"]] == [1]
    assert web.get("/api/changes?triage=untriaged").json()["total"] == 0
    cli_json = run_cli("--data-dir", str(data), "changes", "--format", "json").json()
    assert cli_json[0]["triage"] == triage  # type: ignore[index]
    bad = web.post("/changes/1/triage", data={"mark": "delete", "csrf_token": token})
    assert bad.status_code == 400
    assert (
        web.post("/changes/99/triage", data={"mark": "noise", "csrf_token": token}).status_code
        == 404
    )


def test_api_changes_have_the_command_line_fields(web: TestClient, data: Path) -> None:
    cli_json = run_cli("--data-dir", str(data), "changes", "--format", "json").json()
    api = web.get("/api/changes").json()
    assert api["total"] == 1 and api["changes"] == cli_json
    one = web.get("/api/changes/1").json()
    assert {k: v for k, v in one.items() if k != "detail"} == cli_json[0]  # type: ignore[index]
    assert one["detail"]["removed"]


def test_watch_page_timeline_text_and_diff(web: TestClient) -> None:
    captures = web.get(f"/api/watches/{ZH}/captures").json()
    first, last = captures[-1]["id"], captures[0]["id"]
    page = web.get(f"/watches/{ZH}?at={first}").text
    assert "是否是维族" in page and "#1 changed" in page
    assert (
        "是否是维族"
        not in lxml.html.fromstring(web.get(f"/watches/{ZH}?at={last}").text)
        .cssselect("#text")[0]
        .text_content()
    )
    diff = lxml.html.fromstring(web.get(f"/watches/{ZH}/diff?old={last}&new={first}").text)
    assert "是否是维族" in " ".join(d.text_content() for d in diff.cssselect("del"))
    text = web.get(f"/api/captures/{first}/text").json()
    assert any("是否是维族" in b["text"] for b in text["blocks"])


def test_search_page_says_when_it_vanished(web: TestClient) -> None:
    page = lxml.html.fromstring(web.get("/search", params={"q": "維族"}).text)
    (hit,) = page.cssselect("article.hit")
    assert "no longer present" in hit.text_content()
    vanished = hit.cssselect("li.vanished")[0]
    assert vanished.cssselect('a[href="/changes/1"]')
    api = web.get("/api/search", params={"q": "维族"}).json()
    assert api[0]["present_now"] is False and api[0]["transitions"][-1]["change"] == 1


def test_feed_is_the_command_line_feed_with_dashboard_links(web: TestClient, data: Path) -> None:
    served = feedparser.parse(web.get("/feed.atom?flagged=1").content)
    printed = feedparser.parse(
        run_cli("--data-dir", str(data), "changes", "--format", "atom", "--flagged").out
    )
    assert not served.bozo and served.feed.id == printed.feed.id
    assert [e.id for e in served.entries] == [e.id for e in printed.entries]
    assert served.entries[0].link == "http://127.0.0.1/changes/1"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/changes/99", 404),
        ("/api/changes/99", 404),
        (f"/api/changes/{2**63}", 422),
        (f"/changes/{2**63}", 400),
        ("/watches/nope", 404),
        ("/api/watches/nope", 404),
        ("/captures/999/raw", 404),
        ("/api/captures/999/text", 404),
        ("/search?q=%20", 200),
    ],
)
def test_errors_are_clear(web: TestClient, path: str, status: int) -> None:
    assert web.get(path).status_code == status


def test_pages_are_read_while_a_writer_holds_the_database(data: Path) -> None:
    """WAL: `monitor run` writing in another process never makes the dashboard wait,
    and the dashboard holds no transaction open that would make the writer wait."""
    import sqlite3
    import time

    with client(data) as web:
        writer = sqlite3.connect(data / "monitor.db", isolation_level=None, timeout=1)
        writer.execute("BEGIN IMMEDIATE")  # the write lock, as during a check's recording
        writer.execute("INSERT INTO meta (key, value) VALUES ('probe', 'x')")
        started = time.monotonic()
        for path in ("/", "/changes/1", f"/watches/{ZH}", "/search?q=维族", "/api/changes"):
            assert web.get(path).status_code == 200, path
        assert time.monotonic() - started < 5
        writer.execute("COMMIT")
        # ...and between requests the writer gets the lock at once (timeout 1 s).
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM meta WHERE key = 'probe'")
        writer.execute("COMMIT")
        writer.close()


def test_api_captures_have_the_history_fields(web: TestClient, data: Path) -> None:
    history = run_cli("--data-dir", str(data), "history", ZH, "--format", "json").json()
    api = web.get(f"/api/watches/{ZH}/captures").json()
    assert len(api) == len(history)  # type: ignore[arg-type]
    newest = history[-1]  # type: ignore[index]
    assert {k: api[0][k] for k in newest} == newest


def test_the_demo_points_to_the_dashboard(tmp_path: Path) -> None:
    from monitor.demo import run_demo

    lines: list[str] = []
    run_demo(str(tmp_path / "demo"), echo=lines.append)
    said = "\n".join(lines)
    assert f"monitor --data-dir {tmp_path / 'demo'} serve" in said
    assert "search 维族" in said


def test_a_blank_api_search_finds_nothing(web: TestClient) -> None:
    for blank in (" ", "\x0c", "\u3000", "\x1c"):
        response = web.get("/api/search", params={"q": blank})
        assert response.status_code == 200 and response.json() == []


def test_the_evidence_bundle_downloads_and_verifies(web: TestClient, data: Path) -> None:
    from monitor.evidence.bundle_verify import verify_bundle
    from monitor.store import Store

    with Store(data) as store:
        checkpoints = len(store.checkpoints())
    assert 'href="/changes/1/bundle.zip"' in web.get("/changes/1").text
    response = web.get("/changes/1/bundle.zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    bundle = data.parent / "change-1.zip"
    bundle.write_bytes(response.content)
    assert verify_bundle(bundle, None) == []
    with Store(data) as store:
        assert len(store.checkpoints()) == checkpoints  # the dashboard signed nothing
