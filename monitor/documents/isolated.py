"""PDFs are read in a child process, under a memory limit and a time limit.

pdfminer.six is pure Python and does what a PDF's bytes ask. A 285 KB file whose
content stream inflates to 300 MB took 614 MB of memory to read, so a 20 MB body could
exhaust the machine and get the check's whole process killed, the other pages it held
with it; and the layout analysis of a large page takes as long as it takes, holding the
GIL of the check's process. In a child, the memory is capped (``RLIMIT_AS``, where the
system has it), the time is bounded (the child is killed), and the check's threads go
on meanwhile.

Past either limit the capture is ``incomplete``: kept, never compared, said in its
event. :class:`PdfTooSlow` is a time budget, confirmed on a second check; running out
of memory (:class:`~.limits.TooLarge`) is a size limit, said at once.

The child is a fresh interpreter (``python -m monitor.documents.isolated``), not a
fork: the check runs threads, and a fork could inherit a lock another thread held. It
reads one JSON line (the ``ignore`` patterns and limits) and the PDF's bytes on stdin
and answers one JSON object on stdout: the document, or what stopped it. Starting it
costs about 0.3 s, paid only for a PDF whose bytes changed.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from ..config import defaults
from .document import Document
from .limits import TooLarge
from .patterns import PatternTimeout, ignore_budget, ignore_budget_now
from .pdf import NoTextLayer, PdfError, extract_pdf


class PdfTooSlow(Exception):
    """Reading a PDF took longer than its time limit."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(
            f"reading the PDF took longer than {seconds:g} s (PDF_SECONDS); its bytes are "
            "kept, its text is not compared"
        )


def read_pdf(
    body: bytes,
    ignore: Sequence[str] = (),
    seconds: float | None = None,
    memory_mb: int | None = None,
) -> Document:
    """:func:`~.pdf.extract_pdf` in a child process: its document, or what it raised;
    past a limit :class:`PdfTooSlow` (time) or :class:`~.limits.TooLarge` (memory)."""
    seconds = defaults.PDF_SECONDS if seconds is None else seconds
    memory_mb = defaults.PDF_MEMORY_MB if memory_mb is None else memory_mb
    header = {"ignore": list(ignore), "budget": ignore_budget_now(), "memory_mb": memory_mb}
    child = subprocess.Popen(
        [sys.executable, "-m", __name__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = child.communicate(json.dumps(header).encode() + b"\n" + body, timeout=seconds)
    except subprocess.TimeoutExpired:
        raise PdfTooSlow(seconds) from None
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    try:
        answer: dict[str, Any] = json.loads(out)
    except ValueError:  # no answer: killed (the kernel's OOM killer) or crashed
        if child.returncode == -9:
            raise TooLarge(_out_of_memory(memory_mb)) from None
        last = err.decode("utf-8", "replace").strip().splitlines()[-1:]  # a traceback's end
        raise PdfError(
            f"the PDF reader stopped without an answer (exit status {child.returncode}"
            + (f": {last[0][:300]}" if last else "")
            + ")"
        ) from None
    return _answered(answer, memory_mb)


def _answered(answer: dict[str, Any], memory_mb: int) -> Document:
    kind = answer["kind"]
    if kind == "document":
        return Document.from_json(answer["document"])
    if kind == "no_text_layer":
        raise NoTextLayer(answer["pages"], answer["images"])
    if kind == "pattern":
        raise PatternTimeout(tuple(answer["patterns"]), answer["budget"])
    if kind == "memory":
        raise TooLarge(_out_of_memory(memory_mb))
    raise PdfError(answer["message"])


def _out_of_memory(memory_mb: int) -> str:
    return (
        f"reading the PDF needed more than {memory_mb} MB of memory (PDF_MEMORY_MB); its "
        "bytes are kept, its text is not compared"
    )


def _child() -> dict[str, Any]:
    """Read one PDF from stdin under the limits its header line sets; the answer."""
    logging.disable(logging.CRITICAL)  # pdfminer's warnings on a damaged PDF: no flood
    header = json.loads(sys.stdin.buffer.readline())
    _limit_memory(header["memory_mb"])
    try:
        body = sys.stdin.buffer.read()
        with ignore_budget(header["budget"]):
            document = extract_pdf(body, header["ignore"])
        return {"kind": "document", "document": document.to_json()}
    except MemoryError:
        return {"kind": "memory"}
    except NoTextLayer as scan:
        return {"kind": "no_text_layer", "pages": scan.pages, "images": scan.images}
    except PatternTimeout as slow:
        return {"kind": "pattern", "patterns": list(slow.patterns), "budget": slow.budget}
    except PdfError as error:
        return {"kind": "error", "message": str(error)}
    except Exception as error:  # a fault of the reader's own: said as unreadable, not hidden
        failed = f"the PDF reader failed: {type(error).__name__}: {error}"
        return {"kind": "error", "message": failed}


def _limit_memory(memory_mb: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: the time limit only
        return
    limit = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):  # macOS refuses some address-space limits: time only
        return


if __name__ == "__main__":
    try:
        answer = _child()
    except MemoryError:
        answer = {"kind": "memory"}
    sys.stdout.buffer.write(json.dumps(answer).encode())  # ASCII: whatever the locale
