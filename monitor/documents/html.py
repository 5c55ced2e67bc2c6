"""Extraction: HTML -> Document, the visible text in reading order as blocks.

Pure functions. lxml does the parsing and cssselect the ``select``/``exclude`` rules:
measured on a 70 KB documentation page, lxml takes 1-2 ms where BeautifulSoup's tree
takes ~27 ms, and extraction runs on every capture whose bytes changed.

Blocks are headings, paragraphs and other block-level text, list items, table rows
(cells joined by `` | ``; text a row holds outside its cells, which a browser shows
before the table, is a block of its own before the row) and code blocks (``<pre>``,
kept verbatim). Each block carries the heading path it sits under, so a change can be
located ("人脸属性 > 返回参数").

>>> doc = extract_html('<h1>Face</h1><h2>Output</h2><table><tr><td>age</td><td>int</td></tr>'
...                    '</table><script>x()</script><p>Updated: 2020-12-01</p>',
...                    ignore=("^Updated: .*$",))
>>> for block in doc.blocks: print(block.kind, repr(block.text), block.path)
heading 'Face' ('Face',)
heading 'Output' ('Face', 'Output')
row 'age | int' ('Face', 'Output')
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lxml import etree

from .css import css_selector
from .document import Document
from .limits import (
    PARSER_LIMIT,
    SIZE_LIMIT,
    TIME_BUDGET,
    RuleBudget,
    SizeBudget,
    TooLarge,
    clock,
    crowded_tag,
    parser_problem,
)
from .patterns import ignore_rules
from .tables import unique_keys
from .textnorm import clean
from .walker import SKIP, Walker

# The HTML extractor's generation, written into its documents (document.py): raised
# whenever the same page would give other blocks, so that comparisons read older
# documents again (current.py). 2: a heading's (or a cell's) text no longer takes in
# the text right after it, and text in a table row outside its cells is kept.
HTML_GENERATION = 2
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_PARSERS = threading.local()


def _parser(utf8: bool) -> etree.HTMLParser:
    """This thread's HTML parser (its error log then tells about this thread's parse).

    Plain lxml elements: lxml.html's element classes cost a Python call per node
    visited. Comments are kept by the parser (the skeleton check compares them with its
    own scan) and removed in ``prepare``, with the invisible elements. ``huge_tree``
    lifts libxml2's nesting limit from 256 to 2,048 elements and its text node limit
    from 10 MB to 1 GB: without it, the text after the 256th nested element was
    silently dropped.
    """
    name = "utf8" if utf8 else "text"
    parser = getattr(_PARSERS, name, None)
    if parser is None:
        options = {"encoding": "utf-8"} if utf8 else {}
        parser = etree.HTMLParser(
            remove_comments=False, remove_pis=True, no_network=True, huge_tree=True, **options
        )
        setattr(_PARSERS, name, parser)
    return parser


def parse_html(html: str | bytes) -> etree._Element | None:
    """Parse HTML leniently; None for an empty document (see :func:`parse_checked`)."""
    return parse_checked(html)[0]


def parse_checked(html: str | bytes) -> tuple[etree._Element | None, str]:
    """Parse HTML leniently: (root, why the parse stopped early, or "").

    The root is None for an empty document. ``bytes`` must be valid UTF-8 (the caller
    checked): lxml then decodes in C, which is about a third faster than handing it a
    Python string.

    >>> root, problem = parse_checked("<div>" * 2100 + "<p>是否是维族</p>")
    >>> problem.split(":")[1].strip()
    'Excessive depth in document'
    """
    if isinstance(html, bytes):
        if not html.strip():
            return None, ""
        parser = _parser(utf8=True)
    else:
        html = _XML_DECLARATION.sub("", html, count=1)
        if not html.strip():
            return None, ""
        parser = _parser(utf8=False)
    if crowded := crowded_tag(html):
        return None, crowded
    try:
        root = etree.fromstring(html, parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None, parser_problem(parser.error_log)
    return root, parser_problem(parser.error_log)


@dataclass(frozen=True)
class Prepared:
    """A parsed page with the watch's select/exclude applied and invisible parts removed."""

    title: str
    roots: tuple[etree._Element, ...]
    selected: bool
    ignore: tuple[str, ...]
    rules: str  # the select/exclude/ignore rules, part of the fingerprint
    # Why the text could not be read in full (a parser limit, the rules' time budget),
    # and which kind of limit it was (limits.py); "" for a page read in full.
    incomplete: str = ""
    limit: str = ""
    source_chars: int = 0  # of the HTML read: what the document's size is measured against

    def fingerprint(self) -> str:
        """SHA-256 of the visible text (and the rules), computed by lxml in C.

        Equal fingerprints mean the same characters in the same order, so the same
        wording: the Python walk that builds blocks can be skipped. Any edit to the
        visible text, however small, changes it.
        """
        digest = hashlib.sha256(self.rules.encode())
        for root in self.roots:
            digest.update(b"\x00")
            digest.update(etree.tostring(root, method="text", encoding="utf-8", with_tail=False))
        return digest.hexdigest()


