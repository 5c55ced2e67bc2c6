"""Alert messages: what a researcher reads to decide in ten seconds (pure, no I/O).

Three styles, chosen per destination:

- ``email``: complete, as HTML (escaped; removed wording struck through, watched
  terms marked) that apprise sends with a plain-text alternative, UTF-8 throughout;
- ``full``: the same complete content as plain text (JSON/form/XML webhooks, which
  feed other tools);
- ``short``: chat services. The lines that identify the event (watch, vendor, URL,
  kind, flags, capture time, both SHA-256, where the full report is) always fit; the
  wording fills what room is left, each fragment shortened, and the message says how
  much more there is.

Everything that comes from a page is untrusted: HTML is escaped, control characters are
dropped, and chat mentions (``@everyone``, ``<!channel>``…) are defused so that a page
cannot ping a whole team.

>>> event = Event(id=12, watch="aliyun-face", url="https://help.aliyun.com/70429.html",
...               kind="changed", detected_at=datetime(2020, 12, 17, 8, tzinfo=UTC),
...               vendor="Alibaba Cloud",
...               removed=(Wording("、是否是维族", ("人脸属性", "返回参数"), "row"),),
...               flags=(TermFlag("维族", "removed", 1, 0),),
...               from_snapshot="a" * 64, to_snapshot="b" * 64)
>>> message = render_event(event, Where("/srv/monitor-data"), "short")
>>> message.title
'[monitor] FLAGGED 维族 removed · aliyun-face'
>>> print(message.body)  # doctest: +ELLIPSIS
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

import html
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from ..model import ATTENTION_EVENTS, EventKind

Style = Literal["email", "full", "short"]

SHORT_LIMIT = 1500  # characters in a chat message (Discord's cap is 2,000, SMS far less)
SHORT_FRAGMENT = 160  # characters of one removed/added fragment in chat
FULL_EVENTS = 50  # events shown in full in one digest or summary; the rest one line each
LISTED_EVENTS = 500  # events listed at all in one digest or summary (the rest: a count)

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_MENTION = re.compile(r"([@＠])(?=(everyone|here|channel|room|all)\b)|(<)(?=[!@#])", re.I)
_ZWSP = "\u200b"


@dataclass(frozen=True, slots=True)
class Wording:
    """A removed or added fragment and where it sat (heading path, block kind)."""

    text: str
    path: tuple[str, ...] = ()
    kind: str = "text"
    before: str = ""
    after: str = ""

    @property
    def where(self) -> str:
        return " > ".join(self.path)


@dataclass(frozen=True, slots=True)
class TermFlag:
    term: str
    direction: str  # removed | added
    before: int
    after: int


@dataclass(frozen=True)
class Event:
    """A stored change event with what a message about it needs."""

    id: int
    watch: str
    url: str
    kind: str
    detected_at: datetime
    vendor: str | None = None
    tags: tuple[str, ...] = ()
    removed: tuple[Wording, ...] = ()
    added: tuple[Wording, ...] = ()
    flags: tuple[TermFlag, ...] = ()
    from_snapshot: str | None = None
    to_snapshot: str | None = None
    from_capture: int | None = None
    to_capture: int | None = None
    previous_at: datetime | None = None  # when the compared-against capture was taken
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    @property
    def needs_attention(self) -> bool:
        return self.kind in ATTENTION_EVENTS


@dataclass(frozen=True)
class Where:
    """How a reader finds the full report: a command on the data directory, a link."""

    data_dir: str
    report_url: str | None = None  # template with {id} and {watch}

    def command(self, *args: str) -> str:
        return shlex.join(["monitor", "--data-dir", self.data_dir, *args])

    def link(self, event: Event) -> str | None:
        if self.report_url is None:
            return None
        return self.report_url.format(id=event.id, watch=event.watch)


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    format: Literal["text", "html"] = "text"


# ---------------------------------------------------------------------------
# Small pieces


def clean(text: str, chat: bool = False) -> str:
    """Untrusted page text made safe to show: no control characters; no chat mentions.

    >>> clean("a\\x00b\\u202ec")
    'abc'
    >>> clean("ping @everyone <!channel>", chat=True) == "ping @\\u200beveryone <\\u200b!channel>"
    True
    """
    text = _CONTROL.sub("", text)
    if chat:
        text = _MENTION.sub(lambda m: (m[1] or m[3]) + _ZWSP, text)
    return text


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word or character boundary, with an ellipsis.

    >>> shorten("是否戴眼镜、是否微笑、是否是维族", 8)
    '是否戴眼镜、是…'
    >>> shorten("the quick brown fox jumps", 14)
    'the quick…'
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def when(moment: datetime) -> str:
    """UTC to the second, as the JSON contract shows times.

    >>> when(datetime(2020, 12, 17, 8, 0, 5, 123, tzinfo=UTC))
    '2020-12-17T08:00:05Z'
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def flag_text(flag: TermFlag) -> str:
    return f"{flag.term} {flag.direction} ({flag.before} → {flag.after})"


