"""Markup skeletons: is a new capture the old page plus noise, without parsing it?

Many documentation servers change a page's bytes on every request while its text stays
the same: a request id in an inline script, a render time in a comment, a cache-buster
in a stylesheet link, a CSRF token in a ``<meta>``. Parsing such a page only to find the
same text is most of what a check costs, so this module decides it from the bytes.

A page's *skeleton* is its bytes with the content of the places that extraction never
reads blanked out: inline ``<script>`` and ``<style>`` bodies, comments, and the quoted
attribute values of the elements that extraction drops before any rule runs (``link``,
``meta``, ``base``, ``input``, ``script``, ``style``). Two pages with the same skeleton
differ only in those places, so they have the same visible text under any select,
exclude and ignore rules (none can see them: they are stripped before the rules run).

That holds only if this scanner cuts the page where the HTML parser does, and a
scanner is not a parser. So it is checked, never assumed: when a page is parsed in
full, :func:`tree_parts` reads the same pieces from lxml's tree, and the skeleton is
trusted (``verified``) only when both agree on every script, style, comment and
attribute value, in order. A page whose skeleton equals a verified one shares all the
bytes the parser's state depends on; the places that differ are blanked only when
their content cannot move the parser out of them (no ``</`` or ``<!`` in a script,
no ``</`` in a style, no early or odd close in a comment, and a quoted attribute value
ends at its quote). Anything else is kept verbatim in the skeleton, and markup the
scanner does not understand makes it give up (``None``): the page is then parsed.

>>> old = b'<html><head><script>var id="a1"</script></head><body><p>Hello</p></body></html>'
>>> new = b'<html><head><script>var id="b2"</script></head><body><p>Hello</p></body></html>'
>>> scan(old).signature == scan(new).signature
True
>>> scan(new.replace(b"Hello", b"Hi")).signature == scan(old).signature
False
"""

from __future__ import annotations

import codecs
import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

VERSION = b"skeleton-1"  # part of every signature: a new scanner never matches an old one

_WS = rb"\t\n\f\r "
# One attribute of a start tag, strictly: a name without quotes or '<' in it, and an
# optional value, quoted or not. A tag that does not fit makes the scanner give up.
_ATTRIBUTE = (
    rb"[" + _WS + rb"/]+[^" + _WS + rb"/>=\"'<][^" + _WS + rb"/>=\"'<]*"
    rb"(?:[" + _WS + rb"]*=[" + _WS + rb"]*(?:\"[^\"]*\"|'[^']*'|[^" + _WS + rb">\"'=<`]+))?"
)
_TAG_END = rb"(?:" + _ATTRIBUTE + rb")*[" + _WS + rb"/]*>"
_NAME_END = rb"(?=[" + _WS + rb"/>])"
# The element names the scanner knows, each list once: every regex below is built from
# them, so a name cannot be added to one and missed in another.
_VOID = (b"link", b"meta", b"base", b"input")  # blanked attribute values, no content
_RAW = (b"title", b"textarea", b"xmp", b"iframe", b"noembed", b"noframes")  # verbatim
_TAGS_WITH_PARTS = ("script", "style", *(name.decode() for name in _VOID))
_VOIDS, _RAWS = b"|".join(_VOID), b"|".join(_RAW)
_KNOWN = b"|".join((b"script", b"style", _VOIDS, _RAWS, b"plaintext"))
# Tokens are matched on the page lowered to ASCII lower case (same length, so the
# offsets hold for the original bytes, which are what gets hashed). Case-sensitive
# matching there is twice as fast as re.IGNORECASE.
_TOKEN = re.compile(
    b"|".join(
        [
            rb"<(?:!--(?P<comment>.*?)-->",
            rb"(?P<script_tag>script%s%s)(?P<script>.*?)</script%s"
            % (_NAME_END, _TAG_END, _NAME_END),
            rb"(?P<style_tag>style%s%s)(?P<style>.*?)</style%s" % (_NAME_END, _TAG_END, _NAME_END),
            rb"(?P<void>(?:%s)%s%s)" % (_VOIDS, _NAME_END, _TAG_END),
            # Raw text and RCDATA elements: the parser reads no markup inside; nor do we.
            rb"(?P<raw>%s)%s.*?</(?P=raw)%s" % (_RAWS, _NAME_END, _NAME_END),
            # What the branches above could not take: unterminated, malformed, unknown.
            rb"(?P<unsure>!--|!\[cdata\[|(?:%s)(?:%s|$)))" % (_KNOWN, _NAME_END),
        ]
    ),
    re.DOTALL,
)
# Where a token can start. A page has thousands of "<" and a few dozen of these: the
# literal search finds them in C, and _TOKEN is tried only there (4x faster than
# letting finditer try every branch at every "<").
_START = re.compile(rb"<(?:!--|!\[cdata\[|%s)" % _KNOWN)
_QUOTED = re.compile(rb"\"[^\"]*\"|'[^']*'")
_ATTRIBUTE_PARTS = re.compile(
    rb"[" + _WS + rb"/]+(?P<name>[^" + _WS + rb"/>=\"'<][^" + _WS + rb"/>=\"'<]*)"
    rb"(?:[" + _WS + rb"]*=[" + _WS + rb"]*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'"
    rb"|(?P<uq>[^" + _WS + rb">\"'=<`]+)))?"
)
_TAG_NAME = re.compile(rb"<([^" + _WS + rb"/>]+)")
# Markers between the skeleton's pieces; every verbatim piece is length-prefixed, so no
# page content can imitate a marker.
_BLANK_COMMENT, _BLANK_SCRIPT, _BLANK_STYLE = b"\x00c", b"\x00s", b"\x00t"
_KEPT_SCRIPT, _KEPT_STYLE = b"\x00S", b"\x00T"

