"""JavaScript-rendered pages: Playwright driving Debian's Chromium against pages on 127.0.0.1.

The pages in tests/documents/rendered have no wording in their HTML: a script fetches
the documentation as JSON after load and renders it, as single-page documentation sites
do. Tests that start the browser are marked slow (they run in CI, where .ci/run installs
Debian's chromium).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import FAST_SETTINGS, write_watchlist

from monitor.config.watchlist import BrowserOptions
from monitor.documents.html import extract_html
from monitor.fetch.browser import BrowserFetcher, chromium_path, needs_browser
from monitor.fetch.http import FetchPolicy, HttpFetcher
from monitor.model import Capture, ErrorClass

from .server import Documents, serving

RENDERED = Path(__file__).parent / "rendered"
WORDING = {
    "zh": ("是否是维族", "uygur | Boolean | 是否是维族。"),
    "en": (
        "whether the person is Uyghur",
        "ethnicity | String | Ethnicity, such as Uyghur or Han.",
    ),
}


def _have_chromium() -> bool:
    return os.access(chromium_path(), os.X_OK)


browser_needed = pytest.mark.skipif(
    not _have_chromium() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (.ci/run installs it; CI never skips)",
)


@pytest.fixture
def docs() -> Iterator[Documents]:
    with serving() as documents:
        for name in ("vendor", "runtime", "app"):
            documents.set(f"/static/{name}.js", "application/javascript", "void 0;")
        yield documents


def serve_page(docs: Documents, lang: str, after: bool = False) -> str:
    docs.set(
        "/data/face.json",
        "application/json",
        (RENDERED / f"{lang}-data{'-after' if after else ''}.json").read_bytes(),
    )
    return docs.set(
        f"/{lang}/face", "text/html; charset=utf-8", (RENDERED / f"{lang}.html").read_bytes()
    )


def render(url: str, options: BrowserOptions, **policy: object) -> tuple[Capture, BrowserFetcher]:
    async def main() -> tuple[Capture, BrowserFetcher]:
        settings = FetchPolicy(host_delay=0, **policy)  # type: ignore[arg-type]
        async with HttpFetcher(settings) as http, BrowserFetcher(http) as browser:
            return await browser.render(url, (("Accept-Language", "zh-CN"),), options), browser

    return asyncio.run(main())


SHELL = (
    b'<html><body><div id="app"></div>' + b'<script src="/x.js"></script>' * 4 + b"</body></html>"
)
NEEDS_BROWSER = [
    ("empty app shell with scripts", 200, "text/html", SHELL, True),
    (
        "server-rendered page",
        200,
        "text/html",
        b"<p>" + "是否是维族。".encode() * 60 + b"</p>" + b"<script></script>" * 5,
        False,
    ),
    (
        "shell with few scripts",
        200,
        "text/html",
        b'<div id="app"></div><script src="a.js"></script>',
        False,
    ),
    (
        "not HTML",
        200,
        "application/json",
        b'{"a": "<script></script><script></script><script></script>"}',
        False,
    ),
    ("error answer", 503, "text/html", SHELL, False),
    (
        "noscript text does not count",
        200,
        "text/html",
        SHELL.replace(
            b"</body>", b"<noscript>" + b"Enable JavaScript. " * 30 + b"</noscript></body>"
        ),
        True,
    ),
]


@pytest.mark.parametrize(
    ("name", "status", "kind", "body", "expected"), NEEDS_BROWSER, ids=[c[0] for c in NEEDS_BROWSER]
)
def test_auto_uses_the_browser_only_for_script_shells(
    name: str, status: int, kind: str, body: bytes, expected: bool
) -> None:
    capture = Capture(
        "https://x/", datetime.now(UTC), status, headers=(("Content-Type", kind),), body=body
    )
    assert needs_browser(capture) is expected


def test_missing_chromium_is_a_clear_failure_not_a_crash(monkeypatch, docs) -> None:
    monkeypatch.setenv("MONITOR_CHROMIUM", "/nonexistent/chromium")
    capture, _ = render(serve_page(docs, "zh"), BrowserOptions())
    assert capture.error_class == ErrorClass.INVALID and capture.fetched_with == "browser"
    assert "apt-get install chromium" in (capture.error or "")


@pytest.mark.slow
@browser_needed
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rendered_dom_is_the_body_and_the_raw_response_is_kept(docs, lang: str) -> None:
    url = serve_page(docs, lang)
    capture, browser = render(url, BrowserOptions(wait_for="#app table", timeout=20))
    assert capture.error is None, capture.error
    assert capture.fetched_with == "browser" and capture.status == 200
    assert capture.header("content-type") == "text/html; charset=utf-8"
    assert capture.header("x-served-by") == "documents-test"
    sentence, row = WORDING[lang]
    document = extract_html(capture.body.decode("utf-8"))
    assert sentence in document.text and row in document.text
    assert any(b.key for b in document.blocks if b.kind == "row")  # keyed parameter table
    source = capture.source
    assert source is not None and source.body == (RENDERED / f"{lang}.html").read_bytes()
    assert sentence.encode() not in source.body  # the raw HTML has no wording
    assert ("Content-Type", "text/html; charset=utf-8") in source.headers
    assert docs.agents[0].startswith("monitor/")  # the same honest User-Agent as HTTP
    assert browser.renders == 1 and browser.peak_memory_mb >= 0


@pytest.mark.slow
@browser_needed
def test_screenshot_and_wait_timeout(docs) -> None:
    url = serve_page(docs, "en")
    capture, _ = render(url, BrowserOptions(wait_for="#app table", screenshot=True, timeout=20))
    assert capture.screenshot is not None and capture.screenshot.startswith(b"\x89PNG")
    late, _ = render(url, BrowserOptions(wait_for="#never-there", timeout=2))
    assert late.error_class == ErrorClass.TRANSIENT
    assert "#never-there" in (late.error or "") and "2s" in (late.error or "")


@pytest.mark.slow
@browser_needed
def test_memory_ceiling_stops_the_render_and_restarts_the_browser(docs) -> None:
    url = serve_page(docs, "zh")
    capture, browser = render(
        url, BrowserOptions(wait_for="#app table", delay=3), browser_memory_mb=1
    )
    assert capture.error_class == ErrorClass.TOO_LARGE
    assert "memory ceiling of 1 MB" in (capture.error or "")
    assert browser.restarts == 1


@pytest.mark.slow
@browser_needed
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_check_end_to_end_with_fetch_browser_and_auto(tmp_path, docs, cli, lang: str) -> None:
    url = serve_page(docs, lang)
    served = docs.set(
        "/plain",
        "text/html; charset=utf-8",
        "<main><h1>Plain</h1><p>" + "Server-rendered text. " * 20 + "</p></main>",
    )
    path = write_watchlist(
        tmp_path / "watch.yaml",
        f"""defaults:
  terms: [维族, Uyghur]
