"""Turn a captured body into text: any encoding, never a crash.

Order of evidence: the HTTP ``charset``, then a byte-order mark, then the page's own
``<meta charset>`` / ``http-equiv`` declaration, then statistical detection
(charset-normalizer), then UTF-8. Undecodable bytes become U+FFFD in the text; the
raw bytes are kept untouched in the store, so nothing is lost.

Never silently, though. When more than 1% of the text would be U+FFFD under the
declared charset (a GBK page labelled UTF-8), the other evidence is tried and the
first encoding that reads every byte wins (``note`` says so). Whatever U+FFFD is left
is counted (``lost``) and said in ``note``; past that same share the text is
``lossy``: the check records the capture as ``incomplete`` rather than compare
garbled wording.

Labels are mapped the way browsers map them (WHATWG Encoding): ``gb2312``/``gbk`` are
decoded as GB18030, ``shift_jis`` as cp932, ``iso-8859-1``/``ascii`` as windows-1252.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# Browser-compatible supersets for legacy labels (WHATWG Encoding Standard).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "windows-31j": "cp932",
    "x-sjis": "cp932",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "utf8": "utf-8",
}
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_REFIT_SHARE = 0.01  # of the text undecodable: look for a charset that fits the bytes
_LOSSY_SHARE = 0.01  # of the text still undecodable: not a text to compare
_FEW_LOST = 8  # fewer undecodable characters than this are a stray byte, not a wrong charset
# Only the head of a page is searched for <meta charset>, like browsers (1024 bytes
# there; we allow more because vendor pages put long scripts first).
_META_SCAN_BYTES = 16384


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    source: str  # "http", "bom", "meta", "detected" or "default"
    replaced: bool  # True when some bytes could not be decoded and became U+FFFD
    lost: int = 0  # characters that became U+FFFD (undecodable bytes)
    note: str = ""  # what decoding could not do as declared, for the record

    @property
    def lossy(self) -> str:
        """Why the text is too garbled to compare, or "" (see the module's docstring)."""
        if self.lost <= max(_LOSSY_SHARE * len(self.text), _FEW_LOST):
            return ""
        return f"{self.note}: the text is not compared (the raw bytes are kept)"

    def parse_input(self, body: bytes) -> str | bytes:
        """Raw bytes for lxml when they are clean UTF-8 (faster); the decoded text otherwise."""
        if self.encoding == "utf-8" and not self.replaced:
            return body[3:] if body.startswith(codecs.BOM_UTF8) else body
        return self.text


def canonical_encoding(label: str | None) -> str | None:
    """Python codec name for an encoding label, or None if unknown.

    >>> canonical_encoding("GB2312"), canonical_encoding("Shift_JIS"), canonical_encoding("nope")
    ('gb18030', 'cp932', None)
    """
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _SUPERSETS.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header.

    >>> charset_from_content_type('text/html; charset="GBK"')
    'GBK'
    """
    if not content_type:
        return None
    match = _CHARSET_PARAM.search(content_type)
    return match.group(1) if match else None


def _bom(body: bytes) -> tuple[str, bytes] | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, body[len(bom) :]
    return None


def _detect(body: bytes) -> str | None:
    import charset_normalizer  # only for pages that declare nothing and are not UTF-8

    best = charset_normalizer.from_bytes(body[:65536]).best()
    return canonical_encoding(best.encoding) if best else None


def _meta_label(body: bytes) -> str | None:
    """The page's own ``<meta charset>`` / ``http-equiv`` declaration, if any."""
    # Imported here: bs4 costs ~0.1 s to import, and most pages declare their charset
    # in the HTTP header, so a small check run may never need it.
    from bs4.dammit import EncodingDetector

    declared = EncodingDetector.find_declared_encoding(
        body[:_META_SCAN_BYTES], is_html=True, search_entire_document=False
    )
    return canonical_encoding(declared)


def decode_body(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode a body to text using the best evidence available.

    >>> decode_body("维族".encode("gb18030"), "text/html; charset=gb2312").text
    '维族'
    >>> decode_body(b"\\xef\\xbb\\xbfok").source
    'bom'
    >>> d = decode_body(b"caf\\xc3\\xa9 \\xff", "text/html; charset=utf-8")
    >>> d.text, d.replaced
    ('café \\ufffd', True)
    """
    http_label = canonical_encoding(charset_from_content_type(content_type))
    bom = _bom(body)
    meta_label = None if http_label or bom else _meta_label(body)
    if http_label:
        encoding, source = http_label, "http"
        if bom:
            body = bom[1]
    elif bom:
        (encoding, body), source = bom, "bom"
    elif meta_label:
        encoding, source = meta_label, "meta"
    else:
        encoding, source = _strict_utf8_or_detect(body)
    if encoding.startswith("utf-16") or encoding.startswith("utf-32"):
        # A page that declares UTF-16 in a <meta> but has no BOM is really ASCII-compatible.
        encoding = encoding if source in ("bom", "http") else "utf-8"
    text = body.decode(encoding, errors="replace")
    lost = _lost(text, body, encoding)
    if lost > max(_REFIT_SHARE * len(text), _FEW_LOST):
        refit = _refit(body, encoding, declared_in_http=bool(http_label) and not bom)
        if refit is not None:
            better, better_source = refit
            note = (
                f"{lost} characters did not decode as {encoding} ({source}); "
                f"read as {better} ({better_source}), which fits every byte"
            )
            return Decoded(body.decode(better), better, better_source, False, 0, note)
    note = f"{lost} undecodable bytes in {encoding} ({source}) became U+FFFD" if lost else ""
    return Decoded(text, encoding, source, "\ufffd" in text, lost, note)


def _lost(text: str, body: bytes, encoding: str) -> int:
    """Characters that became U+FFFD, not counting any the page itself contains."""
    found = text.count("\ufffd")
    if found and encoding.startswith("utf"):
        found -= body.count("\ufffd".encode(encoding))
    return max(found, 0)


def _refit(body: bytes, encoding: str, declared_in_http: bool) -> tuple[str, str] | None:
    """An encoding that decodes every byte, from the other evidence; None if none does."""
    candidates = []
    if declared_in_http:
        candidates.append((_meta_label(body), "meta"))
    candidates.append((_detect(body), "detected"))
    for candidate, where in candidates:
        if candidate is None or candidate == encoding:
            continue
        try:
            body.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
        return candidate, where
    return None


def _strict_utf8_or_detect(body: bytes) -> tuple[str, str]:
    # Valid UTF-8 is by far the most likely answer and cheap to verify.
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        detected = _detect(body)
        if detected:
            return detected, "detected"
        return "utf-8", "default"
    return "utf-8", "default"