Attributes = tuple[tuple[str, str | None], ...]  # (name, value); None: written without one


@dataclass(frozen=True)
class Parts:
    """What the scanner (or the parser) found, in document order, to compare the two."""

    comments: tuple[str, ...]
    scripts: tuple[str, ...]
    styles: tuple[str, ...]
    tags: tuple[tuple[str, Attributes], ...]  # the elements in _TAGS_WITH_PARTS


@dataclass
class _Found:
    """The scanner's raw pieces, in document order (decoded into Parts at the end)."""

    comments: list[bytes] = field(default_factory=list)
    scripts: list[bytes] = field(default_factory=list)
    styles: list[bytes] = field(default_factory=list)
    tags: list[tuple[bytes, tuple[tuple[bytes, bytes | None], ...]]] = field(default_factory=list)


@dataclass(frozen=True)
class Scan:
    signature: str
    parts: Parts | None = None  # only when asked for (to verify against the tree)


def scan(
    body: bytes, context: str = "", collect: bool = False, encoding: str = "utf-8"
) -> Scan | None:
    """The skeleton signature of a page, or None where the scanner gives up.

    The page must be in an encoding where ASCII bytes only ever stand for ASCII (see
    :func:`scannable`). ``context`` (the watch's rules, the encoding) is hashed in: a
    skeleton matches only under the same rules. With ``collect`` the pieces are kept,
    decoded from ``encoding``, for :func:`verified`.

    >>> scan(b"<p>a</p><!-- x -->") == scan(b"<p>a</p><!-- y -->")
    True
    >>> scan(b"<p>a</p><!-- never closed") is None
    True
    """
    digest = hashlib.sha256(VERSION)
    _piece(digest, context.encode("utf-8"))
    found = _Found() if collect else None
    lowered = body.lower()
    position = 0
    for start in _START.finditer(lowered):
        if start.start() < position:
            continue  # inside the token just taken (a "<meta" in a script, say)
        match = _TOKEN.match(lowered, start.start())
        if match is None:
            continue  # e.g. "<linked>": not a token, plain markup
        _piece(digest, body[position : match.start()])
        position = match.end()
        if not _take(match, body, digest, found):
            return None
    _piece(digest, body[position:])
    if found is None:
        return Scan(digest.hexdigest())
    return Scan(digest.hexdigest(), _decoded_parts(found, encoding))


def _decoded_parts(found: _Found, encoding: str) -> Parts:
    def text(raw: bytes) -> str:
        # The parser normalises newlines (HTML's input stream preprocessing).
        decoded = raw.decode(encoding, "replace")
        return decoded.replace("\r\n", "\n").replace("\r", "\n")

    def value(raw: bytes | None) -> str | None:
        return None if raw is None else html.unescape(text(raw))

    return Parts(
        tuple(text(c) for c in found.comments),
        tuple(text(c) for c in found.scripts),
        tuple(text(c) for c in found.styles),
        tuple(
            (text(name).lower(), tuple((text(k).lower(), value(v)) for k, v in attributes))
            for name, attributes in found.tags
        ),
    )


_ASCII_SAFE = {
    *("utf_8", "ascii", "latin_1", "koi8_r", "koi8_u"),
    *("gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950"),
    *("cp932", "shift_jis", "euc_jp", "euc_kr", "cp949"),
}


def scannable(encoding: str) -> bool:
    """Can the scanner read bytes in this encoding? Yes where a byte below 0x40 is
    always that ASCII character (UTF-8, GB18030, Big5, Shift_JIS, EUC, single-byte
    sets); no for UTF-16 and for ISO-2022 or HZ, whose escapes reuse ASCII bytes.

    >>> scannable("gb18030"), scannable("cp932"), scannable("utf-16-le"), scannable("iso2022_jp")
    (True, True, False, False)
    """
    try:
        name = codecs.lookup(encoding).name.replace("-", "_")
    except LookupError:
        return False
    return name in _ASCII_SAFE or name.startswith(("cp125", "iso8859_"))


def _piece(digest: Any, data: bytes) -> None:
    digest.update(len(data).to_bytes(8, "big"))
    digest.update(data)


