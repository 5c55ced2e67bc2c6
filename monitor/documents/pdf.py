"""PDF -> Document: the text layer in reading order, one block per paragraph, with pages.

Pure functions on the PDF's bytes, with pdfminer.six. It was chosen over pypdf for the
text quality in Chinese and Japanese: pdfminer groups characters into lines and text
boxes by their positions (layout analysis), so a page set glyph by glyph (common in
CJK PDFs) reads as one line, two columns read one after the other, and vertical text is
detected; pypdf's ``extract_text`` gave one character per line for glyph-positioned
Chinese and interleaved two columns line by line (tried on the same test PDFs). Both
read the predefined CJK CMaps (``UniGB-UCS2-H`` ...) that un-embedded CJK fonts use.
pdfminer is slower (pure Python layout analysis; figures in benchmarks/README.md).

Each block carries the page it starts on (``Block.page``), which is where a change is
located ("page 4"), and the heading path it sits under: the PDF's outline (bookmarks)
where it has one, otherwise text set clearly larger than the body text. Running
headers and footers (the same text, digits aside, at the top or bottom of most pages)
are dropped, and a paragraph cut by a page break is joined again, so a line removed
on page 3 does not show as changes on every later page.

A PDF without a text layer (a scan) raises :class:`NoTextLayer`: it is reported as
such, never as a document whose text was all removed.
"""

from __future__ import annotations

import io
import logging
import re
import statistics
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .document import Block, Document
from .patterns import ignore_rules
from .textnorm import clean, compare_key

# Text boxes this close to the top or bottom edge (a share of the page height) may be
# running headers or footers.
_MARGIN_SHARE = 0.08
_HEADING_RATIO = 1.2  # font size over the body text's, for a heading without an outline
_HEADING_MAX_CHARS = 120
_SENTENCE_END = re.compile(r"[.!?。！？：:;；)）」』\"”]$")
_DIGITS = re.compile(r"\d+")
_CJK_EDGE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")

log = logging.getLogger(__name__)


class PdfError(ValueError):
    """The bytes are not a readable PDF (damaged, truncated, or password-protected)."""


class NoTextLayer(ValueError):
    """The PDF has pages but no text to read: a scan or images of text.

    >>> str(NoTextLayer(pages=3, images=3))[:60]
    'the PDF has 3 pages but no text layer (3 images): it is prob'
    """

    def __init__(self, pages: int, images: int) -> None:
        self.pages = pages
        self.images = images
        super().__init__(
            f"the PDF has {pages} page{'s' if pages != 1 else ''} but no text layer "
            f"({images} image{'s' if images != 1 else ''}): it is probably a scan; its "
            "bytes are kept, but no wording can be compared"
        )


@dataclass
class _Box:
    """One text box of a page: its text, position and font size."""

    text: str
    page: int
    top: float  # distance from the page's top edge, as a share of its height
    bottom: float
    size: float


@dataclass
class _Page:
    number: int
    boxes: list[_Box] = field(default_factory=list)
    chars: int = 0
    images: int = 0


def extract_pdf(body: bytes, ignore: Sequence[str] = ()) -> Document:
    """The text of a PDF as blocks in reading order.

    Raises :class:`PdfError` for bytes that are not a readable PDF and
    :class:`NoTextLayer` for a PDF with pages but no text.
    """
    # Imported here: pdfminer costs ~0.1 s to import, and most runs watch no PDF.
    from pdfminer.pdfdocument import PDFDocument, PDFNoOutlines
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser
    from pdfminer.psparser import PSException

    try:
        parser = PDFParser(io.BytesIO(body))
        document = PDFDocument(parser)
        page_numbers: dict[int, int] = {
            page.pageid: number  # type: ignore[misc]
            for number, page in enumerate(PDFPage.create_pages(document), start=1)
        }
        pages = list(_read_pages(document))
        try:
            outline = list(_outline(document, page_numbers))
        except PDFNoOutlines:
            outline = []
        except (PSException, KeyError, TypeError, ValueError, AttributeError) as error:
            log.info("PDF outline unreadable, headings from font sizes: %s", error)
            outline = []
        title = _info_title(document)
    except PdfError:
        raise
    except (PSException, KeyError, TypeError, ValueError, AttributeError, AssertionError) as error:
        raise PdfError(f"not a readable PDF: {type(error).__name__}: {error}") from None
    except Exception as error:  # pdfminer raises plain Exceptions for some damage
        if type(error).__module__.startswith("pdfminer"):
            raise PdfError(f"not a readable PDF: {type(error).__name__}: {error}") from None
        raise
    if pages and not any(page.chars for page in pages):
        raise NoTextLayer(len(pages), sum(page.images for page in pages))
    boxes = _without_running_lines(pages)
    blocks = _blocks(boxes, outline, ignore)
    if not title:
        title = next((b.text for b in blocks if b.kind == "heading"), "")
    return Document(title=title, blocks=tuple(blocks), type="pdf")