watches:
  - name: spa
    url: {url}
    fetch: browser
    browser: {{wait_for: "#app table", timeout: 20s}}
  - name: spa-auto
    url: {url}
    fetch: auto
    browser: {{wait_for: "#app table", timeout: 20s}}
  - name: plain-auto
    url: {served}
    fetch: auto
{FAST_SETTINGS}""",
    )
    first = cli("check", "--watchlist", str(path))
    assert "checked 3, changed 0, flagged 0, failed 0" in first.out, first.out + first.err
    serve_page(docs, lang, after=True)
    second = cli("check", "--watchlist", str(path))
    assert "checked 3, changed 2, flagged 2, failed 0" in second.out, second.out
    events = cli("changes", "--format", "json").json()
    spa = next(e for e in events if e["watch"] == "spa")  # type: ignore[union-attr]
    sentence, row = WORDING[lang]
    assert row in spa["removed"] and any(sentence in r for r in spa["removed"])
    table = "返回参数" if lang == "zh" else "Response parameters"
    name = row.split(" | ")[0]
    assert f"parameter `{name}` removed from table {table}" in [e["summary"] for e in spa["edits"]]
    database = sqlite3.connect(cli.data_dir / "monitor.db")
    rows = database.execute(
        "SELECT c.watch, c.fetched_with, c.outcome, s.outcome, s.body_sha256 IS NOT NULL "
        "FROM captures c LEFT JOIN captures s ON s.id = c.source_capture "
        "WHERE c.outcome != 'raw_response' ORDER BY c.id"
    ).fetchall()
    assert {(w, f) for w, f, *_ in rows} == {
        ("spa", "browser"),
        ("spa-auto", "browser"),
        ("plain-auto", "http"),
    }
    assert all(raw == ["raw_response", 1] for w, f, _, *raw in rows if f == "browser")
    assert cli("verify").code == 0
    history = cli("history", "spa").out
    assert "raw_response" in history
    json.dumps(events)  # the contract stays JSON
