"""Markup skeletons: noise-only byte changes are recognised without a parse, and no
change that extraction can see ever hides behind an equal skeleton."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from lxml import etree

from monitor.documents.html import extract_html
from monitor.documents.skeleton import Scan, scan, tree_parts, verified

_PARSER = etree.HTMLParser(remove_comments=False, remove_pis=True, encoding="utf-8")

BASE = (
    '<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8">'
    '<meta name="csrf-token" content="tok-111"><title>人脸属性识别 - 文档</title>'
    '<link rel="stylesheet" href="/main.css?v=aaa"><style>p{color:red}</style>'
    '<script nonce="n1">window.__CTX__={"requestId":"r-111","at":"10:00"};</script>'
    "</head><body><!-- rendered at 10:00 by node-7 -->"
    '<nav class="menu"><a href="/">首页</a></nav>'
    "<main><h1>人脸属性识别</h1><p>支持识别：是否戴眼镜、是否是维族。</p>"
    "<table><tr><td>uygur</td><td>是否是维族</td></tr></table>"
    '<pre>curl -H "X-Id: 1" https://x</pre>'
    '<form><input type="hidden" name="csrf" value="tok-111"></form></main>'
    '<script src="/app.js?v=aaa" defer></script></body></html>'
)


def signature(page: str) -> str | None:
    found = scan(page.encode("utf-8"))
    return None if found is None else found.signature


def verified_signature(page: str) -> str | None:
    raw = page.encode("utf-8")
    return verified(scan(raw, collect=True), tree_parts(etree.fromstring(raw, _PARSER)))


# (what changed, old -> new substitution in BASE)
NOISE = [
    ("request id in an inline script", ("r-111", "r-222")),
    ("render time in a comment", ("rendered at 10:00 by node-7", "rendered at 10:05 by node-3")),
    ("cache-buster in a stylesheet link", ("/main.css?v=aaa", "/main.css?v=bbb")),
    ("cache-buster in a script src", ("/app.js?v=aaa", "/app.js?v=bbb")),
    ("CSRF token in a meta tag", ('content="tok-111"', 'content="tok-999"')),
    ("CSP nonce on a script", ('nonce="n1"', 'nonce="n2"')),
    ("hidden form token", ('value="tok-111"', 'value="tok-9"')),
    ("inline style", ("p{color:red}", "p{color:blue}")),
]

CHANGES = [
    ("a visible word removed", ("、是否是维族。", "。")),
    ("a table cell changed", ("<td>是否是维族</td>", "<td>ethnicity</td>")),
    ("the title changed", ("人脸属性识别 - 文档", "人脸识别 - 文档")),
    ("a code sample changed", ("X-Id: 1", "X-Id: 2")),
    ("a link target changed (not blanked: selectors may read it)", ('href="/"', 'href="/x"')),
    ("a class changed (selectors read classes)", ('class="menu"', 'class="main"')),
    ("a script became visible text", ("<script nonce", "<p>x</p><script nonce")),
    ("a comment turned into text", ("<!-- rendered", "<p>rendered</p><!-- rendered")),
    ("text added after a comment", ("node-7 -->", "node-7 -->新增")),
    (
        "an attribute added to a link",
        ('<link rel="stylesheet"', '<link rel="stylesheet" media="x"'),
    ),
    (
        "script content that can end the script is compared verbatim",
        ('"at":"10:00"};', '"at":"10:00"};document.write("</p>");'),
    ),
]


def test_base_page_is_verified() -> None:
    assert verified_signature(BASE) == signature(BASE) is not None


@pytest.mark.parametrize(("what", "edit"), NOISE, ids=[n for n, _ in NOISE])
def test_noise_keeps_the_skeleton(what: str, edit: tuple[str, str]) -> None:
    old, new = edit
    assert old in BASE
    noisy = BASE.replace(old, new)
    assert signature(noisy) == signature(BASE)
    assert verified_signature(noisy) == verified_signature(BASE)  # the new page verifies too
    assert extract_html(noisy, "main") == extract_html(BASE, "main")


@pytest.mark.parametrize(("what", "edit"), CHANGES, ids=[n for n, _ in CHANGES])
def test_other_changes_change_the_skeleton(what: str, edit: tuple[str, str]) -> None:
    old, new = edit
    assert old in BASE
    assert signature(BASE.replace(old, new)) != signature(BASE)


def test_rules_and_encoding_are_part_of_the_signature() -> None:
    raw = BASE.encode()
    a, b = scan(raw, "utf-8\x00main"), scan(raw, "utf-8\x00article")
    assert a is not None and b is not None and a.signature != b.signature


# Markup the scanner does not understand: it gives up, and the page is parsed.
GIVES_UP = [
    ("an unterminated comment", "<p>a</p><!-- open"),
    ("an abruptly closed comment", "<p>a</p><!-->b<!-- c -->"),
    ("a comment closed by --!>", "<p>a</p><!-- x --!> b -->"),
    ("a nested comment opener", "<p>a</p><!-- x <!-- y -->"),
    ("an unterminated script", "<p>a</p><script>var x"),
    ("a script tag with a quote in an attribute name", '<script a"b=1></script>'),
    ("plaintext", "<plaintext><p>a</p>"),
    ("CDATA", "<svg><![CDATA[x]]></svg>"),
    ("an unterminated title", "<title>x"),
]


@pytest.mark.parametrize(("what", "page"), GIVES_UP, ids=[n for n, _ in GIVES_UP])
def test_scanner_gives_up_on_odd_markup(what: str, page: str) -> None:
    assert scan(page.encode()) is None


# The scanner and the parser disagree here: the skeleton must not be trusted.
DISAGREE = [
    ("a comment opener inside an attribute", '<div title="<!--">visible --></div>'),
    ("a script opener inside an attribute", "<div title='<script>'>x</script></div>"),
    (
        "HTML5's double-escaped script",
        "<script><!--<script>a</script>b</script><p>c</p>",
    ),
]


@pytest.mark.parametrize(("what", "page"), DISAGREE, ids=[n for n, _ in DISAGREE])
def test_disagreement_with_the_parser_is_not_verified(what: str, page: str) -> None:
    assert verified_signature(page) is None


LEGACY_PAGE = (
    '<html><head><meta charset="{encoding}"><title>{phrase}</title>'
    '<script>var ctx={{"rid":"{rid}"}};</script><link href="/a.css?v={rid}"></head>'
    "<body><!-- at {rid} --><main><h1>{phrase}</h1><p>{phrase}、{word}</p></main></body></html>"
)


@pytest.mark.parametrize(
    ("encoding", "phrase", "word"),
    [
        ("gb18030", "是否是维族", "民族"),
        ("big5", "是否是維族", "民族"),
        ("cp932", "顔の属性", "民族"),
    ],
)
def test_legacy_cjk_encodings_are_scanned_as_bytes(encoding: str, phrase: str, word: str) -> None:
    """GB18030, Big5 and Shift_JIS never use a byte below 0x40 inside a character, so
    the scanner reads them as bytes; the pieces it compares are decoded like the page."""

    def page(rid: str = "1", text: str = word) -> tuple[str, bytes]:
        html = LEGACY_PAGE.format(encoding=encoding, phrase=phrase, word=text, rid=rid)
        return html, html.encode(encoding)

    text, raw = page()
    tree = etree.fromstring(text, etree.HTMLParser(remove_comments=False, remove_pis=True))
    found = scan(raw, encoding, collect=True, encoding=encoding)
    assert found is not None and verified(found, tree_parts(tree)) == found.signature
    assert scan(page(rid="2")[1], encoding) == Scan(found.signature)
    assert scan(page(text="")[1], encoding) != Scan(found.signature)


def test_encodings_the_scanner_cannot_read() -> None:
    from monitor.documents.skeleton import scannable

    assert [scannable(e) for e in ("utf-8", "GB2312", "Shift_JIS", "windows-1252")] == [True] * 4
    assert [scannable(e) for e in ("utf-16", "iso2022_jp", "hz", "utf-7", "nope")] == [False] * 5


def test_raw_text_elements_hide_no_tokens() -> None:
    page = "<title><!-- t --></title><textarea><script>x</script></textarea><p>a</p>"
    assert verified_signature(page) == signature(page) is not None


_ALPHABET = ["<", ">", '"', "'", "/", "-", "!", "=", " ", "a", "维", "script", "<!--", "-->"]


def _mutate(page: str, rng: random.Random) -> str:
    position = rng.randrange(len(page))
    roll = rng.random()
    if roll < 0.4:  # insert
        return page[:position] + rng.choice(_ALPHABET) + page[position:]
    if roll < 0.7:  # delete a few characters
        return page[:position] + page[position + rng.randint(1, 4) :]
    return page[:position] + rng.choice(_ALPHABET) + page[position + 1 :]  # replace


# Markup a scanner could get wrong: upper case, CRLF, conditional comments, a script
# with "<" in it, raw text elements, foreign content, unquoted attributes, implied ends.
ODD_BASE = (
    '<!-- top -->\r\n<!DOCTYPE html>\r\n<HTML><HEAD><META CHARSET="utf-8">'
    "<TITLE>Face &amp; 人脸</TITLE>"
    '<!--[if IE]><link rel="stylesheet" href="/ie.css"><![endif]-->'
    '<script type=\'application/json\' id=ctx>{"rid":"a1","html":"\\u003cp"}</script>'
    '<STYLE media=all>a>b{color:red}</STYLE><base href="https://x/"></HEAD>\r\n'
    '<BODY class=doc><noscript><img src="/p.gif?r=1" alt="track"><p>Enable JS</p></noscript>'
    '<svg width="10"><title>icon</title><path d="M0 0"/></svg>'
    "<template><p>tpl</p></template><main id=m><H1>人脸属性</H1>"
    "<p>支持：是否是维族<br>第二行</p><textarea name=t><b>raw</b></textarea>"
    '<iframe src="/embed?x=1"><p>fallback</p></iframe>'
    "<ul><li>a<li>b</ul><table><tr><td>uygur<td>是否是维族</table>"
    '<input type=hidden name=csrf value="tok-1"><select><option>o1</select>'
    "<script>for(var i=0;i<3;i++){x(i>1)}</script></main></BODY></HTML>\r\n<!-- end -->"
)


@pytest.mark.parametrize("base", [BASE, ODD_BASE], ids=["docs-page", "odd-markup"])
def test_equal_verified_skeletons_mean_equal_extraction(base: str) -> None:
    """Seeded fuzz: whenever a mutated page keeps a verified page's skeleton, every
    rule set extracts the same document from both. A counter-example would be a
    change that the skeleton test hides, the one thing it must never do."""
    rng = random.Random(20201217)
    reference = verified_signature(base)
    assert reference is not None
    rules = [
        {},
        {"select": "main"},
        {"select": "main", "exclude": ["table"]},
        {"select": "main", "exclude": ["p:empty", "li:first-child"]},
        {"select": "p:contains('维族'), td"},  # reads text, after blanked parts are gone
    ]
    expected = [extract_html(base, **r) for r in rules]  # type: ignore[arg-type]
    kept = 0
    for _ in range(3000):
        page = base
        for _ in range(rng.randint(1, 3)):
            page = _mutate(page, rng)
        if signature(page) != reference:
            continue
        kept += 1
        for rule, document in zip(rules, expected, strict=True):
            assert extract_html(page, **rule) == document, (rule, page)  # type: ignore[arg-type]
    assert kept > 50  # the fuzz did reach pages with the same skeleton


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per page the pipeline parses (the skeleton test skips the parse)."""
    import monitor.check as pipeline

    calls: list[int] = []
    real = pipeline.extract_unless_known

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "extract_unless_known", counting)
    return calls


