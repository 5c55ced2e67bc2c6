"""Watchlists: which pages to watch, how often, and what to look for (YAML, validated).

A watchlist names pages (``watches``), shared settings for them (``defaults``) and
optional crawl ``settings``. Every mistake is reported as one :class:`WatchlistError`
naming the file, the line, the watch and the field, with what to do about it: a
watchlist is edited by hand, and a silently ignored typo would mean a page that is
never watched.

>>> wl = loads_watchlist('''
... defaults:
...   every: 6h
...   terms: [维族, Uyghur]
... watches:
...   - name: aliyun-face
...     url: https://help.aliyun.com/document_detail/70429.html
...     terms: [是否是维族, Uyghur]
... ''')
>>> w = wl.watches[0]
>>> w.terms, w.every_seconds, w.cron
(('维族', 'Uyghur', '是否是维族'), 21600.0, None)

Line numbers come from the YAML node tree: the file is composed once, the node tree is
kept to map a pydantic error location such as ``('watches', 2, 'every')`` back to the
line it came from, and the same tree is constructed into plain Python data.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from apscheduler.triggers.cron import CronTrigger
from cssselect import SelectorError
from lxml import etree
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .errors import WatchlistError
from .extract import css_selector

DEFAULT_EVERY_SECONDS = 21600.0  # 6h
MIN_INTERVAL_SECONDS = 60.0  # no page needs checking more than once a minute
MAX_NAME_LENGTH = 100

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_INTERVAL = re.compile(r"(?:\d+\s*[smhd]\s*)+")
_INTERVAL_PART = re.compile(r"(\d+)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token


# ---------------------------------------------------------------------------
# Public data


@dataclass(frozen=True, slots=True)
class Watch:
    """One watched page, with the defaults already merged in.

    ``every_seconds`` is None when ``cron`` schedules the watch. ``headers`` are
    (name, value) pairs in file order.
    """

    name: str
    url: str
    vendor: str | None = None
    tags: tuple[str, ...] = ()
    select: str | None = None
    exclude: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    every_seconds: float | None = DEFAULT_EVERY_SECONDS
    cron: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    notes: str | None = None

    @property
    def schedule(self) -> str:
        """The schedule in words, for listings.

        >>> Watch("a", "https://x", every_seconds=5400).schedule
        'every 1h30m'
        >>> Watch("a", "https://x", every_seconds=None, cron="0 */6 * * *").schedule
        "cron '0 */6 * * *'"
        """
        if self.cron is not None:
            return f"cron {self.cron!r}"
        return f"every {format_interval(self.every_seconds or DEFAULT_EVERY_SECONDS)}"


@dataclass(frozen=True, slots=True)
class Settings:
    """Crawl settings shared by every watch in a watchlist."""

    user_agent_contact: str | None = None
    max_connections: int = 8
    per_host: int = 2
    host_delay: float = 0.5
    unreachable_after: int = 3
    gone_after: int = 2
    retries: int = 2  # extra attempts within one check for transient failures
    timeout: float = 30.0  # seconds to connect and between bytes read
    max_body_mb: float = 20.0  # decoded body cap


@dataclass(frozen=True, slots=True)
class Watchlist:
    """A loaded, valid watchlist."""

    path: str
    watches: tuple[Watch, ...]
    settings: Settings

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(w.name for w in self.watches)

    def select(self, names: Sequence[str]) -> tuple[Watch, ...]:
        """The watches with these names, in watchlist order; all of them when names is empty.

        >>> wl = loads_watchlist("watches: [{name: a, url: 'https://a'}, {name: b, url: 'https://b'}]")
        >>> [w.name for w in wl.select(["b"])], len(wl.select([]))
        (['b'], 2)
        """
        if not names:
            return self.watches
        unknown = [n for n in dict.fromkeys(names) if n not in self.names]
        if unknown:
            raise WatchlistError(self.path, _unknown_names_reason(unknown, self.names))
        wanted = set(names)
        return tuple(w for w in self.watches if w.name in wanted)


def _unknown_names_reason(unknown: list[str], known: Sequence[str]) -> str:
    what = "no watch named " + ", ".join(repr(n) for n in unknown)
    hints = [m for n in unknown for m in difflib.get_close_matches(n, known, n=1)]
    hint = f" (did you mean {', '.join(repr(h) for h in hints)}?)" if hints else ""
    return f"{what}{hint}; known watches: {', '.join(known) or '(none)'}"


# ---------------------------------------------------------------------------
# Intervals and patterns


def parse_interval(text: str | int | float) -> float:
    """Seconds in an interval: a number with a unit s, m, h or d, combined freely.

    A bare number is seconds.

    >>> parse_interval("6h"), parse_interval("1h30m"), parse_interval("2d"), parse_interval(90)
    (21600.0, 5400.0, 172800.0, 90.0)
    >>> parse_interval("6x")
    Traceback (most recent call last):
    ...
    ValueError: bad interval '6x': use a number followed by s, m, h or d, like 6h or 1h30m
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(
            f"bad interval {text!r}: use a number followed by s, m, h or d, like 6h or 1h30m"
        )
    if isinstance(text, int | float):
        return _seconds(text, text)
    spec = text.strip().lower()
    if spec.isdigit():
        return float(spec)
    if not _INTERVAL.fullmatch(spec):
        hint = " (whole numbers only, like 1h30m for 1.5h)" if "." in spec else ""
        raise ValueError(
            f"bad interval {text!r}: use a number followed by s, m, h or d, like 6h or 1h30m{hint}"
        )
    return float(sum(int(n) * _UNIT_SECONDS[u] for n, u in _INTERVAL_PART.findall(spec)))


