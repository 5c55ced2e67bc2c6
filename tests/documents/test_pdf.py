"""PDF extraction and comparison on PDFs generated here (tests/documents/pdfs.py).

The documents flow over five to seven pages with an outline and a running footer; a
sentence or an article removed on page 3 must be reported exactly, on page 3, under its
chapter, and nothing else may change although every later page's layout moved.
"""

from __future__ import annotations

import re

import pytest

from monitor.analysis.compare import compare
from monitor.analysis.flag import flag_terms
from monitor.documents import is_pdf
from monitor.documents.document import Document
from monitor.documents.pdf import NoTextLayer, PdfError, extract_pdf

from .pdfs import canvas_pdf, flowing_pdf, glyph_by_glyph, policy, scanned_pdf

FOOTERS = {"zh": "第 {page} 页", "en": "Page {page}"}
SENTENCES = {
    "zh": "人脸属性包括是否是维族。",
    "en": " Attributes include whether a person is Uyghur.",
}
TERMS = {"zh": ["维族"], "en": ["Uyghur"]}
CHAPTER_2 = {"zh": "第二章人脸属性", "en": "Chapter 2 Face attributes"}


def pdf(lang: str, **changes: object) -> bytes:
    return flowing_pdf(policy(lang, **changes), lang=lang, footer=FOOTERS[lang])  # type: ignore[arg-type]


def article_on_page_3(lang: str) -> int:
    """The number of an article in the middle of page 3."""
    on_page_3 = [b for b in extract_pdf(pdf(lang)).blocks if b.page == 3 and b.kind == "text"]
    middle = on_page_3[len(on_page_3) // 2].text
    return int(re.search(r"\d+", middle).group())  # type: ignore[union-attr]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sentence_removed_on_page_3(lang: str) -> None:
    article = article_on_page_3(lang)
    before = extract_pdf(pdf(lang, extra={article: SENTENCES[lang]}))
    after = extract_pdf(pdf(lang))
    assert max(b.page for b in before.blocks) >= 5
    result = compare(before, after)
    assert [f.text for f in result.removed] == [SENTENCES[lang].strip()]
    assert [f.page for f in result.removed] == [3]
    assert result.removed[0].path[-1] == CHAPTER_2[lang]
    assert result.added == () and result.moved == ()
    flags = flag_terms(before.text, after.text, TERMS[lang])
    assert [(f.term, f.direction) for f in flags] == [(TERMS[lang][0], "removed")]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_article_removed_on_page_3(lang: str) -> None:
    article = article_on_page_3(lang)
    before, after = extract_pdf(pdf(lang)), extract_pdf(pdf(lang, drop=frozenset({article})))
    result = compare(before, after)
    assert len(result.removed) == 1 and not result.added
    assert re.search(rf"(?<!\d){article}(?!\d)", result.removed[0].text)
    assert result.removed[0].page == 3
    assert result.removed[0].to_dict()["page"] == 3


def test_regenerated_pdf_reads_the_same() -> None:
    """New bytes (creation date, document ID) with the same text: the same Document."""
    first, second = pdf("zh"), pdf("zh")
    assert extract_pdf(first).to_json() == extract_pdf(second).to_json()


def test_outline_headings_footers_and_title() -> None:
    document = extract_pdf(pdf("zh"))
    headings = [(b.text, len(b.path)) for b in document.blocks if b.kind == "heading"]
    assert headings == [
        ("人脸识别服务协议", 1),
        ("第一章总则", 2),
        ("第二章人脸属性", 2),
        ("第三章数据处理", 2),
    ]
    assert not any("页" in b.text and len(b.text) < 8 for b in document.blocks)  # footers
    assert document.title == "人脸识别服务协议" and document.type == "pdf"
    assert Document.from_json(document.to_json()) == document


def test_glyph_by_glyph_cjk_and_two_columns() -> None:
    """Why pdfminer: CJK placed one glyph at a time, and columns, read as text."""
    body = canvas_pdf(
        [
            [
                *glyph_by_glyph(72, 760, "逐字定位的文本：是否是维族"),
                (72, 700, "zh", 11, "左栏第一行内容"),
                (320, 700, "zh", 11, "右栏第一行内容"),
                (72, 685, "zh", 11, "左栏第二行内容"),
                (320, 685, "zh", 11, "右栏第二行内容"),
                (72, 600, "ja", 11, "日本語のテキスト：ウイグル族"),
            ]
        ]
    )
    texts = [b.text for b in extract_pdf(body).blocks]
    assert texts == [
        "逐字定位的文本：是否是维族",
        "左栏第一行内容左栏第二行内容",
        "右栏第一行内容右栏第二行内容",
        "日本語のテキスト：ウイグル族",
    ]


def test_headings_by_size_without_outline() -> None:
    body = canvas_pdf(
        [
            [
                (72, 780, "en", 20, "Data Processing Terms"),
                (72, 740, "en", 11, "The provider stores images for seven days."),
                (72, 700, "en", 15, "Deletion"),
                (72, 670, "en", 11, "Images are deleted after analysis."),
            ]
        ]
    )
    blocks = extract_pdf(body).blocks
    assert [(b.kind, b.path) for b in blocks] == [
        ("heading", ("Data Processing Terms",)),
        ("text", ("Data Processing Terms",)),
        ("heading", ("Data Processing Terms", "Deletion")),
        ("text", ("Data Processing Terms", "Deletion")),
    ]


def test_scan_without_text_layer_is_reported_not_empty() -> None:
    with pytest.raises(NoTextLayer) as raised:
        extract_pdf(scanned_pdf(pages=3))
    assert (raised.value.pages, raised.value.images) == (3, 3)
    assert "no text layer" in str(raised.value)


def test_ignore_rules_apply() -> None:
    body = canvas_pdf([[(72, 760, "en", 11, "Version 2020-12-01 of the terms")]])
    assert extract_pdf(body, ignore=[r"\d{4}-\d\d-\d\d"]).text == "Version of the terms"


BAD_PDFS = [
    ("not a PDF at all", b"<html><body>not a pdf</body></html>"),
    ("empty", b""),
    ("header only", b"%PDF-1.7\n"),
    ("garbage after the header", b"%PDF-1.4\n" + bytes(range(256)) * 8),
]


@pytest.mark.parametrize(("name", "body"), BAD_PDFS, ids=[n for n, _ in BAD_PDFS])
def test_unreadable_pdf_is_a_clear_error(name: str, body: bytes) -> None:
    with pytest.raises(PdfError, match="not a readable PDF"):
        extract_pdf(body)


def test_truncated_pdf_is_not_read_as_less_text() -> None:
    """A download cut in half must not read as half the wording removed."""
    whole = pdf("en")
    try:
        document = extract_pdf(whole[: len(whole) // 2])
    except PdfError:
        return
    assert document.text == extract_pdf(whole).text  # pdfminer recovered it all


def test_magic_bytes() -> None:
    assert is_pdf(pdf("en")) and not is_pdf(b'{"openapi": "3.0.0"}')
