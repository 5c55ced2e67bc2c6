"""One message for many events: a digest, a storm summary, or a catch-up for a
destination that was down. Flagged events first, then those needing attention; every
event listed; the first ones in full (e-mail and webhooks); the command that lists
them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from .email import CSS, e, html_event, html_page
from .event import (
    FULL_EVENTS,
    LISTED_EVENTS,
    SHORT_LIMIT,
    Event,
    Message,
    Style,
    Where,
    clean,
    shorten,
    when,
)
from .message import full_event_lines, headline

BatchKind = Literal["digest", "summary", "catch-up"]

_BATCH_WHY = {
    "digest": "This route sends one digest per period.",
    "summary": (
        "More events arrived at once than this route sends one by one (a redesign or an "
        "outage?), so they come as one summary."
    ),
    "catch-up": (
        "These were held while this destination could not be reached, and come as one "
        "message instead of many."
    ),
}


def batch_title(events: Sequence[Event], kind: BatchKind) -> str:
    """``[monitor] digest: 7 events on 3 watches (2 flagged)``."""
    watches = len({e.watch for e in events})
    flagged = sum(e.flagged for e in events)
    attention = sum(e.needs_attention for e in events)
    extra = [
        f"{flagged} flagged" if flagged else "",
        f"{attention} need attention" if attention else "",
    ]
    tail = ", ".join(x for x in extra if x)
    noun = "event" if len(events) == 1 else "events"
    where = f"{watches} watch{'es' if watches != 1 else ''}"
    return f"[monitor] {kind}: {len(events)} {noun} on {where}" + (f" ({tail})" if tail else "")


def _order(events: Sequence[Event]) -> list[Event]:
    """Flagged first, then needing attention, then the rest; oldest first within each."""
    return sorted(events, key=lambda e: (not e.flagged, not e.needs_attention, e.id))


def _one_line(event: Event, chat: bool = False) -> str:
    what = headline(event)
    return clean(f"#{event.id} {when(event.detected_at)} {event.watch}: {what}", chat)


def _list_commands(events: Sequence[Event], where: Where) -> list[str]:
    since = when(min(e.detected_at for e in events))
    watches = {e.watch for e in events}
    base = ["changes", "--since", since]
    if len(watches) == 1:
        base += ["--watch", next(iter(watches))]
    lines = [f"list them:   {where.command(*base)}"]
    if any(e.flagged for e in events):
        lines.append(f"flagged:     {where.command(*base, '--flagged')}")
    return lines


def batch_message(events: Sequence[Event], where: Where, style: Style, kind: BatchKind) -> Message:
    """One message for several events."""
    ordered = _order(events)
    subject = clean(batch_title(ordered, kind))
    first, last = min(e.detected_at for e in events), max(e.detected_at for e in events)
    intro = [
        clean(batch_title(ordered, kind).removeprefix("[monitor] ")),
        f"detected {when(first)} – {when(last)}",
        _BATCH_WHY[kind],
        *_list_commands(events, where),
    ]
    if style == "short":
        return Message(subject, _short_batch(ordered, intro))
    if style == "full":
        lines = [*intro, ""]
        lines += [_one_line(e) for e in ordered[:LISTED_EVENTS]]
        if len(ordered) > LISTED_EVENTS:
            lines.append(f"… and {len(ordered) - LISTED_EVENTS} more (list them as above)")
        for event in ordered[:FULL_EVENTS]:
            lines += ["", "—" * 30, *full_event_lines(event, where)]
        if len(ordered) > FULL_EVENTS:
            lines += [
                "",
                f"({len(ordered) - FULL_EVENTS} more events are listed above, not shown in full)",
            ]
        return Message(subject, "\n".join(lines))
    listing = "".join(f"<li>{e(_one_line(event))}</li>" for event in ordered[:LISTED_EVENTS])
    if len(ordered) > LISTED_EVENTS:
        listing += f"<li>… and {len(ordered) - LISTED_EVENTS} more</li>"
    head = (
        f'<div style="{CSS["head"]}">{e(intro[0])}</div>'
        f"<p>{e(intro[1])}<br>{e(intro[2])}</p>"
        + "".join(f'<p><code style="{CSS["mono"]}">{e(c)}</code></p>' for c in intro[3:])
        + f"<ol>{listing}</ol>"
    )
    sections = [head] + [html_event(e, where) for e in ordered[:FULL_EVENTS]]
    return Message(subject, html_page(sections), "html")


def _short_batch(ordered: Sequence[Event], intro: Sequence[str], limit: int = SHORT_LIMIT) -> str:
    lines = [clean(x, True) for x in intro]
    room = limit - sum(len(x) + 1 for x in lines) - 40
    for index, event in enumerate(ordered):
        line = shorten(_one_line(event, chat=True), 200)
        if len(line) + 1 > room:
            lines.append(f"… and {len(ordered) - index} more")
            break
        lines.append(line)
        room -= len(line) + 1
    return "\n".join(lines)