def _read_pages(document: Any) -> Iterator[_Page]:
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    resources = PDFResourceManager(caching=True)
    # all_texts: text inside figures (form XObjects) too; detect_vertical: CJK set
    # top to bottom.
    device = PDFPageAggregator(resources, laparams=LAParams(all_texts=True, detect_vertical=True))
    interpreter = PDFPageInterpreter(resources, device)
    # Permission flags ("no copying") do not stop a reader; they do not stop us.
    for number, page in enumerate(PDFPage.create_pages(document), start=1):
        interpreter.process_page(page)
        yield _page(device.get_result(), number)


def _page(layout: Any, number: int) -> _Page:
    from pdfminer.layout import LTChar, LTImage, LTTextBox

    page = _Page(number)
    height = max(layout.height, 1.0)
    for element in _walk(layout):
        if isinstance(element, LTImage):
            page.images += 1
        elif isinstance(element, LTTextBox):
            sizes = [c.size for line in element for c in line if isinstance(c, LTChar)]
            text = clean(element.get_text())
            page.chars += len(sizes)
            if text:
                page.boxes.append(
                    _Box(
                        text=text,
                        page=number,
                        top=(layout.y1 - element.y1) / height,
                        bottom=(element.y0 - layout.y0) / height,
                        size=statistics.median(sizes) if sizes else 0.0,
                    )
                )
    return page


def _walk(container: Any) -> Iterator[Any]:
    """Text boxes and images in the layout's (reading) order, inside figures too."""
    from pdfminer.layout import LTFigure, LTImage, LTTextBox

    for element in container:
        if isinstance(element, LTTextBox | LTImage):
            yield element
        elif isinstance(element, LTFigure):
            yield from _walk(element)


