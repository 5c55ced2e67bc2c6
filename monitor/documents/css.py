"""CSS rules (``select`` / ``exclude``) compiled once to XPath for lxml trees."""

from __future__ import annotations

from functools import lru_cache

from cssselect import HTMLTranslator
from lxml import etree

_CSS = HTMLTranslator()


@lru_cache(maxsize=256)
def css_selector(css: str) -> etree.XPath:
    """A compiled CSS selector (HTML rules: case-insensitive tag names).

    cssselect's own translator, not lxml.cssselect's: lxml's ``:contains()`` calls an
    extension function that a kept selector loses after its first document (lxml 6.1:
    "XPath function ... lower-case not found" on every later page). Here ``:contains()``
    is plain XPath, and case-sensitive.

    >>> from lxml import etree
    >>> pick = css_selector("p:contains('维族')")
    >>> [len(pick(etree.fromstring(f"<p>{i} 维族</p>", etree.HTMLParser()))) for i in range(3)]
    [1, 1, 1]
    """
    return etree.XPath(_CSS.css_to_xpath(css))
