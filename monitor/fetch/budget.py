"""How long a fetch may take: a budget for the whole fetch (every attempt and wait) and
a note of how far a slow answer had come, so its recorded reason can say so.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Budget:
    """The time a whole fetch may take, counted from its first request.

    >>> budget = Budget(10.0)
    >>> budget.remaining()  # not started: waiting for a turn at a busy host is free
    10.0
    >>> budget.start(); 9.0 < budget.remaining() <= 10.0
    True
    """

    seconds: float
    started: float | None = None

    def start(self) -> None:
        if self.started is None:
            self.started = time.monotonic()

    def remaining(self) -> float:
        if self.started is None:
            return self.seconds
        return self.seconds - (time.monotonic() - self.started)


# Body bytes received so far by the attempt running in this task.
_RECEIVED: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "monitor_fetch_received", default=None
)


@contextmanager
def counting() -> Iterator[None]:
    """Count the body bytes of the attempt made inside this block (see :func:`received`)."""
    token = _RECEIVED.set([0])
    try:
        yield
    finally:
        _RECEIVED.reset(token)


def received(size: int) -> None:
    """The attempt in this task has now received ``size`` body bytes."""
    counter = _RECEIVED.get()
    if counter is not None:
        counter[0] = size


def too_slow(seconds: float) -> str:
    """The reason recorded for an answer that did not complete within its deadline."""
    counter = _RECEIVED.get()
    body = counter[0] if counter is not None else 0
    progress = f"{body} bytes of the body had come" if body else "its headers were still coming"
    return (
        f"too slow: no complete response within {seconds:g}s ({progress}); "
        "not retried, the next scheduled check tries again"
    )
