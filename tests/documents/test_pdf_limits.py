"""PDFs are read in a child process with a memory and a time limit (documents/isolated.py).

pdfminer.six does what a PDF's bytes ask: a 300 KB file can inflate to 300 MB, and
reading it took over 600 MB of memory in the check's own process. In the child, past
the memory limit the capture is ``incomplete`` (a size limit, said at once), past the
time limit too (a time budget, confirmed on a second check); below both, the child's
document is the one ``extract_pdf`` gives in-process.
"""

from __future__ import annotations

import time

import pytest

from monitor.documents import read_document
from monitor.documents.isolated import PdfTooSlow, read_pdf
from monitor.documents.limits import SIZE_LIMIT, TIME_BUDGET, TooLarge
from monitor.documents.patterns import PatternTimeout, ignore_budget
from monitor.documents.pdf import NoTextLayer, PdfError, extract_pdf
from monitor.model import Outcome

from .pdfs import flowing_pdf, policy, raw_pdf, scanned_pdf, text_ops

BOMB = raw_pdf(b"BT /F1 12 Tf 72 700 Td (hello) Tj ET ", inflate_to=300 << 20)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_child_reads_what_extract_pdf_reads(lang: str) -> None:
    body = flowing_pdf(policy(lang))
    assert read_pdf(body) == extract_pdf(body)


def test_the_child_raises_what_extract_pdf_raises() -> None:
    with pytest.raises(NoTextLayer) as scan:
        read_pdf(scanned_pdf(pages=2))
    assert (scan.value.pages, scan.value.images) == (2, 2)
    with pytest.raises(PdfError, match="not a readable PDF"):
        read_pdf(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    with ignore_budget(0.0), pytest.raises(PatternTimeout) as slow:  # the budget goes along
        read_pdf(raw_pdf(b"BT /F1 12 Tf 72 700 Td (" + b"a" * 3000 + b"!) Tj ET"), ["(a+)+$"])
    assert slow.value.patterns == ("(a+)+$",)


def test_a_decompression_bomb_stops_at_the_memory_limit() -> None:
    assert len(BOMB) < 400_000
    started = time.monotonic()
    with pytest.raises(TooLarge, match="more than 256 MB of memory"):
        read_pdf(BOMB, memory_mb=256)
    assert time.monotonic() - started < 30


def test_past_a_limit_the_document_is_incomplete_not_an_error(monkeypatch) -> None:
    monkeypatch.setattr("monitor.config.defaults.PDF_MEMORY_MB", 256)
    big = read_document("pdf", BOMB)
    assert (big.outcome, big.detail["limit"]) == (Outcome.INCOMPLETE, SIZE_LIMIT)  # type: ignore[union-attr]
    monkeypatch.setattr("monitor.config.defaults.PDF_SECONDS", 0.2)
    slow = read_document("pdf", raw_pdf(text_ops(20_000)))
    assert (slow.outcome, slow.detail["limit"]) == (Outcome.INCOMPLETE, TIME_BUDGET)  # type: ignore[union-attr]
    assert "longer than 0.2 s" in slow.reason  # type: ignore[union-attr]


def test_the_time_limit_kills_the_child() -> None:
    started = time.monotonic()
    with pytest.raises(PdfTooSlow):
        read_pdf(raw_pdf(text_ops(20_000)), seconds=0.2)
    assert time.monotonic() - started < 5