def test_check_skips_the_parse_for_noise_and_still_sees_edits(
    tmp_path, site, cli, parses: list[int]
) -> None:
    """Through ``monitor check``: a noisy recapture is recorded (new raw bytes, kept as
    evidence) without a parse and without an event; an edit after it is reported."""
    from conftest import pages_watchlist

    path = pages_watchlist(tmp_path / "w.yaml", site, ["/face"], extra="    select: main\n")
    site.set("/face", BASE)
    assert "changed 0" in cli("check", "--watchlist", str(path)).out
    assert len(parses) == 1

    site.set("/face", BASE.replace("r-111", "r-222").replace("?v=aaa", "?v=bbb"))
    assert "checked 1, changed 0" in cli("check", "--watchlist", str(path)).out
    assert len(parses) == 1  # recognised from the bytes

    site.set("/face", BASE.replace("r-111", "r-333").replace("、是否是维族", ""))
    assert "checked 1, changed 1" in cli("check", "--watchlist", str(path)).out
    assert len(parses) == 2
    change = cli("changes", "--format", "json").json()[-1]  # type: ignore[index]
    assert change["removed"] == ["、是否是维族"]

    history = cli("history", "p0")
    assert history.code == 0 and history.out.count("ok") >= 3  # three raw captures kept


CORPUS = sorted(
    p for p in (Path(__file__).parent / "corpus").iterdir() if (p / "case.yaml").is_file()
)


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_corpus_pages_verify_and_noise_is_recognised(case: Path) -> None:
    """On the real-page corpus: every page's skeleton verifies; the page with fresh
    noise in its comments and meta values keeps it; and an equal skeleton between a
    pair's before and after pages only ever comes with equal extraction."""
    before = (case / "before.html").read_text(encoding="utf-8")
    after = (case / "after.html").read_text(encoding="utf-8")
    reference = verified_signature(before)
    assert reference is not None
    noisy = re.sub(
        r"<!--(?![->])(?:(?!-->|<!--|--!>).)*-->", "<!-- rid 7f3a -->", before, flags=re.S
    )
    noisy = re.sub(r'(<meta\b[^>]*?\bcontent=")[^"]*(")', r"\g<1>tok-9\g<2>", noisy)
    assert signature(noisy) == reference
    assert extract_html(noisy, "main") == extract_html(before, "main")
    if signature(after) == reference:
        assert extract_html(after) == extract_html(before)


