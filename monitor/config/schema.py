"""The watchlist file's schema (pydantic, strict: YAML already gives real types, so no
silent coercion). Add a key here and it is validated, documented in error messages
("unknown key ... did you mean"), and reaches :func:`~monitor.config.building._merge`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from . import defaults
from .fields import (
    _check_contact,
    _check_cron,
    _check_css,
    _check_group_name,
    _check_header_name,
    _check_header_value,
    _check_interval,
    _check_name,
    _check_regex,
    _check_seconds,
    _check_select,
    _check_tag,
    _check_term,
    _check_text,
    _check_url,
    _check_url_map,
    _check_url_pattern,
    _check_witness,
    _check_witness_on,
    _list_to_watches,
    _none_to_dict,
    _none_to_list,
    _one_or_list,
    _refuse_secret_headers,
)
from .route_schema import ROUTE_KEYS, RouteEntry
from .secrets import _check_env_var

# ---------------------------------------------------------------------------
# Field types: a value's shape (pydantic) and its check (fields.py)

Terms = Annotated[list[Annotated[str, AfterValidator(_check_term)]], BeforeValidator(_none_to_list)]
Tags = Annotated[list[Annotated[str, AfterValidator(_check_tag)]], BeforeValidator(_none_to_list)]
Selectors = Annotated[
    list[Annotated[str, AfterValidator(_check_css)]], BeforeValidator(_one_or_list)
]
Patterns = Annotated[
    list[Annotated[str, AfterValidator(_check_regex)]], BeforeValidator(_one_or_list)
]
Headers = Annotated[
    dict[
        Annotated[str, AfterValidator(_check_header_name)],
        Annotated[str, AfterValidator(_check_header_value)],
    ],
    BeforeValidator(_none_to_dict),
    AfterValidator(_refuse_secret_headers),
]
Text = Annotated[str | None, AfterValidator(_check_text)]
Urls = Annotated[list[Annotated[str, AfterValidator(_check_url)]], BeforeValidator(_one_or_list)]
UrlPatterns = Annotated[
    list[Annotated[str, AfterValidator(_check_url_pattern)]], BeforeValidator(_one_or_list)
]
TermGroups = Annotated[
    dict[
        Annotated[str, AfterValidator(_check_group_name)],
        Annotated[list[Annotated[str, AfterValidator(_check_term)]], Field(min_length=1)],
    ],
    BeforeValidator(_none_to_dict),
]
# Secrets by the names of environment variables (secrets.py)
EnvName = Annotated[str, AfterValidator(_check_env_var)]
HeadersEnv = Annotated[
    dict[Annotated[str, AfterValidator(_check_header_name)], EnvName],
    BeforeValidator(_none_to_dict),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AuthEnv(_Strict):
    """HTTP basic authentication from two environment variables."""

    username: EnvName
    password: EnvName


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
    headers_env: HeadersEnv = {}  # header name -> environment variable with its value
    auth_env: AuthEnv | None = None  # basic auth: {username: VAR, password: VAR}
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
    witness: Annotated[str | None, AfterValidator(_check_witness)] = defaults.WITNESS
    witness_on: Annotated[str, AfterValidator(_check_witness_on)] = defaults.WITNESS_ON


class _SiteEntry(_Rules):
    """A documentation site (config/sites.py): where its pages are listed, which pages
    belong to it, and the rules every page gets, exactly as a watch's. ``exclude`` is
    the site's URL patterns here; the CSS parts to drop from each page are
    ``exclude_css``.
    """

    name: Annotated[str, AfterValidator(_check_name)]
    sitemap: Urls | None = None  # None: the sitemaps robots.txt lists
    start: Urls = []
    include: UrlPatterns = []
    exclude: UrlPatterns = []  # type: ignore[assignment]  # URL patterns, not CSS
    exclude_css: Selectors = []
    max_pages: int = Field(defaults.SITE_MAX_PAGES, ge=1, le=defaults.SITE_MAX_PAGES_LIMIT)
    discover_every: Annotated[Any, AfterValidator(_check_interval)] = None

    @model_validator(mode="after")
    def _has_a_source(self) -> _SiteEntry:
        if not self.start and self.sitemap is not None and not self.sitemap:
            raise ValueError(
                "sitemap: [] and no start pages leave the site nothing to read; add start "
                "pages (start: [URL]) or remove 'sitemap' to use the sitemaps robots.txt lists"
            )
        if not self.start and self.sitemap is None:
            raise ValueError(
                "a site needs a sitemap (sitemap: URL; a robots.txt URL means the sitemaps "
                "it lists) or start pages (start: [URL]) to find its pages"
            )
        return self


Names = Annotated[list[Annotated[str, AfterValidator(_check_name)]], BeforeValidator(_one_or_list)]
LocaleNames = dict[str, Annotated[str, AfterValidator(_check_name)]]


class _CounterpartEntry(_Strict):
    """Language versions of one document: watches, or two sites paired page by page."""

    name: Annotated[str | None, AfterValidator(lambda v: v and _check_name(v))] = None
    watches: Names | LocaleNames | None = None
    sites: Names | LocaleNames | None = None
    map: Annotated[dict[str, str], AfterValidator(_check_url_map)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> _CounterpartEntry:
        if (self.watches is None) == (self.sites is None):
            raise ValueError(
                "give either watches (a list of watch names, or locale: name pairs) or "
                "sites (two site names) with a map like {'/zh/': '/en/'}"
            )
        count = len(self.watches if self.watches is not None else self.sites or ())
        if self.watches is not None and count < 2:
            raise ValueError(f"counterparts need at least two watches, got {count}")
        if self.sites is not None and count != 2:
            raise ValueError(f"site counterparts pair exactly two sites, got {count}")
        if self.sites is not None and self.map is None:
            raise ValueError("site counterparts need a map, like map: {'/zh/': '/en/'}")
        if self.watches is not None and self.map is not None:
            raise ValueError("map pairs the pages of two sites; remove it, or use sites")
        return self


class _File(_Strict):
    defaults: Annotated[_Rules, BeforeValidator(_none_to_dict)] = _Rules()
    # Missing is allowed when there are sites (checked after validation); [] never is.
    watches: list[_WatchEntry] = Field([], min_length=1)
    settings: Annotated[_SettingsEntry, BeforeValidator(_none_to_dict)] = _SettingsEntry()
    notify: Annotated[list[RouteEntry], BeforeValidator(_none_to_list)] = []
    sites: Annotated[list[_SiteEntry], BeforeValidator(_none_to_list)] = []
    counterparts: Annotated[
        list[Annotated[_CounterpartEntry, BeforeValidator(_list_to_watches)]],
        BeforeValidator(_none_to_list),
    ] = []
    term_groups: TermGroups = {}


_ALLOWED_KEYS: dict[str, tuple[str, ...]] = {
    "top": tuple(_File.model_fields),
    "defaults": tuple(_Rules.model_fields),
    "settings": tuple(_SettingsEntry.model_fields),
    "watch": ("name", "url", *_Rules.model_fields),
    "browser": tuple(_BrowserEntry.model_fields),
    "auth_env": tuple(AuthEnv.model_fields),
    "route": ROUTE_KEYS,
    "site": tuple(_SiteEntry.model_fields),
    "counterparts": tuple(_CounterpartEntry.model_fields),
}
