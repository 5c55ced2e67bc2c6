"""End to end in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright;
never a browser download): a researcher's path through the dashboard on the demo's data.

Screenshots are kept as test artifacts in ``test-artifacts/`` (or ``$MONITOR_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from webdata import make_demo

from monitor.web import create_app

CHROMIUM = "/usr/bin/chromium"
# Without the network-silencing flags Chromium keeps trying hosts this machine cannot reach.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(
    os.environ.get("MONITOR_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard over the demo's data, served by uvicorn on a free loopback port."""
    data = make_demo(tmp_path_factory.mktemp("browser") / "data")
    server = uvicorn.Server(
        uvicorn.Config(create_app(str(data)), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def test_a_researcher_triages_the_removal_and_finds_when_it_vanished(
    dashboard: str, browser: object, tmp_path: Path
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(dashboard + "/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    # The change list, filtered to flagged changes with the form (no script involved).
    page.get_by_role("link", name="Changes", exact=True).click()
    page.get_by_label("flagged only").check()
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/changes\?.*flagged=1"))
    row = page.locator("table.changes tbody tr", has=page.locator("del", has_text="是否是维族"))
    expect(row).to_have_count(1)
    row.get_by_role("link", name="#1").click()

    # The change page: the removed wording is struck through.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Change #1")
    struck = page.locator(".fragment.removed del", has_text="是否是维族").first
    expect(struck).to_be_visible()
    decoration = struck.evaluate("e => getComputedStyle(e).textDecorationLine")
    assert "line-through" in decoration
    (ARTIFACTS).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-change.png"), full_page=False)

    # Mark it important, with a note.
    note = "是否是维族 removed after press inquiries; archived copy checked"
    page.get_by_label("important").check()
    page.get_by_label("Note").fill(note)
    page.get_by_role("button", name="Save mark").click()
    marks = page.locator("ol.marks li")
    expect(marks).to_have_count(1)
    expect(marks.first).to_contain_text("important")
    expect(marks.first).to_contain_text(note)

    # Search: when did 维族 vanish?
    page.get_by_role("link", name="Search", exact=True).click()
    page.get_by_label("Wording").fill("维族")
    page.get_by_role("button", name="Search").click()
    hit = page.locator("article.hit")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text("no longer present")
    vanished = hit.locator("li.vanished")
    expect(vanished).to_contain_text("vanished")
    expect(vanished.get_by_role("link", name="change #1 (changed)")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard-search.png"), full_page=True)

    assert not problems, f"console errors (a CSP violation shows here): {problems}"
    context.close()
    shutil.copy(ARTIFACTS / "dashboard-search.png", tmp_path / "kept.png")
