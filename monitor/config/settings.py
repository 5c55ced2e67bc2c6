"""A watchlist's ``settings:`` block, as the rest of the code reads it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import defaults


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

    @property
    def contact(self) -> str | None:
        """The operator's contact for the User-Agent (watchlist, else MONITOR_CONTACT)."""
        return self.user_agent_contact or os.environ.get("MONITOR_CONTACT")
