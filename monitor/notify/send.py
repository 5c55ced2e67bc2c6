"""Handing one message to one destination through apprise, and saying what happened.

apprise (the library behind changedetection.io's alerts) knows 100+ services by URL:
e-mail over SMTP, Slack, Matrix, Telegram, Discord, Mattermost, ntfy, plain JSON/form
webhooks… One destination is sent to at a time, so that each has its own result, its
own retries and its own line in the ledger.

apprise reports a failure as ``False`` and says why in its log. That log is captured
here (never passed on as is: a service may echo a URL), scrubbed of every secret of
the destination, and kept as the delivery's error.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from .event import Message
from .targets import Secrets, Target

MAX_ERROR_CHARS = 500
_send_lock = threading.Lock()  # the apprise log capture below is process-wide


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None = None


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # a malformed record must not break a send
            self.lines.append(record.msg if isinstance(record.msg, str) else "log record")


def send(target: Target, message: Message) -> SendResult:
    """Send one message to one destination; never raises, never leaks the URL."""
    import apprise

    secrets = Secrets([target.url])
    logger = logging.getLogger("apprise")
    # urllib3 logs request lines at debug level, and a token in a URL path with them
    # (Slack, Discord, Telegram): it is silenced while a message goes out.
    transport = logging.getLogger("urllib3")
    capture = _Capture()
    with _send_lock:
        propagate, transport_level = logger.propagate, transport.level
        logger.addHandler(capture)
        logger.propagate = False
        transport.setLevel(logging.WARNING)  # its loggers below inherit it
        try:
            plugin = target.plugin()
            body_format = (
                apprise.NotifyFormat.HTML if message.format == "html" else apprise.NotifyFormat.TEXT
            )
            ok = bool(
                plugin.notify(body=message.body, title=message.title, body_format=body_format)
            )
        except Exception as error:  # an apprise plugin bug is a failed delivery, not a crash
            ok = False
            capture.lines.append(f"{type(error).__name__}: {error}")
        finally:
            logger.removeHandler(capture)
            logger.propagate = propagate
            transport.setLevel(transport_level)
    if ok:
        return SendResult(True)
    reason = "; ".join(dict.fromkeys(line.strip() for line in capture.lines if line.strip()))
    reason = secrets.scrub(reason or "the service did not accept the message")
    return SendResult(False, reason[:MAX_ERROR_CHARS])
