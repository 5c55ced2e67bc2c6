"""CSS rules (``select`` / ``exclude``) compiled once to XPath for lxml trees.

Combinators are translated so that they cost about one visit per element, not one per
pair of elements. cssselect's own forms make libxml2 collect, for every left-hand
match, all its following siblings (``p ~ p``, ``p + p``) or all its descendants
(``div p`` on a deeply nested page) and merge those sets while removing duplicates:
``p ~ p`` on 4,000 paragraphs took about 30-60 s. Here the right-hand element is found
once and tested against its siblings or ancestors (``p[preceding-sibling::p]``), which
libxml2 stops at the first hit. Where a rewrite would not mean the same (a left-hand
side that itself walks siblings), cssselect's form is kept; the per-page time budget
(limits.py) still bounds it.

>>> _CSS.css_to_xpath("p ~ p")
'descendant-or-self::p/../p[preceding-sibling::p]'
>>> _CSS.css_to_xpath("h2 + p")
'descendant-or-self::h2/../p[preceding-sibling::*[1][self::h2]]'
>>> _CSS.css_to_xpath("main article")
'descendant-or-self::article[ancestor::main]'
"""

from __future__ import annotations

import re
from functools import lru_cache

from cssselect import HTMLTranslator
from cssselect.xpath import XPathExpr
from lxml import etree

_SAFE_NAME = re.compile(r"^(?:\*|[a-zA-Z_][a-zA-Z0-9_.-]*)$")
# A left-hand side that moves along siblings in its path, or a condition on positions,
# would change meaning inside a predicate; a condition that counts or searches siblings
# or descendants would be evaluated once per candidate sibling, costing more than it
# saves. Those keep cssselect's form.
_COSTLY = re.compile(r"position\(\)|last\(\)|count\(|following-sibling::|descendant::")


class _LinearTranslator(HTMLTranslator):
    """cssselect's HTML translator with linear-cost forms of the combinators."""

    def xpath_indirect_adjacent_combinator(self, left: XPathExpr, right: XPathExpr) -> XPathExpr:
        """right is a sibling after left: right[preceding-sibling::left]."""
        if not _rewritable(left, right):
            return super().xpath_indirect_adjacent_combinator(left, right)
        return _sibling_of(left, right, f"preceding-sibling::{_self_test(left)}")

    def xpath_direct_adjacent_combinator(self, left: XPathExpr, right: XPathExpr) -> XPathExpr:
        """right is the element right after left: right[preceding-sibling::*[1][self::left]]."""
        if not _rewritable(left, right):
            return super().xpath_direct_adjacent_combinator(left, right)
        test = "preceding-sibling::*[1]"
        if left.element != "*":
            test += f"[self::{left.element}]"
        if left.condition:
            test += f"[{left.condition}]"
        return _sibling_of(left, right, test)

    def xpath_descendant_combinator(self, left: XPathExpr, right: XPathExpr) -> XPathExpr:
        """right inside left: right[ancestor::left], when left is one compound selector.

        Rules are evaluated from the document's root element, which has no element
        ancestors, so "an ancestor" and "an ancestor within the scope" are the same.
        """
        unconstrained = right.element == "*" and not right.condition
        if left.path or unconstrained or not _rewritable(left, right):
            return super().xpath_descendant_combinator(left, right)
        expression = XPathExpr(element=right.element, condition=right.condition)
        return expression.add_condition(f"ancestor::{_self_test(left)}")


def _rewritable(left: XPathExpr, right: XPathExpr) -> bool:
    return (
        not right.path
        and bool(_SAFE_NAME.match(left.element))
        and bool(_SAFE_NAME.match(right.element))
        and "sibling::" not in str(left.path)
        and not _COSTLY.search(left.condition)
    )


def _self_test(left: XPathExpr) -> str:
    return f"{left.element}[{left.condition}]" if left.condition else left.element


def _sibling_of(left: XPathExpr, right: XPathExpr, test: str) -> XPathExpr:
    # left/.. are the parents of left's matches: whatever left's path asks of its
    # ancestors holds for all its siblings, so the test on the sibling says the rest.
    expression = XPathExpr(path=f"{left}/../", element=right.element, condition=right.condition)
    return expression.add_condition(test)


_CSS = _LinearTranslator()


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
