"""What an alert is about: a stored change event, as messages show it (pure, no I/O).

Everything that comes from a page is untrusted: :func:`clean` drops control characters
and bidirectional overrides, and in chat defuses mentions (``@everyone``,
``<!channel>``…) so that a page cannot ping a whole team.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from ..model import ATTENTION_EVENTS, parse_time
from ..safe import BIDI_CHARS, CONTROL_CHARS, redact

Style = Literal["email", "full", "short"]

SHORT_LIMIT = 1500  # characters in a chat message (Discord's cap is 2,000, SMS far less)
SHORT_FRAGMENT = 160  # characters of one removed/added fragment in chat
FULL_EVENTS = 50  # events shown in full in one digest or summary; the rest one line each
# A complete (email, webhook) message shows wording up to this many characters, one
# fragment up to FULL_FRAGMENT, and counts the rest: a rewritten 20 MB page would make
# a message of tens of MB, which mail servers and webhooks refuse, so it never arrived.
FULL_WORDING = 200_000
FULL_FRAGMENT = 20_000
LISTED_EVENTS = 500  # events listed at all in one digest or summary (the rest: a count)

# What monitor/safe.py calls unsafe, and the zero-width characters, are dropped here.
_CONTROL = re.compile(f"[{CONTROL_CHARS}{BIDI_CHARS}\u200b-\u200d]")
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
        # A PostgreSQL store is named by its URL, its password masked (the reader has it).
        option = (
            "--store" if self.data_dir.startswith(("postgresql:", "postgres:")) else "--data-dir"
        )
        return shlex.join(["monitor", option, self.data_dir, *args])

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
    """Untrusted page text made safe to show: no control characters, no credentials in
    URLs, no chat mentions.

    >>> clean("a\\x00b\\u202ec")
    'abc'
    >>> clean("see http://user:pw@example.org/")
    'see http://***@example.org/'
    >>> clean("ping @everyone <!channel>", chat=True) == "ping @\\u200beveryone <\\u200b!channel>"
    True
    """
    text = redact(_CONTROL.sub("", text))
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


def event_from_row(row: Mapping[str, Any]) -> Event:
    """An :class:`Event` from a change row joined with its watch and both captures."""
    config = json.loads(row["config"]) if row["config"] else {}
    detail = json.loads(row["detail"]) if row["detail"] else {}

    def wording(label: str) -> tuple[Wording, ...]:
        located = detail.get(label)
        if located:
            return tuple(
                Wording(
                    f["text"],
                    tuple(f.get("path") or ()),
                    f.get("kind", "text"),
                    f.get("before", ""),
                    f.get("after", ""),
                )
                for f in located
            )
        return tuple(Wording(text) for text in json.loads(row[label]))

    return Event(
        id=row["id"],
        watch=row["watch"],
        url=redact(row["url"]),  # rows written before URLs with credentials were refused
        kind=row["kind"],
        detected_at=parse_time(row["detected_at"]),
        vendor=config.get("vendor"),
        tags=tuple(config.get("tags") or ()),
        removed=wording("removed"),
        added=wording("added"),
        flags=tuple(
            TermFlag(f["term"], f["direction"], f["before"], f["after"])
            for f in json.loads(row["flags"])
        ),
        from_snapshot=row["from_snapshot"],
        to_snapshot=row["to_snapshot"],
        from_capture=row["from_capture"],
        to_capture=row["to_capture"],
        previous_at=parse_time(row["previous_at"]) if row["previous_at"] else None,
        detail={k: v for k, v in detail.items() if k not in ("removed", "added", "hunks", "moved")},
    )


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