def rules_key(select: str | None, exclude: Sequence[str], ignore: Sequence[str]) -> str:
    """The select/exclude/ignore rules as one string, hashed into fingerprints.

    >>> rules_key("main", ["nav"], [])
    "('main', ('nav',), ())"
    """
    return repr((select, tuple(exclude), tuple(ignore)))


def prepare(
    html: str | bytes,
    select: str | None = None,
    exclude: Sequence[str] = (),
    ignore: Sequence[str] = (),
    inspect: Callable[[etree._Element], None] | None = None,
    budget: float | None = None,
) -> Prepared:
    """Parse a page and apply select/exclude; the cheap first half of extraction.

    ``inspect``, if given, sees the whole parsed tree (comments included) before
    anything is removed from it. ``budget``: seconds the CSS rules may take on this
    page (default ``defaults.CSS_BUDGET``). A page the parser could not read to its
    end, or whose rules overran the budget, is prepared with no text and says why in
    ``incomplete``: a shorter text must never pass for the page.
    """
    rules = rules_key(select, exclude, ignore)
    root, problem = parse_checked(html)
    if problem:
        return Prepared("", (), True, tuple(ignore), rules, problem, PARSER_LIMIT)
    if root is None:
        return Prepared("", (), select is None, tuple(ignore), rules)
    if inspect is not None:
        inspect(root)
    title = _title(root)
    etree.strip_elements(root, etree.Comment, *SKIP, with_tail=False)
    rule_budget = RuleBudget() if budget is None else RuleBudget(budget)
    if exclude:
        # One pass for all rules (a CSS selector list); outermost first, so a nested
        # match inside an already dropped element is not dropped twice.
        rule = ", ".join(exclude)
        started = clock()
        dropped = css_selector(rule)(root)
        if overrun := rule_budget.spent("exclude", rule, clock() - started):
            return Prepared(title, (), True, tuple(ignore), rules, overrun, TIME_BUDGET)
        _drop(_outermost(dropped))
    if select:
        started = clock()
        roots = tuple(_outermost(css_selector(select)(root)))
        if overrun := rule_budget.spent("select", select, clock() - started):
            return Prepared(title, (), True, tuple(ignore), rules, overrun, TIME_BUDGET)
        return Prepared(title, roots, bool(roots), tuple(ignore), rules, source_chars=len(html))
    body = root.find("body")
    whole = (body if body is not None else root,)
    return Prepared(title, whole, True, tuple(ignore), rules, source_chars=len(html))


def walk(page: Prepared) -> Document:
    """Build the document's blocks from a prepared page; the costly second half."""
    if page.incomplete:
        return Document(title=page.title, incomplete=page.incomplete, limit=page.limit)
    if not page.selected:
        return Document(title=page.title, selected=False, generation=HTML_GENERATION)
    walker = Walker(ignore_rules(page.ignore), size=SizeBudget(page.source_chars))
    try:
        for element in page.roots:  # bounded time (patterns.py) and size (limits.py)
            walker.visit(element)
            walker.flush()
    except TooLarge as large:
        return Document(title=page.title, incomplete=str(large), limit=SIZE_LIMIT)
    blocks = unique_keys(walker.blocks) if walker.keyed else walker.blocks
    return Document(title=page.title, blocks=tuple(blocks), generation=HTML_GENERATION)


