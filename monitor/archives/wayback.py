"""The Wayback Machine's public APIs, as documented: request shapes and answers, no I/O.

Three services share one base URL (``MONITOR_WAYBACK_URL``, default
``https://web.archive.org``), so a mirror or a local stub can stand in for all of them:

- the CDX server, ``GET /cdx/search/cdx`` (``output=json``, ``fl=``, ``filter=``,
  ``collapse=``, ``from``/``to``, ``limit``, ``showResumeKey``/``resumeKey``): the index of
  a URL's captures;
- replay, ``GET /web/<timestamp>id_/<url>``: one capture as the server sent it, without the
  archive's toolbar or rewritten links (the ``id_`` "identity" mode);
- Save Page Now 2, ``POST /save`` (``Authorization: LOW access:secret``,
  ``Accept: application/json``, form field ``url``) answering a ``job_id``, then
  ``GET /save/status/<job_id>`` (``pending`` / ``success`` / ``error``) and
  ``GET /save/status/user`` (concurrent captures available, daily captures used).

What was modelled from the documentation and what only a live run can confirm is
written down in ``docs/archives.md``. Everything here is pure, so the parsing of every
documented answer is tested without a server.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import ConfigError

DEFAULT_BASE_URL = "https://web.archive.org"
ENV_BASE_URL = "MONITOR_WAYBACK_URL"
ENV_ACCESS_KEY = "MONITOR_IA_ACCESS_KEY"
ENV_SECRET_KEY = "MONITOR_IA_SECRET_KEY"
ARCHIVE = "wayback"  # the archive's name in witnesses and capture provenance

CDX_PATH = "/cdx/search/cdx"
SAVE_PATH = "/save"
STATUS_PATH = "/save/status/"
USER_STATUS_PATH = "/save/status/user"
# The CDX fields we ask for, in this order (``fl=``).
CDX_FIELDS = ("timestamp", "original", "mimetype", "statuscode", "digest", "length")

TIMESTAMP = re.compile(r"\d{14}")
_REPLAY = re.compile(r"/web/(?P<ts>\d{1,14})(?P<mode>[a-z]{2}_)?/(?P<url>.+)$")


def base_url(environ: Mapping[str, str] | None = None) -> str:
    """The archive's base URL, from ``MONITOR_WAYBACK_URL`` (no trailing slash).

    >>> base_url({}), base_url({"MONITOR_WAYBACK_URL": "http://127.0.0.1:8080/"})
    ('https://web.archive.org', 'http://127.0.0.1:8080')
    """
    env = os.environ if environ is None else environ
    value = (env.get(ENV_BASE_URL) or DEFAULT_BASE_URL).strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ConfigError(
            f"{ENV_BASE_URL}={value!r} is not an http(s) URL; "
            f"unset it to use {DEFAULT_BASE_URL}, or give a mirror's address"
        )
    return value


# -- timestamps and URLs ----------------------------------------------------------


def wayback_timestamp(moment: datetime) -> str:
    """A time as the archive writes it: 14 digits, UTC.

    >>> wayback_timestamp(datetime(2020, 12, 17, 8, 0, 5, tzinfo=UTC))
    '20201217080005'
    """
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def parse_wayback_timestamp(text: str) -> datetime:
    """A 14-digit archive timestamp as a UTC time.

    >>> parse_wayback_timestamp("20201217080005").isoformat()
    '2020-12-17T08:00:05+00:00'
    """
    if not TIMESTAMP.fullmatch(text):
        raise ValueError(f"not a 14-digit archive timestamp: {text!r}")
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def date_bound(moment: datetime) -> str:
    """A ``from``/``to`` bound for the CDX server (its timestamps, to the second)."""
    return wayback_timestamp(moment)


def replay_url(base: str, timestamp: str, url: str) -> str:
    """Where the raw bytes of one capture are: the ``id_`` (identity) replay mode.

    >>> replay_url("https://web.archive.org", "20201217080005", "https://x.cn/a?b=1")
    'https://web.archive.org/web/20201217080005id_/https://x.cn/a?b=1'
    """
    return f"{base}/web/{timestamp}id_/{url}"


def memento_url(base: str, timestamp: str, url: str) -> str:
    """The citable address of a capture, the one a reader opens in a browser.

    >>> memento_url("https://web.archive.org", "20201217080005", "https://x.cn/a")
    'https://web.archive.org/web/20201217080005/https://x.cn/a'
    """
    return f"{base}/web/{timestamp}/{url}"


@dataclass(frozen=True)
class ReplayTarget:
    """What a ``/web/...`` address names: a timestamp, a replay mode and a URL."""

    timestamp: str
    mode: str  # "" for the default (rewritten) view, "id_" for raw bytes, ...
    url: str


def parse_replay_location(location: str) -> ReplayTarget | None:
    """Split a replay address (absolute or a path) into its parts; None if it is not one.

    >>> parse_replay_location("/web/20201217080005id_/https://x.cn/b")
    ReplayTarget(timestamp='20201217080005', mode='id_', url='https://x.cn/b')
    >>> parse_replay_location("https://x.cn/b") is None
    True
    """
    found = _REPLAY.search(location)
    if found is None:
        return None
    return ReplayTarget(found["ts"], found["mode"] or "", found["url"])


# -- CDX --------------------------------------------------------------------------


@dataclass(frozen=True)
class CdxRow:
    """One line of the index: one capture of the URL.

    ``statuscode`` is None for ``-`` (a ``warc/revisit`` record: the same payload as an
    earlier capture, resolved by the replay). ``digest`` is the archive's base-32 SHA-1
    of the payload as it was stored.
    """

    timestamp: str
    original: str
    mimetype: str
    statuscode: int | None
    digest: str
    length: int | None

    @property
    def archived_at(self) -> datetime:
        return parse_wayback_timestamp(self.timestamp)

    @property
    def is_revisit(self) -> bool:
        return self.mimetype == "warc/revisit" or self.statuscode is None


@dataclass(frozen=True)
class CdxPage:
    rows: tuple[CdxRow, ...]
    resume_key: str | None = None  # more rows follow: ask again with resumeKey=


def cdx_params(
    url: str,
    *,
    from_: datetime | None = None,
    to: datetime | None = None,
    limit: int | None = None,
    resume_key: str | None = None,
) -> list[tuple[str, str]]:
    """The query for a URL's distinct captures, oldest first.

    Exact URL match; ``collapse=digest`` drops a capture whose payload equals the one
    before it (a revert A, B, A keeps all three); every status is listed so that
    redirects and errors are recorded as such (the caller fetches the 200s).

    >>> dict(cdx_params("https://x.cn/a", limit=5))["collapse"]
    'digest'
    """
    params = [
        ("url", url),
        ("matchType", "exact"),
        ("output", "json"),
        ("fl", ",".join(CDX_FIELDS)),
        ("collapse", "digest"),
        ("showResumeKey", "true"),
        ("gzip", "false"),
    ]
    if from_ is not None:
        params.append(("from", date_bound(from_)))
    if to is not None:
        params.append(("to", date_bound(to)))
    if limit is not None:
        params.append(("limit", str(limit)))
    if resume_key:
        params.append(("resumeKey", resume_key))
    return params


class ProtocolError(ValueError):
    """An answer that does not have the documented shape."""


def parse_cdx_json(payload: Any) -> CdxPage:
    """Rows of an ``output=json`` answer: a header row of field names, then one list per
    capture, then (with ``showResumeKey``) an empty list and a one-item list holding the
    resume key. An empty answer (no capture at all) may be ``[]`` or an empty body.

    >>> page = parse_cdx_json([
    ...     ["timestamp", "original", "mimetype", "statuscode", "digest", "length"],
    ...     ["20201217080005", "https://x.cn/a", "text/html", "200", "AB", "10"],
    ...     [], ["resume-here"]])
    >>> page.rows[0].statuscode, page.resume_key
    (200, 'resume-here')
    """
    if payload in (None, "", []):
        return CdxPage(())
    if not isinstance(payload, list) or not all(isinstance(r, list) for r in payload):
        raise ProtocolError("a CDX JSON answer is a list of lists")
    header, *rest = payload
    resume_key = None
    if len(rest) >= 2 and rest[-2] == [] and len(rest[-1]) == 1:
        resume_key = str(rest[-1][0])
        rest = rest[:-2]
    index = {name: position for position, name in enumerate(header)}
    missing = [name for name in CDX_FIELDS if name not in index]
    if missing:
        raise ProtocolError(f"CDX answer lacks the field(s) {', '.join(missing)}")
    rows = []
    for line in rest:
        if not line:
            continue
        values = {name: str(line[index[name]]) for name in CDX_FIELDS}
        if not TIMESTAMP.fullmatch(values["timestamp"]):
            raise ProtocolError(f"CDX row with a bad timestamp: {line!r}")
        rows.append(
            CdxRow(
                timestamp=values["timestamp"],
                original=values["original"],
                mimetype=values["mimetype"],
                statuscode=_int_or_none(values["statuscode"]),
                digest=values["digest"],
                length=_int_or_none(values["length"]),
            )
        )
    return CdxPage(tuple(rows), resume_key)


def _int_or_none(text: str) -> int | None:
    return int(text) if text.isdigit() else None


# -- archive furniture -------------------------------------------------------------

# Markers the replay adds to a rewritten page (the default view mode): its toolbar,
# its client-side URL rewriter, its banner comments. None belongs in a raw id_ copy.
TOOLBAR_MARKERS: Sequence[bytes] = (
    b"<!-- BEGIN WAYBACK TOOLBAR INSERT -->",
    b"wm-ipp-base",
    b"__wm.init(",
    b"/_static/js/wombat.js",
    b"archive.org/includes/athena.js",
    b"<!-- FILE ARCHIVED ON ",
)


def furniture(body: bytes) -> str | None:
    """The first replay-toolbar marker found in a body, or None for a raw copy.

    >>> furniture(b"<html><body>raw</body></html>") is None
    True
    >>> furniture(b"<script>__wm.init('https://web.archive.org/web')</script>")
    '__wm.init('
    """
    for marker in TOOLBAR_MARKERS:
        if marker in body:
            return marker.decode()
    return None
