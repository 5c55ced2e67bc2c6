"""The text of an alert about one event: what a researcher reads to decide in ten seconds.

``full_event_lines`` is complete (every removed and added fragment with its heading
path and context); ``short_event`` is for chat: the lines that identify the event
(watch, vendor, URL, kind, flags, capture time, both SHA-256, where the full report is)
always fit, the wording fills what room is left, each fragment shortened, and the
message says how much more there is.

>>> from datetime import UTC, datetime
>>> from monitor.notify.event import TermFlag
>>> event = Event(id=12, watch="aliyun-face", url="https://help.aliyun.com/70429.html",
...               kind="changed", detected_at=datetime(2020, 12, 17, 8, tzinfo=UTC),
...               vendor="Alibaba Cloud",
...               removed=(Wording("、是否是维族", ("人脸属性", "返回参数"), "row"),),
...               flags=(TermFlag("维族", "removed", 1, 0),),
...               from_snapshot="a" * 64, to_snapshot="b" * 64)
>>> title(event)
'[monitor] FLAGGED 维族 removed · aliyun-face'
>>> print(short_event(event, Where("/srv/monitor-data")))
FLAGGED: 维族 removed (1 → 0)
aliyun-face (Alibaba Cloud) · changed #12
https://help.aliyun.com/70429.html
captured 2020-12-17T08:00:00Z
− 、是否是维族  [人脸属性 > 返回参数]
sha256 before aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
sha256 after  bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
full report: monitor --data-dir /srv/monitor-data diff 12
"""

from __future__ import annotations

from collections.abc import Sequence

from ..model import EventKind
from .event import (
    FULL_FRAGMENT,
    FULL_WORDING,
    SHORT_FRAGMENT,
    SHORT_LIMIT,
    Event,
    Where,
    Wording,
    clean,
    flag_text,
    shorten,
    when,
)


def headline(event: Event) -> str:
    """One line saying what happened.

    >>> from datetime import UTC, datetime
    >>> e = Event(1, "w", "https://x", "gone", datetime(2026, 1, 1, tzinfo=UTC))
    >>> headline(e)
    'NEEDS ATTENTION: the page is gone (404/410, confirmed)'
    """
    flags = "; ".join(flag_text(f) for f in event.flags)
    if event.needs_attention:
        # A gone page or a missing part takes its watched terms with it (flags).
        words = _ATTENTION_WORDS.get(event.kind, event.kind)
        return f"NEEDS ATTENTION: {words}" + (f"; FLAGGED: {flags}" if flags else "")
    if event.flags:
        return f"FLAGGED: {flags}"
    if event.kind == EventKind.CHANGED:
        return f"CHANGED: {len(event.removed)} removed, {len(event.added)} added"
    if event.kind == EventKind.RESTORED:
        return f"RESTORED: the page is back (after {event.detail.get('after', 'a problem')})"
    if event.kind == EventKind.MOVED:
        to = event.detail.get("to_url") or "another address"
        return f"MOVED: the page now redirects to {to}"
    return event.kind.upper()


_ATTENTION_WORDS = {
    "gone": "the page is gone (404/410, confirmed)",
    "unreachable": "the page cannot be fetched (repeated failures)",
    "blocked": "a bot wall or WAF answers instead of the page",
    "selector_missing": "the watched part of the page is missing",
    "no_text_layer": "the PDF has no text layer (a scan?): its wording cannot be compared",
    "incomplete": "the page's text could not be read in full: kept, not compared",
}


def title(event: Event) -> str:
    """The subject line: the verdict first, then the watch.

    >>> from datetime import UTC, datetime
    >>> e = Event(3, "baidu-face", "https://x", "changed", datetime(2026, 1, 1, tzinfo=UTC),
    ...           removed=(Wording("a"),), added=(Wording("b"), Wording("c")))
    >>> title(e)
    '[monitor] changed (−1 +2) · baidu-face'
    """
    flagged = ""
    if event.flags:
        first = event.flags[0]
        more = f" and {len(event.flags) - 1} more" if len(event.flags) > 1 else ""
        flagged = f"FLAGGED {first.term} {first.direction}{more}"
    if event.needs_attention:
        verdict = f"needs attention: {event.kind}" + (f", {flagged}" if flagged else "")
    elif flagged:
        verdict = flagged
    elif event.kind == EventKind.CHANGED:
        verdict = f"changed (−{len(event.removed)} +{len(event.added)})"
    else:
        verdict = event.kind
    return clean(f"[monitor] {verdict} · {event.watch}")


def attention_lines(event: Event) -> list[str]:
    """The evidence kept with a warning event, as lines."""
    labels = {
        "from_url": "redirected from",
        "to_url": "now redirects to",
        "failures": "failed checks in a row",
        "confirmations": "confirmed by checks",
        "title": "the page's title now",
        "reason": "why",
    }
    lines = [
        f"{label}: {event.detail[key]}" for key, label in labels.items() if key in event.detail
    ]
    shown = event.detail.get("remaining_text") or event.detail.get("page_text")
    if shown:
        lines.append(f"what the page shows instead: {shown}")
    return lines


# ---------------------------------------------------------------------------
# One event


def _identity_lines(event: Event) -> list[str]:
    vendor = f" ({event.vendor})" if event.vendor else ""
    return [
        f"{event.watch}{vendor} · {event.kind} #{event.id}",
        event.url,
        f"captured {when(event.detected_at)}",
    ]