def _seconds(value: int | float, shown: object) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"bad interval {shown!r}: use a positive number of seconds, or like 6h")
    return float(value)


def format_interval(seconds: float) -> str:
    """The shortest spelling of an interval that parse_interval reads back.

    >>> format_interval(21600), format_interval(5400), format_interval(90.5)
    ('6h', '1h30m', '90.5s')
    """
    if seconds != int(seconds) or seconds <= 0:
        return f"{seconds:g}s"
    rest, parts = int(seconds), []
    for unit in "dhms":
        count, rest = divmod(rest, _UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


# ---------------------------------------------------------------------------
# Field checks (each raises ValueError with the message the user sees)


def _check_name(name: str) -> str:
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"name is {len(name)} characters long; the maximum is {MAX_NAME_LENGTH}")
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"bad name {name!r}: use lowercase letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, like aliyun-face-api"
        )
    return name


def _check_url(url: str) -> str:
    if not url.strip():
        raise ValueError("empty url; write the page address, like https://example.com/docs/page")
    if any(c.isspace() for c in url):
        raise ValueError(f"url {url!r} contains spaces; percent-encode them (%20)")
    parts = urlsplit(url)
    if not parts.scheme:
        raise ValueError(f"url {url!r} has no scheme; start it with https:// or http://")
    if parts.scheme not in ("http", "https"):
        raise ValueError(
            f"unsupported URL scheme {parts.scheme!r} in {url!r}; "
            "only http:// and https:// pages can be watched"
        )
    if not parts.hostname:
        raise ValueError(
            f"url {url!r} has no host; write the full address, like https://example.com/page"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"url {url!r} has a bad port number") from None
    return url


def _check_interval(value: object) -> float | None:
    if value is None:
        return None
    seconds = parse_interval(value)  # type: ignore[arg-type]
    if seconds < MIN_INTERVAL_SECONDS:
        raise ValueError(
            f"interval {value!r} is below the minimum of {MIN_INTERVAL_SECONDS:g}s (1m); "
            "use 1m or more"
        )
    return seconds


def _check_cron(expr: str | None) -> str | None:
    if expr is None:
        return None
    try:
        CronTrigger.from_crontab(expr, timezone="UTC")
    except (ValueError, TypeError, LookupError) as error:
        raise ValueError(
            f"bad cron expression {expr!r}: {error}; use five fields "
            "(minute hour day-of-month month day-of-week), like '0 */6 * * *'"
        ) from None
    return expr


