"""A watchlist's ``settings:`` block, as the rest of the code reads it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import ConfigError
from . import defaults
from .fields import _check_contact

CONTACT_VARIABLE = "MONITOR_CONTACT"


def environment_contact() -> str | None:
    """The operator's contact from ``MONITOR_CONTACT``, checked like the watchlist's
    ``user_agent_contact`` (it goes into every request's User-Agent: ASCII only).

    >>> os.environ[CONTACT_VARIABLE] = "研究@example.org"
    >>> environment_contact()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    monitor.errors.ConfigError: MONITOR_CONTACT: bad contact '研究@example.org': ...ASCII only...
    >>> del os.environ[CONTACT_VARIABLE]
    """
    value = os.environ.get(CONTACT_VARIABLE)
    if not value:
        return None
    try:
        return _check_contact(value)
    except ValueError as error:
        raise ConfigError(f"{CONTACT_VARIABLE}: {error}") from None


@dataclass(frozen=True, slots=True)
class WitnessPolicy:
    """Which change events an archive is asked to witness (``settings.witness``):
    ``changed`` and ``gone`` events, all of them or only those that changed a watched term.
    """

    archive: str | None = defaults.WITNESS
    on: str = defaults.WITNESS_ON  # flagged | changed

    def archive_for(self, kind: str, flagged: bool) -> str | None:
        """The archive to ask for a witness of an event, or None.

        >>> WitnessPolicy("wayback").archive_for("changed", flagged=False) is None
        True
        >>> WitnessPolicy("wayback", "changed").archive_for("changed", flagged=False)
        'wayback'
        >>> WitnessPolicy("wayback").archive_for("gone", flagged=True)
        'wayback'
        >>> WitnessPolicy("wayback", "changed").archive_for("blocked", flagged=True) is None
        True
        """
        # A page that lost wording, or that is gone (the archive keeps the 404 too).
        if self.archive is None or kind not in ("changed", "gone"):
            return None
        if self.on == "flagged" and not flagged:
            return None
        return self.archive


@dataclass(frozen=True, slots=True)
class Settings:
    """Crawl settings shared by every watch in a watchlist."""

    user_agent_contact: str | None = None
    max_connections: int = defaults.MAX_CONNECTIONS
    per_host: int = defaults.PER_HOST
    host_delay: float = defaults.HOST_DELAY
    unreachable_after: int = defaults.UNREACHABLE_AFTER
    gone_after: int = defaults.GONE_AFTER
    retries: int = defaults.RETRIES  # extra attempts within one check, transient failures
    timeout: float = defaults.TIMEOUT  # seconds to connect and between bytes read
    max_body_mb: float = defaults.MAX_BODY_MB  # decoded body cap
    browser_pages: int = defaults.BROWSER_PAGES  # pages rendered at once (fetch: browser)
    browser_memory_mb: int = defaults.BROWSER_MEMORY_MB  # the browser's memory ceiling
    timestamp_authority: str | None = None  # RFC 3161 TSA URL for checkpoints (off by default)
    witness: str | None = defaults.WITNESS  # archive asked to capture a changed page
    witness_on: str = defaults.WITNESS_ON  # flagged | changed

    @property
    def witness_policy(self) -> WitnessPolicy:
        return WitnessPolicy(self.witness, self.witness_on)

    @property
    def contact(self) -> str | None:
        """The operator's contact for the User-Agent (watchlist, else MONITOR_CONTACT)."""
        return self.user_agent_contact or environment_contact()
