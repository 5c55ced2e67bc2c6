"""Wall classification against documents that talk about walls (issue 9).

A real cookie policy listing the ``aws-waf-token`` cookie was classified ``blocked``, so
its real edit was never diffed. Here: realistic cookie and security pages that name
every marker the classifier knows must be ``ok``; the real walls (the fault server's
fixtures, and the same walls served with a 200) must stay ``blocked``.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from faultserver import AWS_WAF_BODY, CAPTCHA_BODY, CLOUDFLARE_BODY, _akamai_body

from monitor.documents.classify import _CAPTCHA_MARKERS, _CHALLENGE_MARKERS, classify
from monitor.model import Capture, Outcome

# One sample of every marker the classifier looks for, as a document would write it.
MARKERS = [
    "_cf_chl_opt",
    "challenge-platform",
    "cf-browser-verification",
    "cf_chl_rc_m",
    "<title>Just a moment...</title>",
    "<title>Attention Required! | Cloudflare</title>",
    "captcha-delivery.com",
    "px-captcha",
    "/_____tmd_____/punish",
    "nc_1_wrapper",
    "awswaf",
    "aws-waf-token",
    "Reference&#32;&#35;18",
    "Reference #18.2d5e1402.1700000000",
    'class="g-recaptcha"',
    "class='h-captcha'",
    "verify you are human",
    "verify that you are a human",
    "are you a robot",
    "unusual traffic from your computer network",
    "请完成安全验证",
    "人机验证",
]

COOKIE_ROWS = [
    ("aws-waf-token", "AWS WAF", "Proves that the browser solved an AWS WAF (awswaf) challenge"),
    (
        "cf_clearance",
        "Cloudflare",
        "Set after a challenge; cf_chl_rc_m and _cf_chl_opt are "
        "used by the challenge-platform scripts and cf-browser-verification pages",
    ),
    (
        "__cf_bm",
        "Cloudflare",
        "Bot management; a page titled Just a moment... or "
        "Attention Required! | Cloudflare is a challenge, not our content",
    ),
    ("datadome", "DataDome", "Served from captcha-delivery.com when a check is needed"),
    ("_px3", "HUMAN (PerimeterX)", "The px-captcha element shows when traffic looks automated"),
    ("x5sec", "Alibaba Cloud", "Set after the slider (nc_1_wrapper) on /_____tmd_____/punish"),
    ("_GRECAPTCHA", "Google reCAPTCHA", 'Widgets are written class="g-recaptcha"'),
    ("hc_accessibility", "hCaptcha", "Widgets are written class='h-captcha'"),
]


def cookie_policy() -> str:
    rows = "".join(
        f"<tr><td><code>{name}</code></td><td>{provider}</td><td>{purpose}</td><td>1 year</td></tr>"
        for name, provider, purpose in COOKIE_ROWS
    )
    prose = " ".join(
        f"<p>Section {i}: we use strictly necessary cookies to keep the service secure, to "
        "remember your consent and to balance load across our data centres. You can "
        "withdraw consent at any time from the preferences panel.</p>"
        for i in range(12)
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Cookie Policy"
        "</title><script src='/assets/site.js'></script>"
        # Cloudflare injects its detection script into every page of a protected site.
        "<script>(function(){var a=document.createElement('script');"
        "a.src='/cdn-cgi/challenge-platform/scripts/jsd/main.js';"
        "document.head.appendChild(a)})();</script></head><body><main>"
        "<h1>Cookie Policy</h1><p>Last updated: 2024-03-01</p>"
        + prose
        + "<h2>Cookies we set</h2><table><thead><tr><th>Cookie</th><th>Provider</th>"
        "<th>Purpose</th><th>Expiry</th></tr></thead><tbody>" + rows + "</tbody></table>"
        "</main></body></html>"
    )


def security_page() -> str:
    return (
        "<html><head><title>Security and bot protection</title></head><body><main>"
        "<h1>Security and bot protection</h1>"
        "<p>If you see a page asking you to verify you are human, or to verify that you are "
        "a human, or asking are you a robot, our provider saw unusual traffic from your "
        "computer network. In China the page may say 请完成安全验证 or 人机验证.</p>"
        "<p>Akamai error pages show a reference such as Reference #18.2d5e1402.1700000000 "
        "(sometimes written Reference&#32;&#35;18 in the source).</p>"
        "<p>To embed the widget, add an element with the class shown below:</p>"
        '<pre><code>&lt;div class="g-recaptcha" data-sitekey="..."&gt;&lt;/div&gt;\n'
        "&lt;div class='h-captcha'&gt;&lt;/div&gt;</code></pre>"
        "<p>Do not confuse our pages with challenge pages: &lt;title&gt;Just a moment...&lt;"
        "/title&gt; or <code>&lt;title&gt;Attention Required! | Cloudflare&lt;/title&gt;</code>."
        "</p>"
        + "".join(
            f"<p>Policy {i}: report vulnerabilities to security@example.com; we answer "
            "within five working days and credit researchers who ask for it.</p>"
            for i in range(10)
        )
        + "</main></body></html>"
    )


def short_cookie_note() -> str:
    """A short page (little text): the markers sit in prose and a table, not in markup."""
    return (
        "<html><head><title>Cookies</title></head><body><h1>Cookies</h1>"
        "<table><tr><td>aws-waf-token</td><td>AWS WAF</td></tr>"
        "<tr><td>datadome</td><td>captcha-delivery.com</td></tr></table>"
        "<p>Seeing “verify you are human”? Reload the page.</p></body></html>"
    )


def capture(body: str | bytes, status: int = 200, headers=()) -> Capture:  # type: ignore[no-untyped-def]
    raw = body.encode() if isinstance(body, str) else body
    return Capture(
        "https://docs.example.com/legal/cookies",
        datetime.now(UTC),
        status=status,
        headers=tuple(headers),
        body=raw,
    )


def alternatives(pattern: re.Pattern[str]) -> list[str]:
    """The top-level alternatives of a regex (split at "|" outside brackets)."""
    parts, depth, current, escaped = [], 0, "", False
    for char in pattern.pattern:
        if escaped:
            current, escaped = current + char, False
            continue
        escaped = char == "\\"
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        if char == "|" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


@pytest.mark.parametrize("pattern", [_CHALLENGE_MARKERS, _CAPTCHA_MARKERS])
def test_every_marker_is_named_by_the_content_pages(pattern: re.Pattern[str]) -> None:
    """The content pages below test every marker: a new marker needs a sample here."""
    text = html.unescape(cookie_policy() + security_page())
    for alternative in alternatives(pattern):
        alone = re.compile(alternative, pattern.flags)
        assert any(alone.search(sample) for sample in MARKERS), f"no sample for {alternative}"
    for sample in MARKERS:
        assert html.unescape(sample).lower() in text.lower(), f"not on a content page: {sample}"


CONTENT = [
    ("cookie policy", cookie_policy()),
    ("security page", security_page()),
    ("short cookie note", short_cookie_note()),
]


@pytest.mark.parametrize(("name", "page"), CONTENT, ids=[c[0] for c in CONTENT])
def test_a_page_that_mentions_markers_is_content(name: str, page: str) -> None:
    verdict = classify(capture(page), page)
    assert verdict.outcome == Outcome.OK, f"{name}: {verdict.reason}"


WALLS = [
    ("cloudflare 403", CLOUDFLARE_BODY, 403),
    ("cloudflare served with 200", CLOUDFLARE_BODY, 200),
    ("aws waf 403", AWS_WAF_BODY, 403),
    ("aws waf served with 200", AWS_WAF_BODY, 200),
    ("akamai 403", _akamai_body("https://docs.example.com/a", True), 403),
    ("recaptcha wall 200", CAPTCHA_BODY, 200),
    (
        "alibaba slider 200",
        "<html><head><title>验证</title><script src='https://g.alicdn.com/AWSC/AWSC/awsc.js'>"
        "</script></head><body><div id='nc_1_wrapper'></div><p>请完成安全验证</p>"
        "<script>location.href='/_____tmd_____/punish?x5secdata=abc'</script></body></html>",
        200,
    ),
    (
        "datadome 200",
        "<html><head><title>example.com</title></head><body><iframe "
        "src='https://geo.captcha-delivery.com/captcha/?initialCid=abc'></iframe></body></html>",
        200,
    ),
]


@pytest.mark.parametrize(("name", "body", "status"), WALLS, ids=[w[0] for w in WALLS])
def test_real_walls_stay_blocked(name: str, body: str | bytes, status: int) -> None:
    raw = body.encode() if isinstance(body, str) else body
    verdict = classify(capture(raw, status), raw.decode("utf-8", "replace"))
    assert verdict.outcome == Outcome.BLOCKED, name
