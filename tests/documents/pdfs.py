"""Generate test PDFs with reportlab: flowing text over pages, an outline, CJK fonts.

The PDFs are built the way document tools build them: paragraphs flow from page to
page (so removing a line moves everything after it), headings are bookmarked into the
outline, every page has a running footer, and Chinese uses the un-embedded CID font
STSong-Light with its predefined CMap (UniGB-UCS2-H), as Chinese office PDFs often do.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
pdfmetrics.registerFont(UnicodeCIDFont("HeiseiMin-W3"))

FONTS = {"zh": "STSong-Light", "ja": "HeiseiMin-W3", "en": "Helvetica"}


@dataclass(frozen=True)
class Item:
    """A heading (level 1-3) or a paragraph (level 0)."""

    text: str
    level: int = 0


class _Outlined(SimpleDocTemplate):
    """Headings become outline entries (bookmarks), as word processors export them."""

    def afterFlowable(self, flowable: Any) -> None:
        level = getattr(flowable, "outline_level", 0)
        if level:
            key = f"h{id(flowable)}"
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(flowable.getPlainText(), key, level=level - 1)


def flowing_pdf(
    items: Sequence[Item], lang: str = "zh", footer: str = "第 {page} 页", title: str = ""
) -> bytes:
    """A PDF whose paragraphs flow over as many pages as they need."""
    font = FONTS[lang]
    body = ParagraphStyle(
        "body",
        fontName=font,
        fontSize=11,
        leading=16,
        spaceAfter=6,
        wordWrap="CJK" if lang in ("zh", "ja") else None,
    )
    headings = {
        level: ParagraphStyle(
            f"h{level}",
            parent=body,
            fontSize=20 - 3 * level,
            leading=26,
            spaceBefore=10,
            spaceAfter=8,
        )
        for level in (1, 2, 3)
    }
    story: list[Any] = []
    for item in items:
        paragraph = Paragraph(item.text, headings[item.level] if item.level else body)
        paragraph.outline_level = item.level  # type: ignore[attr-defined]
        story.append(paragraph)
    story.append(Spacer(1, 1 * mm))

    def on_page(canv: canvas.Canvas, _: Any) -> None:
        canv.saveState()
        canv.setFont(font, 9)
        canv.drawCentredString(A4[0] / 2, 12 * mm, footer.format(page=canv.getPageNumber()))
        canv.restoreState()

    out = io.BytesIO()
    document = _Outlined(out, pagesize=A4, title=title, author="monitor tests")
    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()


def scanned_pdf(pages: int = 2) -> bytes:
    """Pages holding only an image of text, as a scanner makes them: no text layer."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader

    out = io.BytesIO()
    canv = canvas.Canvas(out, pagesize=A4)
    for number in range(pages):
        image = Image.new("L", (400, 200), 255)
        ImageDraw.Draw(image).rectangle((20, 20 + number * 10, 380, 60), fill=0)
        canv.drawImage(ImageReader(image), 50, 500, width=400, height=200)
        canv.showPage()
    canv.save()
    return out.getvalue()


_ZH_TOPICS = (
    "人脸检测",
    "人脸比对",
    "属性分析",
    "活体检测",
    "图片存储",
    "访问控制",
    "日志审计",
    "数据删除",
)
_EN_TOPICS = (
    "face detection",
    "face comparison",
    "attribute analysis",
    "liveness checks",
    "image storage",
    "access control",
    "audit logs",
    "data deletion",
)


def policy(
    lang: str, extra: dict[int, str] | None = None, drop: frozenset[int] = frozenset()
) -> list[Item]:
    """A service agreement of about six pages: three chapters of numbered articles.

    ``extra`` appends a sentence to an article; ``drop`` leaves articles out.
    """
    extra = extra or {}
    chapters = (
        ("第一章 总则", "第二章 人脸属性", "第三章 数据处理")
        if lang == "zh"
        else ("Chapter 1 General", "Chapter 2 Face attributes", "Chapter 3 Data")
    )
    items = [Item("人脸识别服务协议" if lang == "zh" else "Face Recognition Service Agreement", 1)]
    for chapter, articles in zip(
        chapters, (range(1, 25), range(25, 55), range(55, 81)), strict=True
    ):
        items.append(Item(chapter, 2))
        for n in articles:
            if n in drop:
                continue
            topic = (_ZH_TOPICS if lang == "zh" else _EN_TOPICS)[n % len(_ZH_TOPICS)]
            if lang == "zh":
                text = (
                    f"第{n}条 关于{topic}：服务提供方依据相关法律法规提供本项功能，"
                    f"用户应当遵守本协议第{n}条的约定，并对其上传的图片内容承担相应责任。"
                )
            else:
                text = (
                    f"Article {n}. On {topic}: the provider offers this function under "
                    f"the applicable laws, and the user shall follow article {n} of this "
                    "agreement and is responsible for the images it uploads."
                )
            if n in extra:
                text += extra[n]
            items.append(Item(text))
    return items


def canvas_pdf(pages: Sequence[Sequence[tuple[float, float, str, float, str]]]) -> bytes:
    """Text placed by hand: (x, y, font key, size, text) per string, one list per page.

    A text of one character per string places glyph by glyph, as many CJK PDFs do.
    """
    out = io.BytesIO()
    canv = canvas.Canvas(out, pagesize=A4)
    for strings in pages:
        for x, y, lang, size, text in strings:
            canv.setFont(FONTS[lang], size)
            canv.drawString(x, y, text)
        canv.showPage()
    canv.save()
    return out.getvalue()


def glyph_by_glyph(
    x: float, y: float, text: str, size: float = 11, lang: str = "zh"
) -> list[tuple[float, float, str, float, str]]:
    return [(x + i * size * 1.05, y, lang, size, ch) for i, ch in enumerate(text)]


def raw_pdf(content: bytes, inflate_to: int = 0) -> bytes:
    """A one-page PDF written by hand, its content stream Flate-compressed; with
    ``inflate_to``, the stream is padded with spaces to that many bytes (a 300 MB stream
    compresses to about 300 KB: what a decompression bomb looks like)."""
    packer = zlib.compressobj(9)
    stream = packer.compress(content)
    chunk = b" " * (1 << 20)
    for _ in range(max(0, inflate_to - len(content)) >> 20):
        stream += packer.compress(chunk)
    stream += packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        table,
    )
    return bytes(out)


def text_ops(words: int) -> bytes:
    """A content stream setting ``words`` small words one by one across the page."""
    places = ((20 + i % 100 * 5.8, 20 + i // 100 * 7.5 % 760) for i in range(words))
    return b"".join(
        b"BT /F1 4 Tf %.1f %.1f Td (w%d) Tj ET\n" % (x, y, i) for i, (x, y) in enumerate(places)
    )
