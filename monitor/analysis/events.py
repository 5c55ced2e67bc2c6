"""Page events: what one check means, given what the watch looked like before.

A pure state machine. Each check yields an :class:`Observation`; :func:`transition`
turns it and the watch's :class:`WatchState` into the next state plus zero or more
events. One event per episode: a flaky server gives one ``unreachable`` and later one
``restored``, never one event per failed check.

Event kinds: ``changed``, ``gone`` (404/410 or soft 404, confirmed), ``restored``,
``unreachable`` (repeated transient failures), ``moved`` (redirect target changed),
``blocked`` (bot wall, captcha, WAF page), ``selector_missing`` (the page no longer
has the part the watch selects: it needs attention, nothing was "removed") and
``no_text_layer`` (a PDF with pages but no text, a scan: reported at once, never read
as a document whose wording was all removed) and ``incomplete`` (the page's text could
not be read in full: past a parser limit, reported at once; over the CSS rules' time
budget, confirmed like ``blocked``; never compared).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..config import defaults
from ..model import ATTENTION_OUTCOMES, FETCH_FAILURES, EventKind, Outcome, WatchStatus

if TYPE_CHECKING:  # types only: reading a watch's state must not load the differ
    from .compare import Comparison
    from .flag import Flag


@dataclass(frozen=True)
class WatchState:
    """What the next check is compared against. Persisted with every capture."""

    status: WatchStatus = WatchStatus.NEW
    reference: int | None = None  # id of the last good capture: diffs are made against it
    reference_body: str | None = None  # its raw body SHA-256
    reference_text: str | None = None  # its extracted document SHA-256
    reference_url: str | None = None  # its final URL
    reference_fingerprint: str | None = None  # its visible-text fingerprint (a cache)
    reference_skeleton: str | None = None  # its verified markup skeleton (a cache)
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0  # consecutive transient/error checks
    gone_streak: int = 0  # consecutive gone checks
    attention: str | None = None  # blocked / selector_missing: the current streak's outcome
    attention_streak: int = 0  # consecutive checks with that outcome
    not_modified_streak: int = 0  # consecutive 304 answers (validators are re-checked)
    last_problem: int | None = None  # capture that started the current bad episode

    def to_dict(self) -> dict[str, Any]:
        # Shallow on purpose: every field is a plain value, and dataclasses.asdict's
        # deep copy costs 0.1 ms on every recorded check.
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WatchState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "status" in known:
            known["status"] = WatchStatus(known["status"])
        return cls(**known)


@dataclass(frozen=True)
class Observation:
    """The facts of one check, after classification and (if needed) comparison."""

    capture: int
    outcome: Outcome
    body_sha: str | None = None
    text_sha: str | None = None
    final_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    comparison: Comparison | None = None
    moves: str = "section"  # which moved blocks alone make a change (Comparison.changed_for)
    flags: tuple[Flag, ...] = ()
    fingerprint: str | None = None  # visible-text fingerprint of this capture
    skeleton: str | None = None  # verified markup-skeleton signature of this capture
    detail: dict[str, Any] = field(default_factory=dict)  # evidence for a warning event


@dataclass(frozen=True)
class EventDraft:
    """An event before it is stored (the store gives it an id and a time)."""

    kind: EventKind
    from_capture: int | None
    to_capture: int
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    flags: tuple[Flag, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Thresholds:
    unreachable_after: int = defaults.UNREACHABLE_AFTER
    gone_after: int = defaults.GONE_AFTER
    attention_after: int = defaults.ATTENTION_AFTER  # blocked / selector_missing confirmations


DEFAULT_THRESHOLDS = Thresholds()


def transition(
    state: WatchState, seen: Observation, limits: Thresholds = DEFAULT_THRESHOLDS
) -> tuple[WatchState, list[EventDraft]]:
    """Next state and events for one observation.

    >>> s, events = transition(WatchState(), Observation(1, Outcome.OK, "b1", "t1", "https://x/a"))
    >>> str(s.status), s.reference, events
    ('up', 1, [])
    >>> s, events = transition(s, Observation(2, Outcome.TRANSIENT))
    >>> s.failures, events
    (1, [])
    """
    if seen.outcome in FETCH_FAILURES:
        return _failure(state, seen, limits)
    if seen.outcome == Outcome.GONE:
        return _gone(state, seen, limits)
    if seen.outcome in ATTENTION_OUTCOMES:
        return _needs_attention(state, seen, limits)
    return _good(state, seen)


def _failure(
    state: WatchState, seen: Observation, limits: Thresholds
) -> tuple[WatchState, list[EventDraft]]:
    failures = state.failures + 1
    problem = state.last_problem if state.failures else seen.capture
    events = []
    if failures >= limits.unreachable_after and state.status not in (
        WatchStatus.UNREACHABLE,
        WatchStatus.GONE,
    ):
        events.append(
            EventDraft(
                EventKind.UNREACHABLE,
                state.reference,
                seen.capture,
                detail={"failures": failures, "since_capture": problem},
            )
        )
        state = replace(state, status=WatchStatus.UNREACHABLE)
    return replace(
        state, failures=failures, gone_streak=0, attention_streak=0, last_problem=problem
    ), events


def _gone(
    state: WatchState, seen: Observation, limits: Thresholds
) -> tuple[WatchState, list[EventDraft]]:
    streak = state.gone_streak + 1
    problem = state.last_problem if state.gone_streak else seen.capture
    events = []
    if streak >= limits.gone_after and state.status != WatchStatus.GONE:
        events.append(
            EventDraft(
                EventKind.GONE,
                state.reference,
                seen.capture,
                flags=seen.flags,
                detail={"confirmations": streak, "since_capture": problem},
            )
        )
        state = replace(state, status=WatchStatus.GONE)
    return replace(
        state, gone_streak=streak, failures=0, attention_streak=0, last_problem=problem
    ), events


def _needs_attention(
    state: WatchState, seen: Observation, limits: Thresholds
) -> tuple[WatchState, list[EventDraft]]:
    # Evidence is stored, but a bot wall or a missing selector is never diffed against
    # the real content: the reference stays the last good capture. Confirmed on
    # consecutive checks, so a CDN that challenges every other request is not a storm.
    streak = state.attention_streak + 1 if state.attention == seen.outcome else 1
    problem = state.last_problem if streak > 1 else seen.capture
    needed = 1 if _at_once(seen) else limits.attention_after
    events = []
    if streak >= needed and state.status != seen.outcome:
        events.append(
            EventDraft(
                EventKind(seen.outcome),
                state.reference,
                seen.capture,
                flags=seen.flags,
                detail={**seen.detail, "confirmations": streak, "since_capture": problem},
            )
        )
        state = replace(state, status=WatchStatus(seen.outcome))
    return replace(
        state,
        attention=seen.outcome,
        attention_streak=streak,
        failures=0,
        gone_streak=0,
        last_problem=problem,
    ), events


def _at_once(seen: Observation) -> bool:
    """A fact of the page's bytes, not a flaky answer, needs no second look: a PDF
    without a text layer, a page past a parser limit. A rule's time budget depends on
    the machine's load, so it is confirmed like a bot wall.

    >>> _at_once(Observation(1, Outcome.INCOMPLETE, detail={"limit": "parser_limit"}))
    True
    >>> _at_once(Observation(1, Outcome.INCOMPLETE, detail={"limit": "time_budget"}))
    False
    """
    if seen.outcome == Outcome.NO_TEXT_LAYER:
        return True
    # "time_budget" is documents.limits.TIME_BUDGET (not imported: it would load lxml).
    return seen.outcome == Outcome.INCOMPLETE and seen.detail.get("limit") != "time_budget"


def _good(state: WatchState, seen: Observation) -> tuple[WatchState, list[EventDraft]]:
    events: list[EventDraft] = []
    if state.status not in (WatchStatus.NEW, WatchStatus.UP):
        events.append(
            EventDraft(
                EventKind.RESTORED, state.last_problem, seen.capture, detail={"after": state.status}
            )
        )
    final_url = seen.final_url
    moved = bool(
        state.reference is not None and final_url and _moved(state.reference_url, final_url)
    )
    if moved:
        # Checked before the same-bytes shortcut: a page renamed with its content intact
        # (a 301 to a new URL serving the very same bytes) has moved all the same.
        events.append(
            EventDraft(
                EventKind.MOVED,
                state.reference,
                seen.capture,
                detail={"from_url": state.reference_url, "to_url": final_url},
            )
        )
    if seen.outcome == Outcome.NOT_MODIFIED or seen.outcome == Outcome.UNCHANGED:
        not_modified = state.not_modified_streak + 1 if seen.outcome == Outcome.NOT_MODIFIED else 0
        return replace(
            state,
            status=WatchStatus.UP,
            reference_url=final_url if moved else state.reference_url,
            failures=0,
            gone_streak=0,
            attention_streak=0,
            not_modified_streak=not_modified,
            last_problem=None,
        ), events
    comparison = seen.comparison
    if (
        state.reference is not None
        and comparison is not None
        and comparison.changed_for(seen.moves)
    ):
        events.append(
            EventDraft(
                EventKind.CHANGED,
                state.reference,
                seen.capture,
                removed=tuple(f.text for f in comparison.removed),
                added=tuple(f.text for f in comparison.added),
                flags=seen.flags,
                detail=comparison.to_detail(),
            )
        )
    return WatchState(
        status=WatchStatus.UP,
        reference=seen.capture,
        reference_body=seen.body_sha,
        reference_text=seen.text_sha,
        reference_url=final_url,
        reference_fingerprint=seen.fingerprint,
        reference_skeleton=seen.skeleton,
        etag=seen.etag,
        last_modified=seen.last_modified,
    ), events


def _moved(before: str | None, after: str) -> bool:
    """Did the redirect target change? Scheme, host and path; not the query string.

    Vendors append rotating tracking parameters (Alibaba's ``spm=``) to redirect
    targets; those must not raise a ``moved`` event on every check.

    >>> _moved("https://x/doc?spm=a1", "https://x/doc?spm=b2")
    False
    >>> _moved("https://x/doc", "https://x/")
    True
    """
    if before is None:
        return False
    return urlsplit(before)[:3] != urlsplit(after)[:3]
