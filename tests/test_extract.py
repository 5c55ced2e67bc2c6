"""Extraction: visible text blocks in reading order, after the watch's rules."""

from __future__ import annotations

import pytest

from monitor.documents.document import Document
from monitor.documents.html import HTML_GENERATION, extract_html


def blocks(html: str, **rules: object) -> list[tuple[str, str]]:
    return [(b.kind, b.text) for b in extract_html(html, **rules).blocks]  # type: ignore[arg-type]


def test_reading_order_and_kinds() -> None:
    html = """<html><body><h1>Face API</h1><p>Detects <b>faces</b>.</p>
    <ul><li>age</li><li>gender<ul><li>male</li></ul></li></ul>
    <table><tr><th>Name</th><th>Type</th></tr><tr><td>age</td><td>int</td></tr></table>
    <pre>  curl -X POST \\
    https://x</pre></body></html>"""
    assert blocks(html) == [
        ("heading", "Face API"),
        ("text", "Detects faces."),
        ("item", "age"),
        ("item", "gender"),
        ("item", "male"),
        ("row", "Name | Type"),
        ("row", "age | int"),
        ("code", "  curl -X POST \\\n    https://x"),
    ]


def test_invisible_content_is_dropped() -> None:
    html = """<head><title>T</title><style>p{}</style></head><body><script>var a="<p>x</p>"</script>
    <noscript>enable js</noscript><template><p>tpl</p></template><p>kept</p>
    <input type="hidden" name="csrf" value="abc123"><!-- a comment --></body>"""
    assert blocks(html) == [("text", "kept")]


def test_heading_path_follows_levels() -> None:
    html = (
        "<h1>人脸属性</h1><h2>请求参数</h2><p>a</p><h2>返回参数</h2><h3>属性</h3><p>b</p>"
        "<h2>示例</h2><p>c</p>"
    )
    doc = extract_html(html)
    paths = {b.text: b.path for b in doc.blocks if b.kind == "text"}
    assert paths == {
        "a": ("人脸属性", "请求参数"),
        "b": ("人脸属性", "返回参数", "属性"),
        "c": ("人脸属性", "示例"),
    }


def test_select_exclude_and_ignore() -> None:
    html = """<nav>Menu</nav><main><p class="update">更新时间：2020-12-09 10:21:33</p>
    <p>正文 Last updated: 2024-01-01 here</p><div class="feedback">有帮助吗？</div></main>
    <footer>©</footer>"""
    assert blocks(
        html,
        select="main",
        exclude=[".feedback"],
        ignore=[r"^更新时间[:：].*$", r"Last updated: \d{4}-\d\d-\d\d"],
    ) == [
        ("text", "正文 here"),
    ]


def test_select_matching_nothing_is_reported() -> None:
    doc = extract_html("<p>text</p>", select="article.doc")
    assert doc == Document(title="", blocks=(), selected=False, generation=HTML_GENERATION)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("<p>Face  attributes\n list</p>", "<p>Face attributes list</p>"),
        ("<p>Face&nbsp;attributes</p>", "<p>Face attributes</p>"),
        ('<p class="a" id="b">x <span>y</span></p>', '<p id="b" class="c">x y</p>'),
        ("<p>是否戴眼镜、\n      是否微笑</p>", "<p>是否戴眼镜、是否微笑</p>"),
        ("<p>e\u0301</p>", "<p>\u00e9</p>"),  # NFC
        ("<p>zero\u200bwidth</p>", "<p>zerowidth</p>"),
    ],
)
def test_markup_and_whitespace_variants_extract_identically(before: str, after: str) -> None:
    assert extract_html(before) == extract_html(after)


def test_document_json_round_trip() -> None:
    doc = extract_html("<title>标题</title><h1>A</h1><p>是否是维族</p>")
    assert Document.from_json(doc.to_json()) == doc


@pytest.mark.parametrize("html", ["", "   ", "<?xml version='1.0' encoding='utf-8'?><p>x</p>"])
def test_odd_documents_do_not_crash(html: str) -> None:
    extract_html(html)


def test_utf8_bytes_and_text_extract_identically() -> None:
    """The fast bytes path must never change what a page says."""
    from pathlib import Path

    from monitor.documents.html import Prepared, prepare, walk

    pages = sorted((Path(__file__).parent / "corpus").glob("*/*.html"))
    assert len(pages) > 100
    for page in pages:
        raw = page.read_bytes()
        from_bytes: Prepared = prepare(raw, "main", (".feedback",), ())
        from_text: Prepared = prepare(raw.decode("utf-8"), "main", (".feedback",), ())
        assert from_bytes.fingerprint() == from_text.fingerprint(), page
        assert walk(from_bytes) == walk(from_text), page


def test_contains_selector_keeps_working_page_after_page() -> None:
    """lxml.cssselect's :contains() broke on every page after the first once its
    selector was cached (lxml 6.1); ours is plain XPath."""
    for i in range(5):
        html = f"<main><p>{i}: 是否是维族</p><p>other</p></main>"
        assert blocks(html, select="p:contains('维族')") == [("text", f"{i}: 是否是维族")]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        # Text in a row but in no cell: a browser shows it (moved before the table).
        (
            "<table><tr>lead<td>a</td>mid<td>c</td>end</tr></table>",
            [("text", "lead mid end"), ("row", "a | c")],
        ),
        (
            "<table><tr><span>是否是维族</span><td>a</td><td>c</td></tr></table>",
            [("text", "是否是维族"), ("row", "a | c")],
        ),
        (
            "<table><tr><span>note</span> removed soon<td>a</td></tr></table>",
            [("text", "note removed soon"), ("row", "a")],
        ),
        (
            "<table><tr><td>是否</td>是维族<td>c</td></tr></table>",
            [("text", "是维族"), ("row", "是否 | c")],
        ),
        # A cell with markup took in the text after it before generation 2; now the
        # text is loose like any other.
        (
            "<table><tr><td>a<b>b</b></td>mid<td>c</td></tr></table>",
            [("text", "mid"), ("row", "ab | c")],
        ),
        # Whitespace between cells is no text.
        ("<table><tr>\n <td>a</td>\n <td>c</td>\n</tr></table>", [("row", "a | c")]),
    ],
)
def test_text_in_a_row_outside_its_cells_is_kept(
    html: str, expected: list[tuple[str, str]]
) -> None:
    assert blocks(html) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        # Before generation 2 the heading took in the text after it, and that text
        # then came again as a block of its own (and in every heading path below).
        (
            "<div><h2>人脸属性</h2>是否是维族<p>x</p></div>",
            [("heading", "人脸属性"), ("text", "是否是维族"), ("text", "x")],
        ),
        ("<h1>A</h1>\n<h2>B</h2>tail", [("heading", "A"), ("heading", "B"), ("text", "tail")]),
    ],
)
def test_a_heading_holds_its_own_text_only(html: str, expected: list[tuple[str, str]]) -> None:
    assert blocks(html) == expected
    assert {b.path for b in extract_html(html).blocks if b.kind == "text"} <= {
        ("人脸属性",),
        ("A", "B"),
    }
