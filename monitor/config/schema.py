"""The watchlist file's schema (pydantic, strict: YAML already gives real types, so no
silent coercion). Add a key here and it is validated, documented in error messages
("unknown key ... did you mean"), and reaches :func:`~monitor.config.watchlist._merge`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from . import defaults
from .fields import (
    Headers,
    Patterns,
    Selectors,
    Tags,
    Terms,
    Text,
    _check_contact,
    _check_cron,
    _check_interval,
    _check_name,
    _check_seconds,
    _check_select,
    _check_url,
    _none_to_dict,
    _none_to_list,
)
from .routes import ROUTE_KEYS, RouteEntry


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _BrowserEntry(_Strict):
    """How a page is rendered when ``fetch`` is ``browser`` (or ``auto`` needs it)."""

    wait_until: Literal["load", "domcontentloaded", "networkidle"] = "networkidle"
    wait_for: Annotated[str | None, AfterValidator(_check_select)] = None  # CSS selector
    delay: Annotated[Any, AfterValidator(_check_seconds(0, 60))] = None  # extra wait
    timeout: Annotated[Any, AfterValidator(_check_seconds(1, 300))] = None
    screenshot: bool = False


class _Rules(_Strict):
    """The keys a watch and the defaults share."""

    vendor: Text = None
    tags: Tags = []
    select: Annotated[str | None, AfterValidator(_check_select)] = None
    exclude: Selectors = []
    ignore: Patterns = []
    terms: Terms = []
    every: Annotated[Any, AfterValidator(_check_interval)] = None
    cron: Annotated[str | None, AfterValidator(_check_cron)] = None
    headers: Headers = {}
    notes: str | None = None
    moves: Literal["ignore", "section", "any"] | None = None
    fetch: Literal["http", "browser", "auto"] | None = None
    browser: _BrowserEntry | None = None


class _WatchEntry(_Rules):
    name: Annotated[str, AfterValidator(_check_name)]
    url: Annotated[str, AfterValidator(_check_url)]


class _SettingsEntry(_Strict):
    user_agent_contact: Annotated[str | None, AfterValidator(_check_contact)] = None
    max_connections: int = Field(defaults.MAX_CONNECTIONS, ge=1)
    per_host: int = Field(defaults.PER_HOST, ge=1)
    host_delay: float = Field(defaults.HOST_DELAY, ge=0, allow_inf_nan=False)
    unreachable_after: int = Field(defaults.UNREACHABLE_AFTER, ge=1)
    gone_after: int = Field(defaults.GONE_AFTER, ge=1)
    retries: int = Field(defaults.RETRIES, ge=0, le=10)
    timeout: float = Field(defaults.TIMEOUT, gt=0, le=600, allow_inf_nan=False)
    max_body_mb: float = Field(defaults.MAX_BODY_MB, gt=0, le=1024, allow_inf_nan=False)
    browser_pages: int = Field(defaults.BROWSER_PAGES, ge=1, le=16)
    browser_memory_mb: int = Field(defaults.BROWSER_MEMORY_MB, ge=256, le=65536)
    # RFC 3161 time-stamping authority for checkpoints (off unless set; docs/evidence.md)
    timestamp_authority: Annotated[str | None, AfterValidator(_check_url)] = None


class _File(_Strict):
    defaults: Annotated[_Rules, BeforeValidator(_none_to_dict)] = _Rules()
    watches: list[_WatchEntry] = Field(min_length=1)
    settings: Annotated[_SettingsEntry, BeforeValidator(_none_to_dict)] = _SettingsEntry()
    notify: Annotated[list[RouteEntry], BeforeValidator(_none_to_list)] = []


_ALLOWED_KEYS: dict[str, tuple[str, ...]] = {
    "top": tuple(_File.model_fields),
    "defaults": tuple(_Rules.model_fields),
    "settings": tuple(_SettingsEntry.model_fields),
    "watch": ("name", "url", *_Rules.model_fields),
    "browser": tuple(_BrowserEntry.model_fields),
    "route": ROUTE_KEYS,
}
