"""Save Page Now 2, as the local stand-in archive answers it (see wayback.py).

``POST /save`` needs ``Authorization: LOW access:secret`` (401 without) and answers HTML
unless ``Accept: application/json``; then ``{"url", "job_id"}``, or HTTP 200 with
``{"status": "error", "status_ext", "message"}``. ``GET /save/status/<job_id>`` is
``pending`` a set number of times, then ``success`` (``timestamp``, ``original_url``,
``http_status``) or ``error``; the capture is made of the live page then.
``GET /save/status/user`` gives ``available``, ``processing``, ``daily_captures``,
``daily_captures_limit``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qs


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Job:
    job_id: str
    url: str
    polls_left: int
    error: str | None = None
    done: dict[str, Any] | None = None


class _Memento(Protocol):
    fresh: int


class SavePageNow:
    """The Save Page Now half of :class:`~monitor.demo.wayback.WaybackStub` (a mixin)."""

    access: str
    secret: str
    pending_polls: int
    concurrency: int
    daily_limit: int
    url_daily_limit: int
    fresh_redirects: int
    fetch_live: Callable[[str], tuple[int, str, bytes]]
    jobs: dict[str, Job]
    submit_errors: list[str]
    job_errors: list[str]
    daily_captures: int
    captures_per_url: dict[str, int]
    _lock: threading.RLock

    def _memento(self, url: str, timestamp: str) -> object | None: ...

    def add(
        self,
        url: str,
        timestamp: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
    ) -> Any: ...

    def _authorised(self, seen: Seen) -> bool:
        return seen.headers.get("authorization") == f"LOW {self.access}:{self.secret}"

    def _save(self, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        if seen.method != "POST":
            return send(handler, 405, b"use POST", "text/plain")
        if not self._authorised(seen):
            return send_json(
                handler, {"message": "You need to be logged in to use Save Page Now."}, 401
            )
        if "application/json" not in seen.headers.get("accept", ""):
            return send(handler, 200, b"<html><body>Saving page now...</body></html>", "text/html")
        url = parse_qs(seen.body.decode()).get("url", [""])[0]
        with self._lock:
            if self.submit_errors:
                code = self.submit_errors.pop(0)
                return send_json(
                    handler,
                    {"status": "error", "status_ext": code, "message": f"stub refused: {code}"},
                )
            processing = sum(1 for j in self.jobs.values() if j.done is None)
            if processing >= self.concurrency:
                return send_json(
                    handler,
                    {
                        "status": "error",
                        "status_ext": "error:user-session-limit",
                        "message": "You have already reached the limit of active sessions.",
                    },
                )
            if self.captures_per_url.get(url, 0) >= self.url_daily_limit:
                return send_json(
                    handler,
                    {
                        "status": "error",
                        "status_ext": "error:too-many-daily-captures",
                        "message": f"This URL has been already captured "
                        f"{self.url_daily_limit} times today.",
                    },
                )
            self.daily_captures += 1
            self.captures_per_url[url] = self.captures_per_url.get(url, 0) + 1
            job_id = "spn2-" + hashlib.sha1(f"{url}{len(self.jobs)}".encode()).hexdigest()
            error = self.job_errors.pop(0) if self.job_errors else None
            self.jobs[job_id] = Job(job_id, url, self.pending_polls, error)
        send_json(handler, {"url": url, "job_id": job_id})

    def _status(self, handler: BaseHTTPRequestHandler, seen: Seen, path: str) -> None:
        if not self._authorised(seen):
            return send_json(handler, {"message": "You need to be logged in."}, 401)
        name = path.removeprefix("/save/status/")
        with self._lock:
            if name == "user":
                processing = sum(1 for j in self.jobs.values() if j.done is None)
                return send_json(
                    handler,
                    {
                        "available": max(0, self.concurrency - processing),
                        "processing": processing,
                        "daily_captures": self.daily_captures,
                        "daily_captures_limit": self.daily_limit,
                    },
                )
            job = self.jobs.get(name)
            if job is None:
                return send_json(
                    handler,
                    {
                        "status": "error",
                        "status_ext": "error:not-found",
                        "message": "job not found",
                    },
                    404,
                )
            if job.done is None and job.polls_left > 0:
                job.polls_left -= 1
                return send_json(
                    handler, {"status": "pending", "job_id": job.job_id, "resources": []}
                )
            if job.done is None:
                job.done = self._finish(job)
            return send_json(handler, job.done)

    def _finish(self, job: Job) -> dict[str, Any]:
        if job.error:
            return {
                "status": "error",
                "status_ext": job.error,
                "job_id": job.job_id,
                "message": f"stub capture failed: {job.error}",
            }
        status, content_type, body = self.fetch_live(job.url)
        now = datetime.now(UTC)
        timestamp = now.strftime("%Y%m%d%H%M%S")
        while self._memento(job.url, timestamp) is not None:  # one capture per second
            timestamp = str(int(timestamp) + 1)
        memento = self.add(
            job.url, timestamp, body, status=status, content_type=content_type or "text/html"
        )
        memento.fresh = self.fresh_redirects
        return {
            "status": "success",
            "job_id": job.job_id,
            "original_url": job.url,
            "timestamp": timestamp,
            "duration_sec": 1.5,
            "http_status": status,
            "resources": [job.url],
            "outlinks": {},
        }


def send_json(handler: BaseHTTPRequestHandler, payload: Any, status: int = 200) -> None:
    send(handler, status, json.dumps(payload).encode(), "application/json")


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str,
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)
