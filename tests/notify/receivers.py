"""Local stand-ins for the services alerts go to, on 127.0.0.1 only.

- :class:`SmtpServer`: a real SMTP server (aiosmtpd) that requires AUTH LOGIN/PLAIN
  (without TLS, on loopback) and keeps every message it accepts, parsed;
- :class:`Webhook`: an HTTP server that answers what apprise's ``json://`` and
  ``form://`` post, records each request, and can answer errors or hang on purpose.
"""

from __future__ import annotations

import email
import json
import socket
import threading
import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

SMTP_USER = "alice"
SMTP_PASSWORD = "pw-Zq7!secret-smtp"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.content)
        parsed = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == SMTP_USER.encode()
        and data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok)


class SmtpServer:
    """``with SmtpServer() as smtp:`` then ``smtp.url(to=...)`` for apprise."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = _Inbox()
        self._controller = Controller(
            self.inbox,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=_authenticate,
            auth_require_tls=False,
        )

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.messages

    def url(self, to: str = "researcher@example.org") -> str:
        return (
            f"mailto://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{self.port}"
            f"?mode=insecure&from=monitor@example.org&to={to}"
        )


def text_parts(message: EmailMessage) -> dict[str, str]:
    """content type -> decoded text of each text part."""
    return {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if part.get_content_maintype() == "text"
    }


class Webhook:
    """An HTTP receiver. ``behaviour``: ``ok`` (200), ``fail`` (500) or ``hang``."""

    def __init__(self, port: int | None = None, behaviour: str = "ok") -> None:
        self.port = port or free_port()
        self.behaviour = behaviour
        self.requests: list[dict[str, Any]] = []
        self.connections = 0
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.connections += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if hook.behaviour == "hang":
                    hook._release.wait(60)
                    return
                if hook.behaviour == "ok":
                    posted = _decode(self.headers.get("Content-Type", ""), body)
                    hook.requests.append({**posted, "path": self.path})
                self.send_response(200 if hook.behaviour == "ok" else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        return Handler

    def start(self) -> Webhook:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Webhook:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def url(self, scheme: str = "json") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/hook"


def _decode(content_type: str, body: bytes) -> dict[str, Any]:
    text = body.decode("utf-8")
    if "json" in content_type:
        return dict(json.loads(text))
    return {k: v[0] for k, v in parse_qs(text).items()}


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)