def _check_css(selector: str) -> str:
    if not selector.strip():
        raise ValueError("empty CSS selector; remove it or write one, like 'main, article'")
    try:
        css_selector(selector)  # what extraction will run
    except (SelectorError, etree.XPathError) as error:
        raise ValueError(f"bad CSS selector {selector!r}: {error}") from None
    return selector.strip()


def _check_select(selector: str | None) -> str | None:
    return None if selector is None else _check_css(selector)


def _check_regex(pattern: str) -> str:
    if not pattern:
        raise ValueError("empty ignore pattern; remove it or write a regular expression")
    try:
        re.compile(pattern, re.MULTILINE)
    except re.error as error:
        raise ValueError(f"bad regular expression {pattern!r}: {error}") from None
    try:
        re.compile(f"(?:{pattern})")  # extraction joins the patterns into one alternation
    except re.error as error:
        raise ValueError(
            f"regular expression {pattern!r} cannot be combined with others: {error}; "
            "use a scoped flag like (?i:...) instead of (?i)"
        ) from None
    return pattern


def _check_term(term: str) -> str:
    if not term.strip():
        raise ValueError("empty term; remove it or write the word to watch for")
    return term.strip()


def _check_tag(tag: str) -> str:
    if not tag.strip():
        raise ValueError("empty tag; remove it")
    return tag.strip()


def _check_text(text: str | None) -> str | None:
    if text is not None and not text.strip():
        raise ValueError("empty value; remove the key or write a value")
    return text


def _check_header_name(name: str) -> str:
    if not _HEADER_NAME.fullmatch(name):
        raise ValueError(
            f"bad header name {name!r}: use letters, digits and '-', like Accept-Language"
        )
    return name


def _check_header_value(value: str) -> str:
    if any(c in value for c in "\r\n\0"):
        raise ValueError("header value contains a line break; write it on one line")
    return value


def _check_contact(contact: str | None) -> str | None:
    if contact is None:
        return None
    contact = contact.strip()
    is_email = re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", contact) is not None
    is_url = contact.startswith(("http://", "https://")) and not any(c.isspace() for c in contact)
    if not (is_email or is_url):
        raise ValueError(
            f"bad contact {contact!r}: use an email address or a URL, "
            "like ops@example.org or https://example.org/monitor"
        )
    return contact


def _none_to_list(value: object) -> object:
    return [] if value is None else value


def _one_or_list(value: object) -> object:
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


def _none_to_dict(value: object) -> object:
    return {} if value is None else value


