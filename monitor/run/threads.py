"""A daemon thread for the length of a ``with`` block: what ``monitor run`` on
PostgreSQL keeps beside its queueing (alert passes, the witness queue)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def in_background(
    work: Callable[[threading.Event], None], name: str, join_seconds: float
) -> Iterator[None]:
    """Run ``work(stop)`` in a daemon thread; at the end set ``stop`` and wait for it
    at most ``join_seconds`` (its last pass), so that a stuck service never hangs exit.

    >>> seen = []
    >>> with in_background(lambda stop: seen.append(stop.wait(5)), "t", join_seconds=5):
    ...     pass
    >>> seen
    [True]
    """
    stop = threading.Event()
    thread = threading.Thread(target=work, args=(stop,), name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(join_seconds)