def headline(event: Event) -> str:
    """One line saying what happened.

    >>> e = Event(1, "w", "https://x", "gone", datetime(2026, 1, 1, tzinfo=UTC))
    >>> headline(e)
    'NEEDS ATTENTION: the page is gone (404/410, confirmed)'
    """
    if event.flags:
        return "FLAGGED: " + "; ".join(flag_text(f) for f in event.flags)
    if event.kind == EventKind.CHANGED:
        return f"CHANGED: {len(event.removed)} removed, {len(event.added)} added"
    if event.needs_attention:
        return f"NEEDS ATTENTION: {_ATTENTION_WORDS.get(event.kind, event.kind)}"
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
}


def title(event: Event) -> str:
    """The subject line: the verdict first, then the watch.

    >>> e = Event(3, "baidu-face", "https://x", "changed", datetime(2026, 1, 1, tzinfo=UTC),
    ...           removed=(Wording("a"),), added=(Wording("b"), Wording("c")))
    >>> title(e)
    '[monitor] changed (−1 +2) · baidu-face'
    """
    if event.flags:
        first = event.flags[0]
        more = f" +{len(event.flags) - 1}" if len(event.flags) > 1 else ""
        verdict = f"FLAGGED {first.term} {first.direction}{more}"
    elif event.kind == EventKind.CHANGED:
        verdict = f"changed (−{len(event.removed)} +{len(event.added)})"
    elif event.needs_attention:
        verdict = f"needs attention: {event.kind}"
    else:
        verdict = event.kind
    return clean(f"[monitor] {verdict} · {event.watch}")


def _attention_lines(event: Event) -> list[str]:
    """The evidence kept with a warning event, as lines."""
    labels = {
        "from_url": "redirected from",
        "to_url": "now redirects to",
        "failures": "failed checks in a row",
        "confirmations": "confirmed by checks",
        "title": "the page's title now",
        "reason": "why",
    }
    lines = [f"{label}: {event.detail[key]}" for key, label in labels.items() if key in event.detail]
    shown = event.detail.get("remaining_text") or event.detail.get("page_text")
    if shown:
        lines.append(f"what the page shows instead: {shown}")
    return lines


# ---------------------------------------------------------------------------
# One event


def render_event(event: Event, where: Where, style: Style) -> Message:
    """The message for one event, in a destination's style."""
    if style == "short":
        return Message(title(event), _short_event(event, where))
    text = "\n".join(_full_event_lines(event, where))
    if style == "full":
        return Message(title(event), text)
    return Message(title(event), _html_page([_html_event(event, where)]), "html")


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


def _short_event(event: Event, where: Where, limit: int = SHORT_LIMIT) -> str:
    head = [clean(headline(event), chat=True), *(clean(x, True) for x in _identity_lines(event))]
    if event.needs_attention or event.kind in (EventKind.RESTORED, EventKind.MOVED):
        head += [shorten(clean(x, True), SHORT_FRAGMENT) for x in _attention_lines(event)]
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


def _full_event_lines(event: Event, where: Where) -> list[str]:
    vendor = event.vendor or "—"
    previous = f" (compared with the capture of {when(event.previous_at)})" if event.previous_at else ""
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
    lines += [clean(x) for x in _attention_lines(event)]
    for label, sign, fragments in (
        ("Removed", "−", event.removed),
        ("Added", "+", event.added),
    ):
        if not fragments and event.kind != EventKind.CHANGED:
            continue
        lines += ["", f"{label} wording ({len(fragments)}):" if fragments else f"{label}: none"]
        for wording in fragments:
            lines.append(f"  {sign} {clean(wording.text)}")
            lines.append(f"    where:   {_place(wording)}")
            if wording.before or wording.after:
                context = f"…{wording.before}[{sign}{wording.text}]{wording.after}…"
                lines.append(f"    context: {clean(context)}")
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


def _place(wording: Wording) -> str:
    """``table row under 人脸属性 > 返回参数``."""
    kind = _BLOCK_WORDS.get(wording.kind, "text")
    return clean(f"{kind} under {wording.where or '(top of page)'}")


# ---------------------------------------------------------------------------
# HTML (e-mail)

_CSS = {
    "body": "font-family:sans-serif;font-size:15px;line-height:1.5;color:#222",
    "flag": "background:#fdd;border-left:4px solid #c00;padding:6px 10px;font-weight:bold",
    "head": "background:#eef;border-left:4px solid #447;padding:6px 10px;font-weight:bold",
    "removed": "background:#fee;text-decoration:line-through;color:#900",
    "added": "background:#efe;color:#060",
    "mono": "font-family:monospace;font-size:13px;word-break:break-all",
    "muted": "color:#666;font-size:13px",
}


def _e(text: object) -> str:
    return html.escape(clean(str(text)), quote=True)