def test_a_gb18030_page_takes_the_skeleton_path_too(tmp_path, parses: list[int]) -> None:
    """The pipeline on GB18030 captures: noise is recognised from the bytes, an edit
    is still parsed and reported."""
    from datetime import UTC, datetime

    import monitor.check as pipeline
    from monitor.config.watchlist import Watch
    from monitor.model import Capture
    from monitor.store import Store

    watch = Watch(name="gb", url="http://127.0.0.1:9/gb", select="main")
    headers = (("content-type", "text/html; charset=gb18030"),)

    def capture(rid: str, word: str = "民族") -> Capture:
        html = LEGACY_PAGE.format(encoding="gb18030", phrase="是否是维族", word=word, rid=rid)
        return Capture(
            url=watch.url,
            fetched_at=datetime.now(UTC),
            status=200,
            final_url=watch.url,
            headers=headers,
            body=html.encode("gb18030"),
        )

    with Store(tmp_path / "data") as store:
        checker = pipeline.Checker(store, None)  # type: ignore[arg-type]
        try:
            checker.register([watch])
            assert checker.process(watch, capture("1")).outcome == "ok"
            noisy = checker.process(watch, capture("2"))
            assert (noisy.outcome, noisy.events, len(parses)) == ("ok", (), 1)
            edited = checker.process(watch, capture("3", word="种族"))
            assert edited.events == ("changed",) and len(parses) == 2
        finally:
            checker.close()