# ---------------------------------------------------------------------------
# Schema (pydantic, strict: YAML already gives real types, so no silent coercion)

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
]
Text = Annotated[str | None, AfterValidator(_check_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


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


class _WatchEntry(_Rules):
    name: Annotated[str, AfterValidator(_check_name)]
    url: Annotated[str, AfterValidator(_check_url)]


class _SettingsEntry(_Strict):
    user_agent_contact: Annotated[str | None, AfterValidator(_check_contact)] = None
    max_connections: int = Field(8, ge=1)
    per_host: int = Field(2, ge=1)
    host_delay: float = Field(0.5, ge=0, allow_inf_nan=False)
    unreachable_after: int = Field(3, ge=1)
    gone_after: int = Field(2, ge=1)
    retries: int = Field(2, ge=0, le=10)
    timeout: float = Field(30.0, gt=0, le=600, allow_inf_nan=False)
    max_body_mb: float = Field(20.0, gt=0, le=1024, allow_inf_nan=False)


class _File(_Strict):
    defaults: Annotated[_Rules, BeforeValidator(_none_to_dict)] = _Rules()
    watches: list[_WatchEntry] = Field(min_length=1)
    settings: Annotated[_SettingsEntry, BeforeValidator(_none_to_dict)] = _SettingsEntry()


_ALLOWED_KEYS: dict[str, tuple[str, ...]] = {
    "top": tuple(_File.model_fields),
    "defaults": tuple(_Rules.model_fields),
    "settings": tuple(_SettingsEntry.model_fields),
    "watch": ("name", "url", *_Rules.model_fields),
}


# ---------------------------------------------------------------------------
# Loading


def load_watchlist(path: str | os.PathLike[str]) -> Watchlist:
    """Read and validate a watchlist file; raises WatchlistError on any problem."""
    name = os.fspath(path)
    return loads_watchlist(_read_text(name), name)


def loads_watchlist(text: str, path: str = "<string>") -> Watchlist:
    """Validate watchlist text; ``path`` is only used in error messages and the result."""
    root, data = _parse_yaml(text, path)
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise WatchlistError(
            path,
            "the top level must be a mapping with a 'watches' list "
            "(and optional 'defaults' and 'settings')",
            line=root.start_mark.line + 1,
        )
    try:
        parsed = _File.model_validate(data)
    except ValidationError as error:
        raise _first_error(error, root, data, path) from None
    located = _Located(root, data, path)
    _check_every_and_cron(parsed, located)
    _check_unique_names(parsed, located)
    watches = tuple(_merge(parsed.defaults, entry) for entry in parsed.watches)
    return Watchlist(path=path, watches=watches, settings=Settings(**parsed.settings.model_dump()))


def _read_text(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise WatchlistError(path, "file not found; check the path") from None
    except IsADirectoryError:
        raise WatchlistError(path, "is a directory, not a watchlist file") from None
    except OSError as error:
        raise WatchlistError(path, f"cannot read the file: {error.strerror or error}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise WatchlistError(
            path,
            f"not valid UTF-8 (byte 0x{raw[error.start]:02x}); save the file as UTF-8",
            line=line,
        ) from None


def _parse_yaml(text: str, path: str) -> tuple[yaml.Node, Any]:
    """Compose the node tree (kept for line numbers) and construct the data from it."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as error:
        raise _reader_error(error, text, path) from None
    try:
        root = loader.get_single_node()
        if root is None:
            raise WatchlistError(path, "the file is empty; a watchlist needs a 'watches' list")
        duplicate = _find_duplicate_key(root, ())
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        raise _yaml_error(error, path) from None
    except yaml.reader.ReaderError as error:
        raise _reader_error(error, text, path) from None
    finally:
        loader.dispose()
    if duplicate is not None:
        loc, line, first_line = duplicate
        raise WatchlistError(
            path,
            f"duplicate key {loc[-1]!r} (first on line {first_line}); "
            "YAML keeps only the last one, so remove one of them",
            line=line,
            entry=_entry_label(data, loc),
            field=_field_label(loc),
        )
    return root, data


def _reader_error(error: yaml.reader.ReaderError, text: str, path: str) -> WatchlistError:
    line = text[: error.position].count("\n") + 1
    reason = f"unacceptable character #x{error.character:04x} ({error.reason}); remove it"
    return WatchlistError(path, reason, line=line)


def _yaml_error(error: yaml.MarkedYAMLError, path: str) -> WatchlistError:
    mark = error.problem_mark or error.context_mark
    problem = error.problem or "cannot parse"
    reason = f"YAML syntax error: {problem}"
    if error.context:
        reason += f" ({error.context})"
    if "\\t" in problem or "'\\t'" in problem:
        reason += "; indent with spaces, not tabs"
    elif "mapping values are not allowed" in problem:
        reason += "; put values that contain ': ' in quotes"
    elif "found unknown escape character" in problem:
        reason += "; write regular expressions in 'single quotes'"
    return WatchlistError(path, reason, line=mark.line + 1 if mark else None)


Loc = tuple[str | int, ...]


def _find_duplicate_key(node: yaml.Node, loc: Loc) -> tuple[Loc, int, int] | None:
    """The first key repeated within one mapping, as (loc, line, first line)."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if key.tag == "tag:yaml.org,2002:merge" or not isinstance(key, yaml.ScalarNode):
                continue
            line = key.start_mark.line + 1
            if key.value in seen:
                return (*loc, key.value), line, seen[key.value]
            seen[key.value] = line
            found = _find_duplicate_key(value, (*loc, key.value))
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found = _find_duplicate_key(item, (*loc, index))
            if found:
                return found
    return None


# ---------------------------------------------------------------------------
# Errors: pydantic locations -> file, line, entry, field


def _line_of(root: yaml.Node, loc: Sequence[str | int]) -> int:
    """The line of the deepest node that loc reaches: a key's line for a mapping entry."""
    node, line = root, root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = _find_pair(node, part)
            if pair is None:
                break  # a missing key: the mapping's own line
            key, node = pair
            line = key.start_mark.line + 1
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _find_pair(node: yaml.MappingNode, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    # The last match, as YAML keeps the last of repeated (or merged-in) keys.
    for key, value in reversed(node.value):
        if isinstance(key, yaml.ScalarNode) and key.value == str(part):
            return key, value
    return None


def _entry_label(data: Any, loc: Sequence[str | int]) -> str | None:
    """The watch's name, or '#N' (1-based) when the name is missing or bad."""
    if len(loc) < 2 or loc[0] != "watches" or not isinstance(loc[1], int):
        return None
    index = loc[1]
    watches = data.get("watches") if isinstance(data, dict) else None
    item = watches[index] if isinstance(watches, list) and index < len(watches) else None
    name = item.get("name") if isinstance(item, dict) else None
    if isinstance(name, str) and len(name) <= MAX_NAME_LENGTH and _NAME.fullmatch(name):
        return name
    return f"#{index + 1}"


def _field_label(loc: Sequence[str | int]) -> str | None:
    """'every' in a watch, 'defaults.every', 'settings.per_host', or a top-level key."""
    if not loc:
        return None
    head = str(loc[0])
    if head == "watches" and len(loc) >= 2 and isinstance(loc[1], int):
        return str(loc[2]) if len(loc) >= 3 else None
    if head in ("defaults", "settings") and len(loc) >= 2:
        return f"{head}.{loc[1]}"
    return head


def _section(loc: Sequence[str | int]) -> str:
    if len(loc) >= 3 and loc[0] == "watches":
        return "watch"
    if len(loc) >= 2 and loc[0] in ("defaults", "settings"):
        return str(loc[0])
    return "top"


def _first_error(error: ValidationError, root: yaml.Node, data: Any, path: str) -> WatchlistError:
    """The error that comes first in the file, as a WatchlistError."""
    details = error.errors(include_url=False)
    # A misspelt key also shows as a missing one ('urll' -> no 'url'): report the misspelling.
    misspelt = {tuple(d["loc"][:-1]) for d in details if d["type"] == "extra_forbidden"}
    details = [
        d for d in details if not (d["type"] == "missing" and tuple(d["loc"][:-1]) in misspelt)
    ]
    found = []
    for order, detail in enumerate(details):
        loc = tuple(p for p in detail["loc"] if p != "[key]")
        found.append((_line_of(root, detail["loc"]), order, loc, detail))
    line, _, loc, detail = min(found, key=lambda item: item[:2])
    return WatchlistError(
        path,
        _reason(detail, loc),
        line=line,
        entry=_entry_label(data, loc),
        field=_field_label(loc),
    )


def _reason(detail: Any, loc: Loc) -> str:
    kind, value = detail["type"], detail.get("input")
    key = str(loc[-1]) if loc else "?"
    if kind == "value_error":
        return str(detail["ctx"]["error"])
    if kind == "missing":
        return f"missing required key {key!r}{_MISSING_HINTS.get(key, '')}"
    if kind == "extra_forbidden":
        return _unknown_key_reason(key, _ALLOWED_KEYS[_section(loc)])
    if kind == "too_short" and loc == ("watches",):
        return "the watches list is empty; add at least one watch with a name and a url"
    if kind == "greater_than_equal":
        return f"must be at least {detail['ctx']['ge']}, got {value!r}"
    template = _TYPE_REASONS.get(kind)
    if template:
        return template.format(got=_describe(value))
    return str(detail["msg"])


_MISSING_HINTS = {
    "url": "; add the page address, like url: https://example.com/docs/page",
    "name": "; add a unique name, like name: aliyun-face-api",
    "watches": "; add a 'watches:' list with at least one watch",
}
_TYPE_REASONS = {
    "string_type": "expected text, got {got}; put the value in quotes",
    "list_type": "expected a list, got {got}; write it like [a, b] or one '- item' per line",
    "dict_type": "expected a mapping of key: value pairs, got {got}",
    "model_type": "expected a mapping of key: value pairs, got {got}",
    "int_type": "expected a whole number, got {got}",
    "float_type": "expected a number, got {got}",
    "finite_number": "expected a finite number, got {got}",
}


def _unknown_key_reason(key: str, allowed: Sequence[str]) -> str:
    if key in ("name", "url") and "name" not in allowed:
        return f"{key!r} cannot be a default; give each watch its own {key}"
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}"


def _describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"true/false ({value!r})"
    if isinstance(value, datetime | date):
        return f"a date ({value})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"text ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


@dataclass(frozen=True)
class _Located:
    """What post-validation checks need to report a line."""

    root: yaml.Node
    data: Any
    path: str

    def error(self, loc: Loc, reason: str) -> WatchlistError:
        return WatchlistError(
            self.path,
            reason,
            line=_line_of(self.root, loc),
            entry=_entry_label(self.data, loc),
            field=_field_label(loc),
        )


def _rule_sections(parsed: _File) -> Iterator[tuple[Loc, _Rules]]:
    yield ("defaults",), parsed.defaults
    for index, entry in enumerate(parsed.watches):
        yield ("watches", index), entry


def _check_every_and_cron(parsed: _File, located: _Located) -> None:
    for loc, rules in _rule_sections(parsed):
        if rules.every is not None and rules.cron is not None:
            every_line = _line_of(located.root, (*loc, "every"))
            cron_line = _line_of(located.root, (*loc, "cron"))
            later = "cron" if cron_line >= every_line else "every"
            raise located.error(
                (*loc, later), "both every and cron are set; use either every or cron, not both"
            )


def _check_unique_names(parsed: _File, located: _Located) -> None:
    first: dict[str, int] = {}
    for index, entry in enumerate(parsed.watches):
        line = _line_of(located.root, ("watches", index, "name"))
        if entry.name in first:
            raise located.error(
                ("watches", index, "name"),
                f"duplicate name {entry.name!r} (first used on line {first[entry.name]}); "
                "every watch needs its own name",
            )
        first[entry.name] = line


# ---------------------------------------------------------------------------
# Merging defaults into a watch


def _merge(defaults: _Rules, entry: _WatchEntry) -> Watch:
    every, cron = _schedule(defaults, entry)
    return Watch(
        name=entry.name,
        url=entry.url,
        vendor=_scalar(defaults, entry, "vendor"),
        tags=_union(defaults.tags, entry.tags),
        select=_scalar(defaults, entry, "select"),
        exclude=_union(defaults.exclude, entry.exclude),
        ignore=_union(defaults.ignore, entry.ignore),
        terms=_union(defaults.terms, entry.terms),
        every_seconds=every,
        cron=cron,
        headers=_merge_headers(defaults.headers, entry.headers),
        notes=_scalar(defaults, entry, "notes"),
    )


def _schedule(defaults: _Rules, entry: _WatchEntry) -> tuple[float | None, str | None]:
    # A watch's own every or cron wins over either from the defaults.
    for rules in (entry, defaults):
        if rules.cron is not None:
            return None, rules.cron
        if rules.every is not None:
            return float(rules.every), None
    return DEFAULT_EVERY_SECONDS, None


def _scalar(defaults: _Rules, entry: _WatchEntry, key: str) -> Any:
    # A key the watch sets, even to null, replaces the default.
    return getattr(entry if key in entry.model_fields_set else defaults, key)


def _union(first: Sequence[str], second: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*first, *second]))


def _merge_headers(defaults: dict[str, str], own: dict[str, str]) -> tuple[tuple[str, str], ...]:
    merged = {name.lower(): (name, value) for name, value in defaults.items()}
    for name, value in own.items():
        merged[name.lower()] = (name, value)  # header names are case-insensitive
    return tuple(merged.values())
