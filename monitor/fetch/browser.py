"""Rendering JavaScript pages: Playwright driving the system's Chromium, one per run.

Some documentation sites ship an empty ``<div id="app">`` and fill it with scripts. For
a watch with ``fetch: browser`` (or ``fetch: auto`` when the HTTP body looks like such a
shell, see :func:`needs_browser`) the page is rendered in headless Chromium and the
rendered DOM becomes the capture's body; the main document's raw response (bytes and
headers as the server sent them) is kept as a capture of its own, linked to it, and a
full-page screenshot when the watch asks for one.

Browsers are expensive, so a run has at most one, started on first use (a run without
browser watches never starts it), with a small pool of pages (``browser_pages``), a
fresh context per check (no cookies or storage carried between checks), every page closed
after its check, images, media and fonts not downloaded (unless a screenshot is wanted),
a V8 heap cap per page and a hard memory ceiling on all of the browser's processes
(``browser_memory_mb``): past it the render fails as ``too_large`` and the browser is
restarted. The same per-host connection slots and request spacing as HTTP apply (the
HTTP fetcher's), and the same honest User-Agent.

Chromium is Debian's (``/usr/bin/chromium``, or ``MONITOR_CHROMIUM``): Playwright is
told its path and never downloads a browser of its own. Playwright gives each launch a
fresh temporary profile directory.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..config.secrets import SecretError
from ..config.watchlist import BrowserOptions, Watch
from ..model import Capture, ErrorClass
from .browser_memory import browser_memory_mb
from .http import FetchPolicy, HttpFetcher, user_agent
from .socks import GuardProxy

log = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
# Known to work on this project's machines as root: no sandbox (root), no GPU, and no
# background networking (the closed network refuses it, many connections at a time).
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",  # all through the guard
)
_BLOCKED_TYPES = frozenset(("image", "media", "font"))
_MEMORY_POLL_SECONDS = 0.5
_READ_GRACE_SECONDS = 10.0  # after the timeout: the DOM, its size check, a screenshot
_RENDERED_TYPE = "text/html; charset=utf-8"
# What the rendered DOM's own headers cannot keep from the main response's.
_BODY_HEADERS = frozenset(("content-type", "content-length", "content-encoding", "etag"))


def chromium_path() -> str:
    return os.environ.get("MONITOR_CHROMIUM", CHROMIUM)


# ---------------------------------------------------------------------------
# fetch: auto

_SCRIPT = re.compile(rb"<script\b", re.IGNORECASE)
_INVISIBLE = re.compile(
    rb"<(script|style|noscript|template|svg|head)\b.*?</\1\s*>|<!--.*?-->", re.I | re.S
)
_TAG = re.compile(rb"<[^>]+>")
_AUTO_MAX_TEXT = 200  # visible characters (about): "almost no text"
_AUTO_MIN_SCRIPTS = 3  # "many scripts"


def needs_browser(capture: Capture) -> bool:
    """Does an HTTP answer look like a shell that scripts fill (``fetch: auto``)?

    Almost no visible text but several scripts. A cheap look at the bytes: no parse.

    >>> from datetime import datetime, UTC
    >>> shell = b'<html><body><div id="app"></div>' + b'<script src="x.js"></script>' * 4
    >>> needs_browser(Capture("u", datetime.now(UTC), 200, body=shell))
    True
    >>> page = b"<html><body><p>" + "是否是维族。".encode() * 80 + b"</p><script></script>"
    >>> needs_browser(Capture("u", datetime.now(UTC), 200, body=page))
    False
    """
    if capture.status != 200 or not capture.body:
        return False
    media = (capture.header("content-type") or "text/html").lower()
    if "html" not in media:
        return False
    if len(_SCRIPT.findall(capture.body)) < _AUTO_MIN_SCRIPTS:
        return False
    visible = _TAG.sub(b" ", _INVISIBLE.sub(b" ", capture.body))
    text = visible.decode("utf-8", errors="ignore")
    return len("".join(text.split())) <= _AUTO_MAX_TEXT


async def fetch_watch(
    http: Any,
    browser: BrowserFetcher | None,
    watch: Watch,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Capture:
    """Fetch a watch the way its ``fetch`` key asks; the capture records which path."""
    try:
        headers = watch.request_headers()  # secrets from the environment, now
    except SecretError as error:  # recorded like any failed fetch; names the variable only
        failed = Capture(watch.url, datetime.now(UTC), error_class=ErrorClass.INVALID)
        return replace(failed, error=str(error))
    if watch.fetch == "browser":
        if browser is None:  # never an HTTP shell recorded as if it were the page
            failed = Capture(watch.url, datetime.now(UTC), error_class=ErrorClass.INVALID)
            return replace(failed, error="fetch: browser, but this run has no browser")
        return await browser.render(watch.url, headers, watch.browser)
    if watch.fetch == "auto" and browser is not None:
        # No validators: a 304 would say nothing about whether the page needs scripts.
        capture = await http.fetch(watch.url, headers)
        if needs_browser(capture):
            return await browser.render(watch.url, headers, watch.browser)
        return capture
    return await http.fetch(watch.url, headers, etag=etag, last_modified=last_modified)


# ---------------------------------------------------------------------------
# The browser


class BrowserFetcher:
    """One headless Chromium for a run, shared by every browser watch.

    Use as ``async with BrowserFetcher(http, policy) as browser``; ``render`` never
    raises for a page's failure (it returns a Capture with ``error_class`` set).
    """

    def __init__(self, http: HttpFetcher, policy: FetchPolicy | None = None) -> None:
        self.http = http
        self.policy = policy or http.policy
        self._pages = asyncio.Semaphore(self.policy.browser_pages)
        self._start_lock = asyncio.Lock()
        self._playwright: Any = None
        self._browser: Any = None
        self.renders = 0
        self.restarts = 0
        self.peak_memory_mb = 0.0

    async def __aenter__(self) -> BrowserFetcher:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        async with self._start_lock:
            await self._stop()

    async def _stop(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        if browser is not None:
            try:
                await browser.close()
            except Exception as error:  # already gone (killed at the ceiling, crashed)
                log.debug("closing the browser: %s", error)
        if playwright is not None:
            await playwright.stop()

    async def _started(self) -> Any:
        async with self._start_lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            await self._stop()
            from playwright.async_api import async_playwright

            executable = chromium_path()
            if not os.access(executable, os.X_OK):
                raise FileNotFoundError(
                    f"no Chromium at {executable}: install Debian's chromium package "
                    "(apt-get install chromium) or set MONITOR_CHROMIUM to its path"
                )
            heap = max(128, self.policy.browser_memory_mb // (2 * self.policy.browser_pages))
            self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(
                executable_path=executable,
                headless=True,
                args=[*LAUNCH_ARGS, f"--js-flags=--max-old-space-size={heap}"],
            )
            return self._browser

    async def render(
        self,
        url: str,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        options: BrowserOptions | None = None,
    ) -> Capture:
        """Render a page: the rendered DOM as the body, the raw response as its source."""
        options = options or BrowserOptions()
        fetched_at = datetime.now(UTC)
        started = time.monotonic()
        try:
            browser = await self._started()
        except Exception as error:  # no Chromium, or it would not start
            return _failed(url, fetched_at, ErrorClass.INVALID, f"browser unavailable: {error}")
        async with self._pages, self.http.host_turn(url):
            capture = await self._guarded(browser, url, dict(headers), options, fetched_at)
        self.renders += 1
        return replace(capture, elapsed=time.monotonic() - started)

    async def _guarded(
        self,
        browser: Any,
        url: str,
        headers: dict[str, str],
        options: BrowserOptions,
        fetched_at: datetime,
    ) -> Capture:
        """One render under the memory ceiling and the timeout (for all of it: the
        load, ``wait_for`` and ``delay``, plus a little to read the page)."""
        render = asyncio.ensure_future(self._render(browser, url, headers, options, fetched_at))
        watchdog = asyncio.ensure_future(self._watch_memory())
        deadline = options.timeout + options.delay + _READ_GRACE_SECONDS
        done, _ = await asyncio.wait(
            {render, watchdog}, timeout=deadline, return_when=asyncio.FIRST_COMPLETED
        )
        watchdog.cancel()
        if render in done:
            return render.result()
        render.cancel()
        if not done:  # neither finished: the page is still busy at the deadline
            await asyncio.gather(render, return_exceptions=True)  # its context closes
            message = f"browser: the page did not finish rendering within {deadline:g}s"
            return _failed(url, fetched_at, ErrorClass.TRANSIENT, message)
        ceiling = self.policy.browser_memory_mb
        log.warning("browser over its %d MB ceiling rendering %s: restarting it", ceiling, url)
        self.restarts += 1
        async with self._start_lock:
            await self._stop()
        return _failed(
            url,
            fetched_at,
            ErrorClass.TOO_LARGE,
            f"rendering took the browser over its memory ceiling of {ceiling} MB "
            "(settings.browser_memory_mb); the page was not captured",
        )

    async def _watch_memory(self) -> None:
        while True:
            await asyncio.sleep(_MEMORY_POLL_SECONDS)
            used = await asyncio.to_thread(browser_memory_mb)
            self.peak_memory_mb = max(self.peak_memory_mb, used)
            if used > self.policy.browser_memory_mb:
                return

    async def _render(
        self,
        browser: Any,
        url: str,
        headers: dict[str, str],
        options: BrowserOptions,
        fetched_at: datetime,
    ) -> Capture:
        from playwright.async_api import Error as PlaywrightError

        guard = await GuardProxy.start(self.policy.addresses, url, self.policy.connect_timeout)
        try:
            context = await browser.new_context(
                user_agent=user_agent(self.policy.contact),
                extra_http_headers=headers,
                service_workers="block",
                accept_downloads=False,
                proxy=guard.playwright_proxy,
            )
        except BaseException:
            await guard.close()
            raise
        try:
            if not options.screenshot:
                await context.route("**/*", _skip_heavy)
            page = await context.new_page()
            timeout_ms = options.timeout * 1000
            response = await page.goto(url, wait_until=options.wait_until, timeout=timeout_ms)
            if response is None:
                return _failed(url, fetched_at, ErrorClass.INVALID, "no response to navigate to")
            if options.wait_for:
                await page.wait_for_selector(options.wait_for, timeout=timeout_ms)
            if options.delay:
                await page.wait_for_timeout(options.delay * 1000)
            if guard.refusals and page.url.startswith("chrome-error:"):  # sent away by a script
                return _failed(url, fetched_at, ErrorClass.REFUSED, guard.refusals[-1])
            return await _captured(page, response, url, fetched_at, options, self.policy)
        except PlaywrightError as error:
            if guard.refusals:  # the page (or a redirect of it) led where we may not go
                return _failed(url, fetched_at, ErrorClass.REFUSED, guard.refusals[-1])
            message = str(error).splitlines()[0]
            if "Timeout" in type(error).__name__ or "Timeout" in message:
                wanted = f" and {options.wait_for!r}" if options.wait_for else ""
                message = f"the page did not reach {options.wait_until}{wanted} within " + (
                    f"{options.timeout:g}s ({message})"
                )
            return _failed(url, fetched_at, ErrorClass.TRANSIENT, f"browser: {message}")
        finally:
            await context.close()  # the page with it: nothing survives a check
            await guard.close()


async def _skip_heavy(route: Any) -> None:
    if route.request.resource_type in _BLOCKED_TYPES:
        await route.abort()
    else:
        await route.continue_()


async def _captured(
    page: Any,
    response: Any,
    url: str,
    fetched_at: datetime,
    options: BrowserOptions,
    policy: FetchPolicy,
) -> Capture:
    """The rendered capture, with the raw main-document response as its source."""
    raw_headers = tuple((h["name"], h["value"]) for h in await response.headers_array())
    try:
        raw_body = await response.body()
    except Exception:  # a redirect or a body the browser did not keep
        raw_body = b""
    redirects = []
    request = response.request.redirected_from
    while request is not None:
        answer = await request.response()
        redirects.append((answer.status if answer else 0, request.url))
        request = request.redirected_from
    source = Capture(
        url=url,
        fetched_at=fetched_at,
        status=response.status,
        final_url=response.url,
        headers=raw_headers,
        body=raw_body,
        redirects=tuple(reversed(redirects)),
    )
    media = (source.header("content-type") or "text/html").lower()
    if "html" not in media and "xml" not in media:
        # A PDF or JSON answer has no DOM to render: the raw response is the capture.
        return replace(source, fetched_with="browser")
    html = (await page.content()).encode("utf-8")
    if len(html) > policy.max_bytes:
        message = f"rendered page larger than {policy.max_bytes} bytes; not stored"
        return _failed(url, fetched_at, ErrorClass.TOO_LARGE, message)
    screenshot = await page.screenshot(full_page=True, type="png") if options.screenshot else None
    # The rendered DOM's headers: the server's, but for the body it describes (UTF-8 HTML).
    headers = [(k, v) for k, v in raw_headers if k.lower() not in _BODY_HEADERS]
    return Capture(
        url=url,
        fetched_at=fetched_at,
        status=response.status,
        final_url=page.url,
        headers=(("content-type", _RENDERED_TYPE), *headers),
        body=html,
        redirects=source.redirects,
        fetched_with="browser",
        source=source,
        screenshot=screenshot,
    )


def _failed(url: str, fetched_at: datetime, error_class: ErrorClass, message: str) -> Capture:
    failed = Capture(url, fetched_at, error_class=error_class, error=message)
    return replace(failed, fetched_with="browser")
