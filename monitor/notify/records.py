"""What the outbox hands out: due messages, open deliveries, and delivery leases.

A lease marks a delivery as being sent by one process (``host:pid``) until a time, so
that two processes on one data directory (a ``monitor run`` and a ``monitor check``)
never send the same message at once. A lease whose process is gone (SIGKILL) is taken
over at once on the same host; from another host, when it expires.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Due:
    """A message waiting for one destination."""

    message: int
    kind: str
    changes: tuple[int, ...]
    attempts: int


@dataclass(frozen=True)
class Delivery:
    """A message that is not done, and one of its destination rows not delivered (``target``
    is None when no destination has been tried yet), for ``monitor notify status``."""

    route: str
    message: int
    kind: str
    changes: tuple[int, ...]
    target: str | None
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    created_at: str


def lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_dead(owner: str | None) -> bool:
    """A lease held by a process of this host that no longer runs can be taken over."""
    if not owner:
        return True
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
