"""Classification of a capture before anything is diffed: ok, gone, blocked, failing.

Pure functions on the capture's status, headers, URL and the head of its text. The
point is never to diff a bot wall, an error page or a "not found" page against the real
content, which would report that all the wording was removed.

Signals used (documented by the vendors or seen on their challenge pages):
Cloudflare ``cf-mitigated: challenge`` and its challenge-page scripts, AWS WAF
``x-amzn-waf-action``, Akamai "Access Denied ... Reference #", reCAPTCHA / hCaptcha /
DataDome / PerimeterX / Alibaba Cloud slider walls; soft 404s by their title or first
heading, or a redirect of a deep URL to the site root or a generic error page. A page
served normally (200) is a wall only when it looks like one: little visible text, and
the marker in its scripts, tags or title, not in its prose (a cookie policy lists
``aws-waf-token``; that makes it a document about walls, not a wall).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..model import Capture, ErrorClass, Outcome

_HEAD_CHARS = 30000  # challenge markers and titles sit near the top of a page

_WAF_HEADERS = (
    ("cf-mitigated", None),
    ("x-amzn-waf-action", None),
    ("x-datadome", None),
    ("x-px-block", None),
)
_CHALLENGE_MARKERS = re.compile(
    r"_cf_chl_opt|challenge-platform(?!/scripts/jsd)|cf-browser-verification|cf_chl_|"
    r"<title>\s*(?:Just a moment\.\.\.|Attention Required! \| Cloudflare)|"
    r"captcha-delivery\.com|px-captcha|/_____tmd_____/punish|nc_1_wrapper|"
    r"awswaf|aws-waf-token|Reference&#32;&#35;\d|Reference #\d+\.[0-9a-f]+\.\d+",
    re.IGNORECASE,
)
_CAPTCHA_MARKERS = re.compile(
    r"class=[\"'][^\"']*(?:g-recaptcha|h-captcha)|verify (?:that )?you are (?:a )?human|"
    r"are you a robot|unusual traffic from your (?:computer )?network|请完成安全验证|人机验证",
    re.IGNORECASE,
)
_ACCESS_DENIED = re.compile(r"<title>\s*Access Denied\s*</title>", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_NOT_FOUND = re.compile(
    r"\b404\b|not found|page (?:does not|doesn't|no longer) exist|"
    r"页面不存在|页面找不到|找不到(?:该|此)?页面|文档不存在|頁面不存在|找不到網頁|"
    r"ページが見つかりません|お探しのページ",
    re.IGNORECASE,
)
_LANDING_PATHS = frozenset(
    (
        "",
        "/",
        "/index.html",
        "/index.htm",
        "/home",
        "/404",
        "/404.html",
        "/error",
        "/error.html",
        "/notfound",
        "/not-found",
        "/en",
        "/en/",
        "/zh",
        "/zh/",
        "/cn",
        "/cn/",
    )
)
_SMALL_PAGE = 60000  # a captcha wall on a 200 is a small page, not a long document
_WALL_TEXT_CHARS = 1500  # a wall says a sentence or two; a document says much more
# Where a wall keeps its markers: scripts, the title, and tags (their attributes).
_MARKUP = re.compile(
    r"<script\b[^>]*>.*?</script\s*>|<title\b[^>]*>.*?</title\s*>|<!--.*?-->|<[^>]*>",
    re.IGNORECASE | re.DOTALL,
)
_INVISIBLE = re.compile(
    r"<(script|style|noscript|template|title)\b[^>]*>.*?</\1\s*>|<!--.*?-->",
    re.IGNORECASE | re.DOTALL,
)
_WIDGET = re.compile(r"<form\b|<iframe\b|captcha", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_HTML_OPEN = re.compile(rb"<html[\s>]", re.IGNORECASE)
_HTML_CLOSE = re.compile(rb"</html\s*>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reason: str = ""


def classify(capture: Capture, text: str) -> Verdict:
    """What a capture is, from its status, headers, URL and decoded text.

    >>> from datetime import datetime, UTC
    >>> c = Capture("https://x/a", datetime.now(UTC), status=403,
    ...             headers=(("cf-mitigated", "challenge"),))
    >>> classify(c, "<title>Just a moment...</title>")
    Verdict(outcome=<Outcome.BLOCKED: 'blocked'>, reason='cf-mitigated: challenge')
    """
    if capture.error_class is not None:
        outcome = (
            Outcome.TRANSIENT if capture.error_class == ErrorClass.TRANSIENT else Outcome.ERROR
        )
        return Verdict(outcome, capture.error or str(capture.error_class))
    status = capture.status or 0
    head = text[:_HEAD_CHARS]
    blocked = _block_signal(capture, head, status)
    if blocked:
        return Verdict(Outcome.BLOCKED, blocked)
    if status == 304:
        return Verdict(Outcome.NOT_MODIFIED)
    if status in (404, 410):
        return Verdict(Outcome.GONE, f"HTTP {status}")
    if status in (401, 403, 451):
        return Verdict(Outcome.BLOCKED, f"HTTP {status}: access refused")
    if status == 429 or status >= 500:
        return Verdict(Outcome.TRANSIENT, f"HTTP {status}")
    if not 200 <= status < 300:
        return Verdict(Outcome.ERROR, f"HTTP {status}")
    if _truncated(capture.body):
        return Verdict(
            Outcome.TRANSIENT,
            "truncated: the HTML stops before </html> (short body or a "
            "Content-Length that does not match)",
        )
    soft = _soft_404(capture, head)
    if soft:
        return Verdict(Outcome.GONE, soft)
    return Verdict(Outcome.OK)


def _block_signal(capture: Capture, head: str, status: int) -> str:
    for name, _ in _WAF_HEADERS:
        value = capture.header(name)
        if value is not None:
            return f"{name}: {value}"
    if status in (403, 429, 503):  # refused: any marker says whose wall it is
        marker = _CHALLENGE_MARKERS.search(head)
        if marker:
            return f"challenge page marker {marker.group(0)!r}"
        if _ACCESS_DENIED.search(head):
            return "Access Denied page"
        captcha = _CAPTCHA_MARKERS.search(head)
        if captcha and len(capture.body) < _SMALL_PAGE:
            return f"captcha wall marker {captcha.group(0)!r}"
        return ""
    return _wall_served_as_page(capture, head)


def _wall_served_as_page(capture: Capture, head: str) -> str:
    """A challenge or captcha wall answered with 200: only if the page looks like one.

    Cookie policies, security pages and the API docs of these very products name the
    markers (``aws-waf-token`` in a cookie table): a page with a document's worth of
    visible text is content, and a challenge marker counts only where a wall has it,
    in a script, a tag's attributes or the title, never in prose or a table cell. A
    captcha sentence ("verify you are human") counts only next to a form, an iframe or
    a captcha widget in the markup.
    """
    if len(capture.body) >= _SMALL_PAGE or _visible_chars(head) > _WALL_TEXT_CHARS:
        return ""
    markup = _markup_spans(head)
    marker = _in_markup(_CHALLENGE_MARKERS, head, markup)
    if marker:
        return f"challenge page marker {marker!r}"
    captcha = _CAPTCHA_MARKERS.search(head)
    if captcha and _in_markup(_WIDGET, head, markup):
        return f"captcha wall marker {captcha.group(0)!r}"
    return ""


def _visible_chars(html: str) -> int:
    """About how many characters a reader sees (no scripts, styles, tags or spaces)."""
    text = _TAGS.sub(" ", _INVISIBLE.sub(" ", html))
    return len(_SPACE.sub("", text))


def _markup_spans(html: str) -> list[tuple[int, int]]:
    return [match.span() for match in _MARKUP.finditer(html)]


def _in_markup(pattern: re.Pattern[str], html: str, spans: list[tuple[int, int]]) -> str:
    """The first match of ``pattern`` inside a script, a tag or the title, or ""."""
    starts = [start for start, _ in spans]
    for match in pattern.finditer(html):
        at = bisect_right(starts, match.start()) - 1
        if at >= 0 and match.start() < spans[at][1]:
            return match.group(0)
    return ""


def _truncated(body: bytes) -> bool:
    """A page that opens <html> but never closes it was cut off in transit.

    httpx already rejects a body shorter than its Content-Length; this catches a
    Content-Length that is too small, which silently cuts the page short.
    """
    return bool(_HTML_OPEN.search(body[:2048])) and not _HTML_CLOSE.search(body[-2048:])


def _soft_404(capture: Capture, head: str) -> str:
    for pattern, where in ((_TITLE, "title"), (_H1, "first heading")):
        match = pattern.search(head)
        if match:
            words = _TAGS.sub("", match.group(1)).strip()
            if _NOT_FOUND.search(words) and len(words) < 120:
                return f"soft 404: {where} says {words!r}"
    requested, final = urlsplit(capture.url), urlsplit(capture.final_url or capture.url)
    deep_request = requested.path.rstrip("/") not in ("", "/") or bool(requested.query)
    if capture.redirects and deep_request and final.path.lower() in _LANDING_PATHS:
        return f"soft 404: redirected to the landing page {capture.final_url}"
    return ""


# Below this share of the reference text (of at least so many characters): "almost nothing".
_ALMOST_NOTHING_RATIO, _ALMOST_NOTHING_MIN_CHARS = 0.05, 200


def almost_nothing_left(chars: int, reference_chars: int) -> bool:
    """A page that had plenty of text now yields almost none: its select rule has most
    likely stopped matching (a ``selector_missing`` warning, never "all removed").

    >>> almost_nothing_left(5, 1000), almost_nothing_left(500, 1000), almost_nothing_left(1, 100)
    (True, False, False)
    """
    return (
        reference_chars >= _ALMOST_NOTHING_MIN_CHARS
        and chars < reference_chars * _ALMOST_NOTHING_RATIO
    )
