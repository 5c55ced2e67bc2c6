"""Start pages: the links a documentation table of contents gives, in page order.

An HTML start page gives its ``<a href>`` and ``<area href>`` links, resolved against
the page's final URL and its ``<base href>``. A JSON start page (some documentation
sites load their table of contents as JSON, e.g. a ``toc.json``) gives every string
value of an ``href`` key, at any depth. The caller keeps the links in the site's scope.

>>> page_links(b'<base href="https://d.example/zh/"><a href="face.html#x">Face</a>'
...            b'<a href="mailto:x@d.example">mail</a><a href="/zh/face.html">again</a>',
...            "https://d.example/index.html")
['https://d.example/zh/face.html']
>>> page_links(b'{"items": [{"href": "detect", "children": [{"href": "/en/verify"}]}]}',
...            "https://d.example/en/toc.json", "application/json")
['https://d.example/en/detect', 'https://d.example/en/verify']
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..documents.decode import decode_body
from ..documents.html import parse_checked
from .scope import canonical_url

MAX_LINKS = 100_000  # per start page: a table of contents, not a link farm


def page_links(body: bytes, url: str, content_type: str | None = None) -> list[str]:
    """Canonical absolute URLs a start page links to, first occurrence first.

    Raises ValueError when a JSON start page cannot be read (the run then counts as
    incomplete: a table of contents that lists nothing must not retire every page).
    """
    text = decode_body(body, content_type).text
    if _is_json(content_type, text):
        hrefs: Iterator[str] = _json_hrefs(text)
        base = url
    else:
        hrefs, base = _html_hrefs(text, url)
    found: dict[str, None] = {}
    for href in hrefs:
        link = canonical_url(href, base)
        if link is not None:
            found.setdefault(link, None)
            if len(found) >= MAX_LINKS:
                break
    return list(found)


def _is_json(content_type: str | None, text: str) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return text.lstrip()[:1] in ("{", "[")


def _json_hrefs(text: str) -> Iterator[str]:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ValueError(f"the start page is not valid JSON: {error}") from None
    except RecursionError:
        raise ValueError("the start page's JSON is nested too deeply to read") from None
    return _walk(data)


def _walk(node: Any) -> Iterator[str]:
    # Iterative: a hostile JSON document nested 100,000 deep must not blow the stack.
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            href = item.get("href")
            if isinstance(href, str):
                yield href
            stack.extend(reversed([v for k, v in item.items() if k != "href"]))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def _html_hrefs(text: str, url: str) -> tuple[Iterator[str], str]:
    if not text.strip():
        return iter(()), url
    # Parsed in full (huge_tree): a start page nested past lxml's default depth lost
    # every link after that point, and its pages were then retired as removed.
    root, problem = parse_checked(text)
    if problem:
        raise ValueError(f"the start page could not be read in full: {problem}")
    if root is None:
        return iter(()), url
    base = url
    for element in root.iter("base"):
        href = element.get("href")
        if href:
            base = canonical_url(href, url) or url
            break
    hrefs = (element.get("href") or "" for element in root.iter("a", "area") if element.get("href"))
    return hrefs, base