def _footer_lines(event: Event, where: Where) -> list[str]:
    lines = []
    if event.from_snapshot or event.to_snapshot:
        lines.append(f"sha256 before {event.from_snapshot or '—'}")
        lines.append(f"sha256 after  {event.to_snapshot or '—'}")
    lines.append(f"full report: {where.command('diff', str(event.id))}")
    link = where.link(event)
    if link:
        lines.append(link)
    return lines


def short_event(event: Event, where: Where, limit: int = SHORT_LIMIT) -> str:
    head = [clean(headline(event), chat=True), *(clean(x, True) for x in _identity_lines(event))]
    if event.needs_attention or event.kind in (EventKind.RESTORED, EventKind.MOVED):
        head += [shorten(clean(x, True), SHORT_FRAGMENT) for x in attention_lines(event)]
    foot = _footer_lines(event, where)
    room = limit - sum(len(x) + 1 for x in head + foot)
    wording = _fit_wording(event, room)
    return "\n".join(head + wording + foot)


def _fit_wording(event: Event, room: int) -> list[str]:
    """As many removed/added fragments as fit, removals first, then a count of the rest."""
    lines: list[str] = []
    pending = [("−", w) for w in event.removed] + [("+", w) for w in event.added]
    for index, (sign, wording) in enumerate(pending):
        where = f"  [{clean(wording.where, True)}]" if wording.path else ""
        line = f"{sign} {shorten(clean(wording.text, True), SHORT_FRAGMENT)}{where}"
        rest = pending[index + 1 :]
        tail = len(_more_line(rest)) + 1 if rest else 0  # room for the "… N more" line
        if len(line) + 1 + tail > room:
            lines.append(_more_line(pending[index:]))
            return lines
        lines.append(line)
        room -= len(line) + 1
    return lines


def _more_line(rest: Sequence[tuple[str, Wording]]) -> str:
    removed = sum(sign == "−" for sign, _ in rest)
    added = len(rest) - removed
    parts = [f"{removed} more removed" if removed else "", f"{added} more added" if added else ""]
    return "… " + ", ".join(p for p in parts if p) + " (see the full report)"


def complete_wording(event: Event) -> tuple[list[Wording], list[Wording], str]:
    """The removed and added fragments a complete message shows, and a line counting
    the ones it leaves out ("" when it shows them all): up to ``FULL_WORDING``
    characters, removals first.

    >>> from datetime import UTC, datetime
    >>> big = Event(1, "w", "https://x", "changed", datetime(2020, 12, 17, tzinfo=UTC),
    ...             removed=tuple(Wording("x" * 20_000) for _ in range(12)))
    >>> removed, added, left_out = complete_wording(big)
    >>> len(removed), left_out
    (10, '… 2 more removed (see the full report)')
    """
    shown: dict[str, list[Wording]] = {"−": [], "+": []}
    pending = [("−", w) for w in event.removed] + [("+", w) for w in event.added]
    room = FULL_WORDING
    for index, (sign, wording) in enumerate(pending):
        size = min(len(wording.text), FULL_FRAGMENT) + len(wording.before) + len(wording.after)
        if size > room:
            return shown["−"], shown["+"], _more_line(pending[index:])
        room -= size
        shown[sign].append(wording)
    return shown["−"], shown["+"], ""


def fragment_text(wording: Wording) -> str:
    """A fragment's text for a complete message: whole, unless past ``FULL_FRAGMENT``."""
    text = wording.text
    return text if len(text) <= FULL_FRAGMENT else shorten(text, FULL_FRAGMENT)


def full_event_lines(event: Event, where: Where) -> list[str]:
    vendor = event.vendor or "—"
    previous = (
        f" (compared with the capture of {when(event.previous_at)})" if event.previous_at else ""
    )
    lines = [
        clean(headline(event)),
        "",
        f"Watch:     {event.watch}",
        f"Vendor:    {clean(vendor)}",
        f"URL:       {event.url}",
        f"Event:     {event.kind}, change #{event.id}",
        f"Captured:  {when(event.detected_at)}{previous}",
    ]
    for flag in event.flags:
        lines.append(f"Flag:      {flag_text(flag)}")
    lines += [clean(x) for x in attention_lines(event)]
    removed, added, left_out = complete_wording(event)
    for label, sign, fragments, total in (
        ("Removed", "−", removed, len(event.removed)),
        ("Added", "+", added, len(event.added)),
    ):
        if not total and event.kind != EventKind.CHANGED:
            continue
        lines += ["", f"{label} wording ({total}):" if total else f"{label}: none"]
        for wording in fragments:
            text = fragment_text(wording)
            lines.append(f"  {sign} {clean(text)}")
            lines.append(f"    where:   {place(wording)}")
            if wording.before or wording.after:
                context = f"…{wording.before}[{sign}{text}]{wording.after}…"
                lines.append(f"    context: {clean(context)}")
    if left_out:
        lines += ["", left_out]
    lines += [
        "",
        "Evidence (SHA-256 of the raw pages as fetched):",
        f"  before: {event.from_snapshot or '—'}"
        + (f"  (capture {event.from_capture})" if event.from_capture else ""),
        f"  after:  {event.to_snapshot or '—'}"
        + (f"  (capture {event.to_capture})" if event.to_capture else ""),
        "",
        f"Full report: {where.command('diff', str(event.id), '--html', f'change-{event.id}.html')}",
    ]
    link = where.link(event)
    if link:
        lines.append(f"Online:      {link}")
    return lines


_BLOCK_WORDS = {"row": "table row", "item": "list item", "code": "code block", "heading": "heading"}


def place(wording: Wording) -> str:
    """``table row under 人脸属性 > 返回参数``."""
    kind = _BLOCK_WORDS.get(wording.kind, "text")
    return clean(f"{kind} under {wording.where or '(top of page)'}")