def _html_event(event: Event, where: Where) -> str:
    banner = "flag" if event.flags or event.needs_attention else "head"
    rows = [
        ("Watch", _e(event.watch)),
        ("Vendor", _e(event.vendor or "—")),
        ("URL", f'<a href="{_e(event.url)}">{_e(event.url)}</a>'),
        ("Event", f"{_e(event.kind)}, change #{event.id}"),
        ("Captured", _e(when(event.detected_at))),
    ]
    if event.previous_at:
        rows.append(("Compared with", f"the capture of {_e(when(event.previous_at))}"))
    rows += [("Flag", _e(flag_text(f))) for f in event.flags]
    rows += [(line.split(": ", 1)[0], _e(line.split(": ", 1)[1])) for line in _attention_lines(event)]
    table = "".join(
        f'<tr><td style="{_CSS["muted"]};padding-right:12px;vertical-align:top">{k}</td>'
        f"<td>{v}</td></tr>"
        for k, v in rows
    )
    parts = [
        f'<div style="{_CSS[banner]}">{_e(headline(event))}</div>',
        f"<table>{table}</table>",
    ]
    for label, style, fragments in (
        ("Removed wording", "removed", event.removed),
        ("Added wording", "added", event.added),
    ):
        if not fragments:
            continue
        items = "".join(
            f'<li><span style="{_CSS[style]}">{_e(w.text)}</span>'
            f'<br><span style="{_CSS["muted"]}">{_e(_place(w))}'
            + (
                f" · …{_e(w.before)}<b>{_e(w.text)}</b>{_e(w.after)}…"
                if w.before or w.after
                else ""
            )
            + "</span></li>"
            for w in fragments
        )
        parts.append(f"<h3>{label} ({len(fragments)})</h3><ul>{items}</ul>")
    command = where.command("diff", str(event.id), "--html", f"change-{event.id}.html")
    link = where.link(event)
    parts.append(
        f'<p style="{_CSS["muted"]}">SHA-256 of the raw pages as fetched:<br>'
        f'before <span style="{_CSS["mono"]}">{_e(event.from_snapshot or "—")}</span><br>'
        f'after <span style="{_CSS["mono"]}">{_e(event.to_snapshot or "—")}</span></p>'
        f'<p>Full report: <code style="{_CSS["mono"]}">{_e(command)}</code>'
        + (f'<br><a href="{_e(link)}">{_e(link)}</a>' if link else "")
        + "</p>"
    )
    return "\n".join(parts)


def _html_page(sections: Sequence[str]) -> str:
    joined = "\n<hr>\n".join(sections)
    return f'<div style="{_CSS["body"]}">\n{joined}\n</div>'


# ---------------------------------------------------------------------------
# Many events in one message: a digest, a storm summary, a catch-up

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
    extra = [f"{flagged} flagged" if flagged else "", f"{attention} need attention" if attention else ""]
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


def render_batch(events: Sequence[Event], where: Where, style: Style, kind: BatchKind) -> Message:
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
            lines += ["", "—" * 30, *_full_event_lines(event, where)]
        if len(ordered) > FULL_EVENTS:
            lines += ["", f"({len(ordered) - FULL_EVENTS} more events are listed above, not shown in full)"]
        return Message(subject, "\n".join(lines))
    listing = "".join(f"<li>{_e(_one_line(e))}</li>" for e in ordered[:LISTED_EVENTS])
    if len(ordered) > LISTED_EVENTS:
        listing += f"<li>… and {len(ordered) - LISTED_EVENTS} more</li>"
    head = (
        f'<div style="{_CSS["head"]}">{_e(intro[0])}</div>'
        f"<p>{_e(intro[1])}<br>{_e(intro[2])}</p>"
        + "".join(f'<p><code style="{_CSS["mono"]}">{_e(c)}</code></p>' for c in intro[3:])
        + f"<ol>{listing}</ol>"
    )
    sections = [head] + [_html_event(e, where) for e in ordered[:FULL_EVENTS]]
    return Message(subject, _html_page(sections), "html")


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


def sample_event() -> Event:
    """The event ``monitor notify test`` sends: the 2020 Cloud Shield removal, marked TEST."""
    return Event(
        id=0,
        watch="TEST-aliyun-cloud-shield-face-api",
        url="https://help.aliyun.com/document_detail/70429.html",
        kind="changed",
        detected_at=datetime(2020, 12, 17, 8, 0, tzinfo=UTC),
        vendor="Alibaba Cloud (sample message from monitor notify test)",
        removed=(
            Wording(
                "、是否是维族",
                ("人脸属性", "返回参数"),
                "row",
                before="是否戴眼镜、是否微笑",
                after="",
            ),
        ),
        flags=(TermFlag("维族", "removed", 1, 0), TermFlag("是否是维族", "removed", 1, 0)),
        from_snapshot="0" * 64,
        to_snapshot="f" * 64,
        from_capture=1,
        to_capture=2,
        previous_at=datetime(2020, 12, 10, 8, 0, tzinfo=UTC),
    )
