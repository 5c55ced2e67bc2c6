"""A local stand-in for the Wayback Machine, implementing its documented answers.

The demo replays the 2020 case's archived history from it, and the tests
(``tests/archives/``) run every archive feature against it, so nothing touches the
internet. Binds 127.0.0.1 on an ephemeral port; point ``MONITOR_WAYBACK_URL`` at
``stub.base``. Stdlib only. It serves what the public documentation describes (see
docs/archives.md; Save Page Now in savepagenow.py):

=====================================  =========================================================
``GET /cdx/search/cdx``                ``url`` (exact), ``output=json`` (header row first),
                                       ``fl``, ``filter=[!]field:regex`` (repeatable),
                                       ``collapse=field`` (adjacent lines), ``from``/``to``
                                       (1-14 digits, padded), ``limit``, ``showResumeKey`` (an
                                       empty row, then ``[key]``), ``resumeKey``
``GET /web/<ts><mode>/<url>``          an exact capture: ``id_`` raw bytes with
                                       ``Memento-Datetime`` and ``Link: <url>; rel="original"``;
                                       no mode: the page with the archive's toolbar and
                                       rewritten links; an archived redirect: 302 to the
                                       target's replay address, with ``Memento-Datetime``;
                                       an archived error: its status, with ``Memento-Datetime``;
                                       no capture at that second: 302 to the nearest one,
                                       without ``Memento-Datetime``; none at all: 404
``POST /save``                         needs ``Authorization: LOW access:secret`` (401 without),
                                       answers HTML unless ``Accept: application/json``;
                                       ``{"url", "job_id"}``, or HTTP 200
                                       ``{"status": "error", "status_ext", "message"}``
``GET /save/status/<job_id>``          ``pending`` a set number of times, then ``success``
                                       (``timestamp``, ``original_url``, ``http_status``) or
                                       ``error``; the capture is made of the live page then
``GET /save/status/user``              ``available``, ``processing``, ``daily_captures``,
                                       ``daily_captures_limit``
=====================================  =========================================================

``throttle(kind, n)`` answers the next ``n`` requests of a kind (``cdx``, ``replay``,
``save``, ``status``) with 429 and ``Retry-After``; ``fail(kind, n)`` with the archive's
own 503. ``requests`` records every request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .savepagenow import Job, SavePageNow, Seen, send

ACCESS, SECRET = "stub-access", "stub-secret"
TOOLBAR = (
    b'<script src="/_static/js/wombat.js"></script>'
    b"<script>__wm.init('https://web.archive.org/web');</script>"
    b"<!-- BEGIN WAYBACK TOOLBAR INSERT -->"
    b'<div id="wm-ipp-base"><p>Wayback Machine toolbar: 47 captures 2019 - 2021. '
    b"ABOUT THIS CAPTURE. COLLECTED BY Organization: Internet Archive</p></div>"
    b"<!-- END WAYBACK TOOLBAR INSERT -->"
)
_REPLAY = re.compile(r"^/web/(\d{1,14})([a-z]{2}_)?/(.+)$")


def sha1_base32(body: bytes) -> str:
    return base64.b32encode(hashlib.sha1(body).digest()).decode()


@dataclass
class Memento:
    timestamp: str
    url: str
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None  # for an archived redirect
    revisit_of: str | None = None  # timestamp of the capture whose payload this repeats
    fresh: int = 0  # replays that still redirect elsewhere (index not updated yet)

    @property
    def digest(self) -> str:
        return sha1_base32(self.body)

    @property
    def mimetype(self) -> str:
        return "warc/revisit" if self.revisit_of else self.content_type.split(";")[0]


def _fetch_live(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get("content-type", ""), response.read()


@dataclass
class WaybackStub(SavePageNow):
    """Archive state plus knobs; ``with WaybackStub() as stub: stub.base``."""

    access: str = ACCESS
    secret: str = SECRET
    pending_polls: int = 1
    concurrency: int = 2
    daily_limit: int = 100
    url_daily_limit: int = 5
    fresh_redirects: int = 0  # a new capture's replay redirects to an older one this often
    retry_after: str | None = "1"
    fetch_live: Callable[[str], tuple[int, str, bytes]] = _fetch_live
    mementos: dict[str, list[Memento]] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    submit_errors: list[str] = field(default_factory=list)  # status_ext for next submits
    job_errors: list[str] = field(default_factory=list)  # status_ext for next jobs
    daily_captures: int = 0
    captures_per_url: dict[str, int] = field(default_factory=dict)
    _throttled: dict[str, int] = field(default_factory=dict)
    _failing: dict[str, int] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _server: ThreadingHTTPServer | None = None

    # -- set-up -------------------------------------------------------------------

    def add(
        self,
        url: str,
        timestamp: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        location: str | None = None,
        content_type: str = "text/html; charset=utf-8",
        revisit_of: str | None = None,
    ) -> Memento:
        data = body.encode() if isinstance(body, str) else body
        if revisit_of is not None:
            data = self._memento(url, revisit_of).body  # type: ignore[union-attr]
        memento = Memento(timestamp, url, status, data, content_type, location, revisit_of)
        with self._lock:
            captures = self.mementos.setdefault(url, [])
            captures.append(memento)
            captures.sort(key=lambda m: m.timestamp)
        return memento

    def throttle(self, kind: str, count: int = 1) -> None:
        with self._lock:
            self._throttled[kind] = self._throttled.get(kind, 0) + count

    def fail(self, kind: str, count: int = 1) -> None:
        """The archive's own failure (503, no Memento-Datetime) for the next requests."""
        with self._lock:
            self._failing[kind] = self._failing.get(kind, 0) + count

    def seen(self, prefix: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def _memento(self, url: str, timestamp: str) -> Memento | None:
        return next((m for m in self.mementos.get(url, []) if m.timestamp == timestamp), None)

    # -- server -------------------------------------------------------------------

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> WaybackStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                pass

            def do_GET(self) -> None:
                stub._handle(self, "GET")

            def do_POST(self) -> None:
                stub._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        seen = Seen(
            method,
            parts.path,
            parse_qsl(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in handler.headers.items()},
            body,
        )
        with self._lock:
            self.requests.append(seen)
        kind = (
            "cdx"
            if parts.path == "/cdx/search/cdx"
            else "replay"
            if parts.path.startswith("/web/")
            else "status"
            if parts.path.startswith("/save/status/")
            else "save"
            if parts.path in ("/save", "/save/")
            else None
        )
        if kind is None:
            return send(handler, 404, b"not found", "text/plain")
        with self._lock:
            if self._failing.get(kind, 0) > 0:
                self._failing[kind] -= 1
                return send(handler, 503, b"<html>Service Unavailable</html>", "text/html")
            if self._throttled.get(kind, 0) > 0:
                self._throttled[kind] -= 1
                headers = {"Retry-After": self.retry_after} if self.retry_after else {}
                return send(handler, 429, b"Too Many Requests", "text/plain", headers)
        try:
            if kind == "cdx":
                self._cdx(handler, seen)
            elif kind == "replay":
                # The raw path: a replayed URL keeps its own query string.
                self._replay(handler, handler.path)
            elif kind == "save":
                self._save(handler, seen)
            else:
                self._status(handler, seen, parts.path)
        except BrokenPipeError:
            pass

    # -- CDX ----------------------------------------------------------------------

    def _cdx(self, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        query: dict[str, list[str]] = {}
        for key, value in seen.query:
            query.setdefault(key, []).append(value)
        url = query.get("url", [""])[0]
        low = query.get("from", ["0"])[0].ljust(14, "0")
        high = query.get("to", ["9"])[0].ljust(14, "9")
        fields = (
            query.get("fl", [""])[0]
            or "urlkey,timestamp,original,mimetype,statuscode,digest,length"
        ).split(",")
        with self._lock:
            captures = [m for m in self.mementos.get(url, []) if low <= m.timestamp <= high]
        lines = [self._cdx_line(m) for m in captures]
        for spec in query.get("filter", []):
            negate = spec.startswith("!")
            name, _, pattern = spec.lstrip("!").partition(":")
            lines = [line for line in lines if bool(re.fullmatch(pattern, line[name])) != negate]
        for spec in query.get("collapse", []):
            name, _, width = spec.partition(":")
            kept: list[dict[str, str]] = []
            for line in lines:
                cut = int(width) if width else None
                if kept and kept[-1][name][:cut] == line[name][:cut]:
                    continue
                kept.append(line)
            lines = kept
        start = 0
        if query.get("resumeKey"):
            start = int(query["resumeKey"][0].split("!")[1])
        limit = int(query["limit"][0]) if query.get("limit") else None
        end = len(lines) if limit is None else min(len(lines), start + limit)
        page = lines[start:end]
        rows: list[list[str]] = [fields] + [[line[f] for f in fields] for line in page]
        if query.get("showResumeKey", ["false"])[0] == "true" and end < len(lines):
            rows += [[], [f"{page[-1]['timestamp']}!{end}"]]
        if query.get("output", [""])[0] == "json":
            payload = json.dumps(rows if page else []).encode()
            return send(handler, 200, payload, "application/json")
        text = "\n".join(" ".join(r) for r in rows[1:]).encode()
        send(handler, 200, text, "text/plain")

    @staticmethod
    def _cdx_line(m: Memento) -> dict[str, str]:
        host = urlsplit(m.url).hostname or ""
        return {
            "urlkey": ",".join(reversed(host.split("."))) + ")" + urlsplit(m.url).path,
            "timestamp": m.timestamp,
            "original": m.url,
            "mimetype": m.mimetype,
            "statuscode": "-" if m.revisit_of else str(m.status),
            "digest": m.digest,
            "length": str(len(m.body)),
        }

    # -- replay -------------------------------------------------------------------

    def _replay(self, handler: BaseHTTPRequestHandler, raw_path: str) -> None:
        found = _REPLAY.match(raw_path)
        if found is None:
            return send(handler, 400, b"bad replay address", "text/plain")
        timestamp, mode, url = found[1], found[2] or "", found[3]
        with self._lock:
            captures = self.mementos.get(url, [])
            memento = self._memento(url, timestamp)
            if memento is not None and memento.fresh > 0:
                memento.fresh -= 1
                older = [m for m in captures if m.timestamp < timestamp]
                memento_target = older[-1] if older else None
                if memento_target is not None:
                    return self._redirect_elsewhere(handler, memento_target, mode)
            if memento is None:
                if not captures:
                    return send(
                        handler,
                        404,
                        b"<html><body>Hrm. The Wayback Machine has not archived that URL."
                        b"</body></html>",
                        "text/html",
                        {"X-Archive-Wayback-Runtime-Error": "ResourceNotInArchiveException"},
                    )
                nearest = min(captures, key=lambda m: abs(int(m.timestamp) - int(timestamp)))
                return self._redirect_elsewhere(handler, nearest, mode)
        source = memento
        if memento.revisit_of:
            source = self._memento(url, memento.revisit_of) or memento
        stamp = datetime.strptime(memento.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        headers = {
            "Memento-Datetime": format_datetime(stamp, usegmt=True),
            "Link": f'<{url}>; rel="original"',
            "X-Archive-Orig-Content-Type": source.content_type,
        }
        if 300 <= source.status < 400 and source.location:
            headers["Location"] = f"{self.base}/web/{memento.timestamp}{mode}/{source.location}"
            return send(handler, source.status, b"", "text/html", headers)
        body = source.body
        if mode != "id_":
            body = self._rewrite(body, memento.timestamp)
        send(handler, source.status, body, source.content_type, headers)

    def _redirect_elsewhere(self, handler: BaseHTTPRequestHandler, m: Memento, mode: str) -> None:
        location = f"{self.base}/web/{m.timestamp}{mode}/{m.url}"
        send(handler, 302, b"", "text/plain", {"Location": location})

    def _rewrite(self, body: bytes, timestamp: str) -> bytes:
        body = re.sub(
            rb'(href|src)="(https?://)', rb'\1="/web/' + timestamp.encode() + rb"/\2", body
        )
        return re.sub(rb"(<body[^>]*>)", rb"\1" + TOOLBAR, body, count=1)

    # -- Save Page Now 2 ------------------------------------------------------------