def extract_unless_known(
    html: str | bytes,
    select: str | None,
    exclude: Sequence[str],
    ignore: Sequence[str],
    known_fingerprint: str | None,
    inspect: Callable[[etree._Element], None] | None = None,
    budget: float | None = None,
) -> tuple[str, Document | None]:
    """(fingerprint, document), the document None when the fingerprint is already known.

    The cheap test of extraction: a page whose visible text has the known fingerprint
    has the same wording, so its blocks need not be built again. An incomplete page
    always gets its (empty, ``incomplete``) document.
    """
    page = prepare(html, select, exclude, ignore, inspect, budget)
    fingerprint = page.fingerprint()
    if fingerprint == known_fingerprint and page.selected and not page.incomplete:
        return fingerprint, None
    return fingerprint, walk(page)


def extract_html(
    html: str,
    select: str | None = None,
    exclude: Sequence[str] = (),
    ignore: Sequence[str] = (),
    budget: float | None = None,
) -> Document:
    """Extract the visible text blocks of an HTML page after the watch's rules.

    A page that could not be read in full gives an empty document whose
    ``incomplete`` says why (see :func:`prepare`).
    """
    return walk(prepare(html, select, exclude, ignore, budget=budget))


def _title(root: etree._Element) -> str:
    # Where it belongs first: a search of the whole tree costs 20x more.
    title = root.find("head/title")
    if title is None:
        title = root.find(".//title")
    return clean("".join(title.itertext())) if title is not None else ""


def _drop(elements: list[etree._Element]) -> None:
    """Remove elements and their content, keeping their tails (they belong to the parent).

    One pass over each parent's children: moving each tail onto the text before it,
    one element at a time, copied that growing text again for every element dropped
    (40,000 excluded siblings took 10 s, 80,000 took 42 s).

    >>> root = etree.fromstring("<p>a<i>x</i>b<i>y</i>c<b>k</b>d<i>z</i>e</p>")
    >>> _drop(root.findall("i"))
    >>> etree.tostring(root, encoding=str)
    '<p>abc<b>k</b>de</p>'
    """
    children: dict[etree._Element, set[etree._Element]] = {}
    for element in elements:
        parent = element.getparent()
        if parent is not None:  # the root stays: it has nowhere to go
            children.setdefault(parent, set()).add(element)
    for parent, dropped in children.items():
        _drop_children(parent, dropped)


def _drop_children(parent: etree._Element, dropped: set[etree._Element]) -> None:
    kept: etree._Element | None = None  # the text after it is being gathered; None: the parent's
    parts = [parent.text or ""]
    for child in list(parent):
        if child in dropped:
            parts.append(child.tail or "")
            parent.remove(child)  # with its tail, gathered above
            continue
        _set_text(parent, kept, parts)
        kept, parts = child, [child.tail or ""]
    _set_text(parent, kept, parts)


def _set_text(parent: etree._Element, kept: etree._Element | None, parts: list[str]) -> None:
    if len(parts) == 1:
        return  # nothing dropped here: leave the text as it is
    text = "".join(parts) or None
    if kept is None:
        parent.text = text
    else:
        kept.tail = text


def _outermost(elements: list[etree._Element]) -> list[etree._Element]:
    """The elements not inside another of them (the rest go with those).

    Each element is looked at once, whatever the number of matches: asking each match
    about all its ancestors took 6.4 s for 100,000 matches 1,000 elements deep.

    >>> root = etree.fromstring("<div><p><b>x</b></p><i>y</i></div>")
    >>> [e.tag for e in _outermost([root.find("p"), root.find("p/b"), root.find("i")])]
    ['p', 'i']
    """
    chosen = set(elements)
    covered: dict[etree._Element, bool] = {}  # lies inside (or is) a chosen element
    return [e for e in elements if not _inside(e, chosen, covered)]


def _inside(
    element: etree._Element,
    chosen: set[etree._Element],
    covered: dict[etree._Element, bool],
) -> bool:
    """Whether one of the element's ancestors is chosen (memoised for the ones passed)."""
    passed: list[etree._Element] = []
    found = False
    ancestor = element.getparent()
    while ancestor is not None:
        known = covered.get(ancestor)
        if known is not None:
            found = known
            break
        if ancestor in chosen:
            found = True
            break
        passed.append(ancestor)
        ancestor = ancestor.getparent()
    for element_passed in passed:
        covered[element_passed] = found
    return found
