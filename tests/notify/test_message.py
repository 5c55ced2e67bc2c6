"""Alert messages: complete in e-mail, short in chat, safe with hostile page content."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest

from monitor.notify.event import (
    FULL_WORDING,
    SHORT_LIMIT,
    Event,
    TermFlag,
    Where,
    Wording,
    clean,
    sample_event,
    shorten,
)
from monitor.notify.render import render_batch, render_event

WHERE = Where("/srv/monitor data", "https://dash.example.org/changes/{id}")
T = datetime(2020, 12, 17, 8, 0, tzinfo=UTC)


def changed(**overrides: object) -> Event:
    base: dict[str, object] = {
        "id": 12,
        "watch": "aliyun-cloud-shield-face-api",
        "url": "https://help.aliyun.com/document_detail/70429.html",
        "kind": "changed",
        "detected_at": T,
        "vendor": "Alibaba Cloud",
        "removed": (
            Wording("、是否是维族", ("人脸属性", "返回参数"), "row", "是否戴眼镜、是否微笑", ""),
        ),
        "flags": (TermFlag("维族", "removed", 1, 0),),
        "from_snapshot": "a" * 64,
        "to_snapshot": "b" * 64,
        "from_capture": 3,
        "to_capture": 7,
        "previous_at": datetime(2020, 12, 10, tzinfo=UTC),
    }
    base.update(overrides)
    return Event(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("style", ["email", "full", "short"])
def test_every_style_says_what_a_researcher_needs(style: str) -> None:
    message = render_event(changed(), WHERE, style)  # type: ignore[arg-type]
    text = html.unescape(message.body) if style == "email" else message.body
    for needed in (
        "aliyun-cloud-shield-face-api",
        "Alibaba Cloud",
        "https://help.aliyun.com/document_detail/70429.html",
        "changed",
        "维族 removed (1 → 0)",
        "、是否是维族",
        "人脸属性 > 返回参数",
        "2020-12-17T08:00:00Z",
        "a" * 64,
        "b" * 64,
        "diff 12",
        "https://dash.example.org/changes/12",
        "'/srv/monitor data'",  # the data directory, quoted for the shell
    ):
        assert needed in text, (style, needed)
    assert "FLAGGED 维族 removed" in message.title
    assert message.format == ("html" if style == "email" else "text")


def test_attention_event_shows_the_evidence() -> None:
    event = changed(
        kind="selector_missing",
        removed=(),
        flags=(),
        detail={"confirmations": 2, "title": "页面不存在", "page_text": "该文档已下线"},
    )
    for style in ("full", "short"):
        body = render_event(event, WHERE, style).body  # type: ignore[arg-type]
        assert "NEEDS ATTENTION" in body
        assert "该文档已下线" in body and "confirmed by checks: 2" in body
    assert "needs attention: selector_missing" in render_event(event, WHERE, "short").title


HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "ctrl\x00\x07\x1b[31mchars\u202eevil",
    "@everyone look <!channel> <@U123>",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_page_content_is_inert(text: str) -> None:
    event = changed(removed=(Wording(text, ("<h1>", "x")),), flags=())
    page = render_event(event, WHERE, "email").body
    assert "<script>" not in page and "<img" not in page and "<h1>" not in page
    for style in ("full", "short"):
        body = render_event(event, WHERE, style).body  # type: ignore[arg-type]
        assert not any(c in body for c in "\x00\x07\x1b\u202e")
    short = render_event(event, WHERE, "short").body
    assert "@everyone" not in short and "<!channel>" not in short and "<@U" not in short


def test_chat_shortens_long_wording_but_email_keeps_all_of_it() -> None:
    long = "人脸属性" * 500  # 2,000 characters of Chinese
    many = tuple(Wording(f"{long}{i}", ("章节", str(i))) for i in range(30))
    event = changed(removed=many, added=many[:5])
    short = render_event(event, WHERE, "short").body
    assert len(short) <= SHORT_LIMIT
    assert "more removed" in short and "5 more added" in short
    assert "a" * 64 in short and "diff 12" in short  # identity and evidence always fit
    full = render_event(event, WHERE, "full").body
    assert all(w.text in full for w in many)
    email = render_event(event, WHERE, "email").body
    assert all(w.text in email for w in many)


@pytest.mark.parametrize("style", ["full", "email"])
def test_a_rewritten_large_page_makes_a_message_a_server_accepts(style: str) -> None:
    # Complete, up to FULL_WORDING characters of wording: a rewrite of a 20 MB page
    # made a message of tens of MB, which mail servers and webhooks refuse.
    paragraph = "是否是维族" * 20_000  # 100,000 characters, one fragment
    many = tuple(Wording(f"line {i} 维族", ("章节",)) for i in range(200_000))
    event = changed(removed=(Wording(paragraph), *many), added=many[:1000])
    body = render_event(event, WHERE, style).body
    assert len(body) < 2 * FULL_WORDING * 8  # (email markup adds per fragment)
    assert "line 0 维族" in body and paragraph[:1000] in body and paragraph not in body
    assert "Removed wording (200001)" in body
    assert "more removed, 1000 more added (see the full report)" in body
    assert "a" * 64 in body and "diff 12" in body  # the evidence and the command remain


def test_a_batch_lists_every_event_and_how_to_list_them() -> None:
    events = [
        changed(id=i, watch=f"w{i % 3}", flags=() if i % 2 else changed().flags)
        for i in range(1, 40)
    ]
    for kind in ("digest", "summary", "catch-up"):
        message = render_batch(events, WHERE, "full", kind)  # type: ignore[arg-type]
        assert message.title.startswith(f"[monitor] {kind}: 39 events on 3 watches (19 flagged)")
        assert "changes --since 2020-12-17T08:00:00Z" in message.body
        assert "--flagged" in message.body
        assert all(f"#{i} " in message.body for i in range(1, 40))
    short = render_batch(events, WHERE, "short", "summary").body
    assert len(short) <= SHORT_LIMIT and "more" in short
    listed = [line for line in short.splitlines() if line.startswith("#")]
    assert "FLAGGED" in listed[0] and listed[0].startswith("#2 ")  # flagged first


def test_shorten_respects_words_and_characters() -> None:
    assert shorten("one two three four", 12) == "one two…"
    assert shorten("一二三四五六七八", 5) == "一二三四…"
    assert shorten("short", 10) == "short"


def test_clean_keeps_line_breaks_and_cjk() -> None:
    assert clean("第一行\n第二行\t完") == "第一行\n第二行\t完"


def test_the_test_message_is_the_founding_case() -> None:
    body = render_event(sample_event(), WHERE, "full").body
    assert "是否是维族" in body and "维族 removed (1 → 0)" in body
