"""Field checks of watchlist values; each raises ValueError with the message the user sees."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import regex
from cssselect import SelectorError
from lxml import etree

from ..documents.css import css_selector
from ..safe import BIDI_CHARS, CONTROL_CHARS, has_userinfo, redact_url, terminal
from . import defaults

MIN_INTERVAL_SECONDS = 60.0  # no page needs checking more than once a minute
MAX_NAME_LENGTH = 100

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_INTERVAL = re.compile(r"(?:\d+\s*[smhd]\s*)+")
_INTERVAL_PART = re.compile(r"(\d+)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_UNSAFE_IN_URL = re.compile(f"[{CONTROL_CHARS}{BIDI_CHARS}]")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token


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
    shown = redact_url(url)  # an error message is shown and may be logged: never a password
    if any(c.isspace() for c in url):
        raise ValueError(f"url {shown!r} contains spaces; percent-encode them (%20)")
    if _UNSAFE_IN_URL.search(url):
        raise ValueError(f"url {terminal(shown)!r} contains control or bidirectional characters")
    parts = urlsplit(url)
    if not parts.scheme:
        raise ValueError(f"url {shown!r} has no scheme; start it with https:// or http://")
    if parts.scheme not in ("http", "https"):
        raise ValueError(
            f"unsupported URL scheme {parts.scheme!r} in {shown!r}; "
            "only http:// and https:// pages can be watched"
        )
    if has_userinfo(url) or "@" in parts.netloc:
        raise ValueError(
            f"url {shown!r} carries credentials (user:password@ before the host); they "
            "would be stored and shown with every capture. Remove them and give the watch "
            "auth_env: {username: VARIABLE, password: VARIABLE} (or headers_env for a "
            "token), with the values exported in the environment (README \"Secrets\")"
        )
    if not parts.hostname:
        raise ValueError(
            f"url {shown!r} has no host; write the full address, like https://example.com/page"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"url {shown!r} has a bad port number") from None
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


def _check_seconds(low: float, high: float) -> Callable[[object], float | None]:
    """A check for a short duration (``2s``, ``500ms`` is not a unit: use seconds).

    >>> _check_seconds(0, 60)("2s"), _check_seconds(0, 60)(None)
    (2.0, None)
    """

    def check(value: object) -> float | None:
        if value is None:
            return None
        seconds = parse_interval(value)  # type: ignore[arg-type]
        if not low <= seconds <= high:
            raise ValueError(
                f"duration {value!r} is outside {format_interval(low) if low else '0s'}"
                f"..{format_interval(high)}; write it like 2s or 1m"
            )
        return seconds

    return check


def _check_cron(expr: str | None) -> str | None:
    if expr is None:
        return None
    from apscheduler.triggers.cron import CronTrigger  # only for watchlists that use cron

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
    try:  # the engine that applies it, in bounded time (documents/patterns.py)
        regex.compile(f"(?:{pattern})", regex.MULTILINE)
    except regex.error as error:
        raise ValueError(f"regular expression {pattern!r} is not supported: {error}") from None
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
    """A header value HTTP can carry: printable ASCII and tabs (RFC 9110 field-value).

    The message never repeats the value: it may be a secret.
    """
    if any(c in value for c in "\r\n\0"):
        raise ValueError("header value contains a line break; write it on one line")
    bad = next((i for i, c in enumerate(value) if not (c == "\t" or " " <= c <= "~")), None)
    if bad is not None:
        code = f"U+{ord(value[bad]):04X}"
        kind = "a control character" if ord(value[bad]) < 0xA0 else "a non-ASCII character"
        raise ValueError(
            f"header value has {kind} ({code}) at position {bad + 1}; HTTP headers carry "
            "ASCII only: percent-encode the value or leave the header out"
        )
    return value


# Headers that are credentials by definition: only from the environment (headers_env).
SECRET_HEADERS = frozenset(("authorization", "proxy-authorization", "cookie"))


def _refuse_secret_headers(headers: dict[str, str]) -> dict[str, str]:
    for name in headers:
        if name.lower() in SECRET_HEADERS:
            raise ValueError(
                f"header {name} holds a credential, which would be stored with every "
                f"capture; set it from the environment instead: headers_env: {{{name}: "
                "VARIABLE}} (or auth_env for basic auth), README \"Secrets\""
            )
    return headers


def _check_contact(contact: str | None) -> str | None:
    if contact is None:
        return None
    contact = contact.strip()
    if not all(" " <= c <= "~" for c in contact):  # it goes into the User-Agent header
        raise ValueError(
            f"bad contact {terminal(contact)!r}: the contact goes into the User-Agent header, "
            "which carries ASCII only; use an ASCII email address or URL (percent-encode "
            "or punycode the rest), like ops@example.org"
        )
    is_email = re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", contact) is not None
    is_url = contact.startswith(("http://", "https://")) and not any(c.isspace() for c in contact)
    if not (is_email or is_url):
        raise ValueError(
            f"bad contact {contact!r}: use an email address or a URL, "
            "like ops@example.org or https://example.org/monitor"
        )
    return contact


def _check_witness(archive: str | None) -> str | None:
    if archive is None or archive in defaults.WITNESS_ARCHIVES:
        return archive
    raise ValueError(
        f"unknown witness {archive!r}: use wayback (the Internet Archive's Save Page Now), "
        "or leave it out for no witness"
    )


def _check_witness_on(which: str) -> str:
    if which in defaults.WITNESS_ON_CHOICES:
        return which
    raise ValueError(
        f"bad witness_on {which!r}: use flagged (changes of a watched term) or changed "
        "(every change)"
    )


def _none_to_list(value: object) -> object:
    return [] if value is None else value


def _one_or_list(value: object) -> object:
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


def _none_to_dict(value: object) -> object:
    return {} if value is None else value


# ---------------------------------------------------------------------------
# Sites, counterparts and term groups


def _check_url_pattern(pattern: str) -> str:
    """A site's include/exclude pattern: a URL or /path prefix, or a glob."""
    pattern = pattern.strip()
    if not pattern:
        raise ValueError("empty pattern; remove it or write a URL prefix like https://x/docs/")
    if any(c.isspace() for c in pattern):
        raise ValueError(f"pattern {pattern!r} contains spaces; percent-encode them (%20)")
    if pattern.startswith(("/", "*")):
        return pattern
    if "://" not in pattern:
        raise ValueError(
            f"{pattern!r} is not a URL pattern: write a URL prefix (https://docs.example.com"
            "/zh/), a path prefix (/zh/) or a glob (*/archive/*); to drop parts of each "
            "page, use exclude_css"
        )
    if urlsplit(pattern).scheme not in ("http", "https"):
        raise ValueError(f"pattern {pattern!r} must start with https://, http:// or /")
    return pattern


def _check_url_map(mapping: dict[str, str]) -> dict[str, str]:
    if len(mapping) != 1:
        raise ValueError(
            "map takes exactly one pair: the part of the first site's URLs to replace and "
            "what replaces it, like {'/zh/': '/en/'}"
        )
    ((source, target),) = mapping.items()
    if not source or source == target:
        raise ValueError(f"map {source!r} -> {target!r} does not change a URL")
    return mapping


def _check_group_name(name: str) -> str:
    if not name.strip() or any(ord(c) < 32 for c in name):
        raise ValueError(f"bad term group name {name!r}: use a word like uyghur")
    return name


def _list_to_watches(value: object) -> object:
    """A counterparts entry ``- [a, b]`` is short for ``- {watches: [a, b]}``."""
    return {"watches": value} if isinstance(value, list) else value
