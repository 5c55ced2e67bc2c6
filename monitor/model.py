"""Typed names shared by every stage: outcomes, error classes, event kinds, a capture.

Defined once here (StrEnums, so they compare and serialise as their plain string
values, which is what the store keeps and the JSON contract shows):

>>> Outcome.OK == "ok", EventKind.CHANGED.value, ErrorClass.TRANSIENT
(True, 'changed', <ErrorClass.TRANSIENT: 'transient'>)

Nothing here imports another module of the package: this is the bottom of the layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class ErrorClass(StrEnum):
    """Why a fetch produced no usable response (set on a :class:`Capture`).

    The caller decides from the class, never from the message text.
    """

    TRANSIENT = "transient"  # worth retrying: timeouts, resets, DNS, 5xx, 429, truncation
    TOO_LARGE = "too_large"  # the body passed the size cap; not stored
    REDIRECT_LOOP = "redirect_loop"
    INVALID = "invalid"  # a URL or response the HTTP client cannot handle at all
    REFUSED = "refused"  # we would not go there: a redirect into private or link-local space

    @property
    def may_be_transient(self) -> bool:
        return self is ErrorClass.TRANSIENT


class Outcome(StrEnum):
    """What one check of one watch found (stored on every capture row)."""

    OK = "ok"  # a good page, extracted (its text may or may not differ)
    UNCHANGED = "unchanged"  # same bytes as the last good capture
    NOT_MODIFIED = "not_modified"  # HTTP 304 to our validators
    GONE = "gone"  # 404/410 or a soft 404
    BLOCKED = "blocked"  # bot wall, captcha, WAF page, 401/403/451
    TRANSIENT = "transient"  # failed in a way worth retrying later
    ERROR = "error"  # failed for good (bad URL, too large, other HTTP status)
    SELECTOR_MISSING = "selector_missing"  # the page lacks the part the watch selects
    NO_TEXT_LAYER = "no_text_layer"  # a PDF with pages but no text (a scan)
    # The page came, but its text could not be extracted in full (a parser limit, a
    # rule's time budget): kept as evidence, never compared, shown as needing a look.
    INCOMPLETE = "incomplete"
    RAW_RESPONSE = "raw_response"  # the main document's bytes behind a rendered capture
    INTERNAL_ERROR = "internal_error"  # a bug of ours; never stored, reported by `check`

    @property
    def failed(self) -> bool:
        """A check that saw no page at all (counted as failed in summaries)."""
        return self in _FAILED


_FAILED = frozenset((Outcome.TRANSIENT, Outcome.ERROR, Outcome.INTERNAL_ERROR))
# Outcomes that count toward `unreachable` (the page may well still be there).
FETCH_FAILURES = frozenset((Outcome.TRANSIENT, Outcome.ERROR))
# Outcomes whose page is good: the reference may move to it.
GOOD_OUTCOMES = frozenset((Outcome.OK, Outcome.UNCHANGED, Outcome.NOT_MODIFIED))


class EventKind(StrEnum):
    """Kinds of change events (DESIGN.md section 4; add, never rename)."""

    CHANGED = "changed"
    GONE = "gone"
    RESTORED = "restored"
    UNREACHABLE = "unreachable"
    MOVED = "moved"
    BLOCKED = "blocked"
    SELECTOR_MISSING = "selector_missing"
    NO_TEXT_LAYER = "no_text_layer"
    PAGE_ADDED = "page_added"  # a site's discovery lists a new page (monitor/sites)
    PAGE_REMOVED = "page_removed"  # a page left the site's listing, confirmed, still served
    LOCALE_GAP = "locale_gap"  # a term group one language version has and another lacks
    INCOMPLETE = "incomplete"  # the page's text could not be read in full (see Outcome)


# Events that ask a person to look at the watch rather than at new wording.
ATTENTION_EVENTS = frozenset(
    (
        EventKind.GONE,
        EventKind.UNREACHABLE,
        EventKind.BLOCKED,
        EventKind.SELECTOR_MISSING,
        EventKind.NO_TEXT_LAYER,
        EventKind.INCOMPLETE,
    )
)
# Outcomes of a page that came but cannot be compared; repeated, they ask for a look.
ATTENTION_OUTCOMES = frozenset(
    (Outcome.BLOCKED, Outcome.SELECTOR_MISSING, Outcome.NO_TEXT_LAYER, Outcome.INCOMPLETE)
)


class WatchStatus(StrEnum):
    """Where a watch's current episode stands (kept in its state)."""

    NEW = "new"
    UP = "up"
    UNREACHABLE = "unreachable"
    GONE = "gone"
    BLOCKED = "blocked"
    SELECTOR_MISSING = "selector_missing"
    NO_TEXT_LAYER = "no_text_layer"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class Capture:
    """What one fetch saw. ``body`` is the response body after content-encoding.

    Fetch failures are not exceptions: they are a Capture with ``error_class`` set,
    recorded as evidence like any other check.
    """

    url: str
    fetched_at: datetime
    status: int | None = None
    final_url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    elapsed: float = 0.0
    redirects: tuple[tuple[int, str], ...] = ()  # (status, URL that answered it)
    attempts: int = 1
    error_class: ErrorClass | None = None
    error: str | None = None
    fetched_with: str = "http"  # http, or browser (the body is the rendered DOM)
    source: Capture | None = None  # a rendered capture's raw main-document response
    screenshot: bytes | None = None  # a rendered capture's full-page PNG, when asked for

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass(frozen=True)
class CheckResult:
    watch: str
    outcome: Outcome
    capture_id: int | None = None
    events: tuple[EventKind, ...] = ()
    change_ids: tuple[int, ...] = ()
    flagged: bool = False
    error: str | None = None  # set when the check itself failed (a bug), not the fetch
    reason: str | None = None  # why the outcome is what it is (HTTP 500, connection refused)
    attempts: int = 1

    def to_json(self) -> dict[str, object]:
        """The per-watch object of ``monitor check --format json`` (docs/cli.md)."""
        return {
            "watch": self.watch,
            "outcome": str(self.outcome),
            "events": [str(e) for e in self.events],
            "change_ids": list(self.change_ids),
            "flagged": self.flagged,
            "capture_id": self.capture_id,
            "reason": self.reason,
            "attempts": self.attempts,
            "error": self.error,
        }

    @property
    def changed(self) -> bool:
        return EventKind.CHANGED in self.events


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with a Z, to the microsecond (sortable as text).

    >>> iso(datetime(2020, 12, 17, 8, 0, tzinfo=UTC))
    '2020-12-17T08:00:00.000000Z'
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Parse an ISO-8601 time; naive times are taken as UTC.

    >>> parse_time("2020-12-17T08:00:00Z").isoformat()
    '2020-12-17T08:00:00+00:00'
    >>> parse_time("2020-12-17").isoformat()
    '2020-12-17T00:00:00+00:00'
    """
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