def _without_running_lines(pages: list[_Page]) -> list[_Box]:
    """All boxes but running headers and footers (page numbers, document titles).

    A box near the top or bottom edge whose text, digits aside, is on at least half
    of the pages (and on two or more) is page furniture, not content.
    """

    def pattern(box: _Box) -> str | None:
        if box.top < _MARGIN_SHARE or box.bottom < _MARGIN_SHARE:
            return _DIGITS.sub("#", compare_key(box.text))
        return None

    counts: Counter[str] = Counter()
    for page in pages:
        counts.update({p for p in map(pattern, page.boxes) if p is not None})
    needed = max(2, (len(pages) + 1) // 2)
    running = {p for p, n in counts.items() if n >= needed}
    return [box for page in pages for box in page.boxes if pattern(box) not in running]


@dataclass(frozen=True)
class _OutlineEntry:
    level: int
    title: str
    page: int | None


def _outline(document: Any, page_numbers: dict[int, int]) -> Iterator[_OutlineEntry]:
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    for level, title, dest, action, _ in document.get_outlines():
        text = clean(decode_text(title) if isinstance(title, bytes) else str(title))
        if not text:
            continue
        target = dest
        if target is None and action is not None:
            action = resolve1(action)
            target = action.get("D") if isinstance(action, dict) else None
        yield _OutlineEntry(level, text, _dest_page(document, target, page_numbers))


def _dest_page(document: Any, dest: Any, page_numbers: dict[int, int]) -> int | None:
    from pdfminer.pdftypes import PDFObjRef, resolve1
    from pdfminer.psparser import PSLiteral

    dest = resolve1(dest)
    if isinstance(dest, bytes | str | PSLiteral):
        name = dest.name if isinstance(dest, PSLiteral) else dest
        try:
            dest = resolve1(document.get_dest(name))
        except (KeyError, TypeError, ValueError):
            return None
    if isinstance(dest, dict):
        dest = resolve1(dest.get("D"))
    if isinstance(dest, list) and dest and isinstance(dest[0], PDFObjRef):
        return page_numbers.get(dest[0].objid)
    return None


def _info_title(document: Any) -> str:
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    for info in document.info or []:
        title = resolve1(info.get("Title")) if isinstance(info, dict) else None
        if isinstance(title, bytes):
            return clean(decode_text(title))
        if isinstance(title, str):
            return clean(title)
    return ""


def _blocks(boxes: list[_Box], outline: list[_OutlineEntry], ignore: Sequence[str]) -> list[Block]:
    levels = _heading_levels(boxes, outline)
    pattern = ignore_rules(ignore)  # bounded time (patterns.py)
    blocks: list[Block] = []
    headings: list[tuple[int, str]] = []
    path: tuple[str, ...] = ()
    previous: _Box | None = None
    for index, box in enumerate(boxes):
        text = clean(pattern.sub("", box.text)) if pattern is not None else box.text
        if not text:
            continue
        level = levels.get(index)
        if level is not None:
            while headings and headings[-1][0] >= level:
                headings.pop()
            headings.append((level, text))
            path = tuple(h for _, h in headings)
            blocks.append(Block("heading", text, path, page=box.page))
        elif _page_break_between(previous, box) and blocks and _continues(blocks[-1], text):
            # A paragraph the page break cut in two: one block, on the page it starts.
            last = blocks[-1]
            blocks[-1] = Block(last.kind, _join(last.text, text), last.path, page=last.page)
        else:
            blocks.append(Block("text", text, path, page=box.page))
        previous = box
    return blocks


def _page_break_between(previous: _Box | None, box: _Box) -> bool:
    """Two boxes on consecutive pages, neither in the edge zone of page furniture."""
    return (
        previous is not None
        and box.page == previous.page + 1
        and previous.bottom >= _MARGIN_SHARE
        and box.top >= _MARGIN_SHARE
    )


def _continues(last: Block, text: str) -> bool:
    """Does ``text``, first on a new page, continue the paragraph ``last`` ended with?

    >>> _continues(Block("text", "the service may collect", page=2), "face images")
    True
    >>> _continues(Block("text", "本服务收集人脸图像。", page=2), "第二节")
    False
    """
    return last.kind == "text" and not _SENTENCE_END.search(last.text) and bool(text)


def _join(first: str, second: str) -> str:
    """Two pieces of one paragraph: no space between CJK characters.

    >>> _join("是否是", "维族"), _join("face", "images")
    ('是否是维族', 'face images')
    """
    if _CJK_EDGE.match(first[-1:]) and _CJK_EDGE.match(second[:1]):
        return first + second
    return f"{first} {second}"


def _heading_levels(boxes: list[_Box], outline: list[_OutlineEntry]) -> dict[int, int]:
    """Box index -> heading level: the outline's entries, else clearly larger text."""
    if outline:
        return _outline_headings(boxes, outline)
    sizes: Counter[float] = Counter()
    for box in boxes:
        sizes[round(box.size, 1)] += len(box.text)
    if not sizes:
        return {}
    body = sizes.most_common(1)[0][0]
    larger = sorted(
        {
            round(b.size, 1)
            for b in boxes
            if b.size >= body * _HEADING_RATIO and _heading_like(b.text)
        },
        reverse=True,
    )
    rank = {size: level for level, size in enumerate(larger, start=1)}
    return {
        i: rank[round(b.size, 1)]
        for i, b in enumerate(boxes)
        if round(b.size, 1) in rank and _heading_like(b.text)
    }


def _heading_like(text: str) -> bool:
    return len(text) <= _HEADING_MAX_CHARS and not _SENTENCE_END.search(text.rstrip(":："))


def _outline_headings(boxes: list[_Box], outline: list[_OutlineEntry]) -> dict[int, int]:
    """Boxes whose text is an outline entry's title, on the entry's page if known."""
    wanted: dict[tuple[int | None, str], int] = {}
    for entry in outline:
        wanted.setdefault((entry.page, compare_key(entry.title)), entry.level)
        wanted.setdefault((None, compare_key(entry.title)), entry.level)
    levels: dict[int, int] = {}
    used: set[tuple[int | None, str]] = set()
    for index, box in enumerate(boxes):
        key = compare_key(box.text)
        for candidate in ((box.page, key), (None, key)):
            if candidate in wanted and candidate not in used:
                levels[index] = wanted[candidate]
                used.add((box.page, key))
                used.add((None, key))
                break
    return levels