def _take(match: re.Match[bytes], body: bytes, digest: Any, found: _Found | None) -> bool:
    """Add one token (matched on the lowered page) to the skeleton; False: give up."""
    kind = match.lastgroup

    def original(group: str) -> bytes:
        return body[match.start(group) : match.end(group)]

    if kind == "comment":
        content = original("comment")
        # HTML closes "<!-->" and "<!--->" at once and "--!>" anywhere: leave those
        # to the parser rather than guess.
        if content.startswith((b">", b"->")) or b"--!>" in content or b"<!--" in content:
            return False
        digest.update(_BLANK_COMMENT)
        if found is not None:
            found.comments.append(content)
        return True
    if kind in ("script", "style"):
        tag, content = original(f"{kind}_tag"), original(kind)
        _tag_skeleton(digest, b"<" + tag, found)
        # Blank only content that cannot end its element early in any parser (HTML5's
        # escaped script states start at "<!"); other content stays, compared verbatim.
        closes = b"</" in content or (kind == "script" and b"<!" in content)
        if closes:
            digest.update(_KEPT_SCRIPT if kind == "script" else _KEPT_STYLE)
            _piece(digest, content)
        else:
            digest.update(_BLANK_SCRIPT if kind == "script" else _BLANK_STYLE)
        if found is not None:
            (found.scripts if kind == "script" else found.styles).append(content)
        return True
    if kind == "void":
        _tag_skeleton(digest, b"<" + original("void"), found)
        return True
    if kind == "raw":
        _piece(digest, body[match.start() : match.end()])
        return True
    return False  # "unsure"


def _tag_skeleton(digest: Any, tag: bytes, found: _Found | None) -> None:
    # The tag matched the strict pattern, so its quoted strings are exactly its values.
    _piece(digest, _QUOTED.sub(b'""', tag))
    if found is not None:
        name = _TAG_NAME.match(tag)
        assert name is not None  # the token pattern begins with "<name"
        attributes = tuple((a["name"], _value(a)) for a in _ATTRIBUTE_PARTS.finditer(tag))
        found.tags.append((name.group(1), attributes))


def _value(attribute: re.Match[bytes]) -> bytes | None:
    for group in ("dq", "sq", "uq"):
        raw = attribute[group]
        if raw is not None:
            return bytes(raw)
    return None


def tree_parts(root: etree._Element) -> Parts:
    """The same pieces as :func:`scan` collects, read from lxml's tree of the page.

    The tree must come from a parser that keeps comments, before anything is removed.
    """
    nodes = [*reversed(list(root.itersiblings(preceding=True))), root, *root.itersiblings()]
    comments: list[str] = []
    scripts: list[str] = []
    styles: list[str] = []
    tags: list[tuple[str, Attributes]] = []
    for node in nodes:
        # lxml filters by tag in C (the HTML parser lower-cases tag names): a Python
        # visit of every element costs ten times more.
        for element in node.iter(etree.Comment, *_TAGS_WITH_PARTS):
            if element.tag is etree.Comment:
                comments.append(element.text or "")
                continue
            name = str(element.tag).lower()  # one of _TAGS_WITH_PARTS
            if name == "script":
                scripts.append(element.text or "")
            elif name == "style":
                styles.append(element.text or "")
            tags.append((name, tuple((k.lower(), v) for k, v in element.items())))
    return Parts(tuple(comments), tuple(scripts), tuple(styles), tuple(tags))


def verified(scanned: Scan | None, tree: Parts) -> str | None:
    """The scan's signature when scanner and parser cut the page alike, else None.

    >>> from lxml import etree
    >>> page = b'<head><meta name="rid" content="1"></head><body><!-- x --><p>a</p></body>'
    >>> parser = etree.HTMLParser(remove_comments=False, encoding="utf-8")
    >>> found = scan(page, collect=True)
    >>> verified(found, tree_parts(etree.fromstring(page, parser))) == found.signature
    True
    >>> tricky = b'<div title="<!--">visible --></div>'  # a comment only to the scanner
    >>> verified(scan(tricky, collect=True), tree_parts(etree.fromstring(tricky, parser)))
    """
    if scanned is None or scanned.parts is None:
        return None
    mine = scanned.parts
    same = (
        mine.comments == tree.comments
        and mine.scripts == tree.scripts
        and mine.styles == tree.styles
        and len(mine.tags) == len(tree.tags)
        and all(_same_tag(a, b) for a, b in zip(mine.tags, tree.tags, strict=True))
    )
    return scanned.signature if same else None


def _same_tag(mine: tuple[str, Attributes], theirs: tuple[str, Attributes]) -> bool:
    if mine[0] != theirs[0] or len(mine[1]) != len(theirs[1]):
        return False
    for (name, value), (their_name, their_value) in zip(mine[1], theirs[1], strict=True):
        if name != their_name:
            return False
        # libxml2 gives a bare boolean attribute its own name as value, others "".
        if value is None and their_value not in ("", name):
            return False
        if value is not None and value != their_value:
            return False
    return True


def skeleton_context(
    encoding: str, select: str | None, exclude: Sequence[str], ignore: Sequence[str]
) -> str:
    """What a skeleton is valid under: the same encoding and the same rules.

    The rules cannot see what a skeleton blanks (those elements and comments are
    stripped before any rule runs), but a new rule means a new text: parse again.
    """
    from .html import rules_key

    return f"{encoding}\x00{rules_key(select, exclude, ignore)}"
