"""Change events as an Atom feed (RFC 4287): ``monitor changes --format atom`` and the
dashboard's ``/feed.atom`` write the same document.

One entry per event, newest first. Entry ids are ``urn:uuid:`` names derived from the
event itself (watch, event id, detection time and new snapshot hash), so a feed
reader that polls again, or reads the same data directory through the CLI and the
dashboard, sees the same id for the same event and never a new one for an old event.

Wording from monitored pages is untrusted. It reaches the feed only as XML text
(serialised by lxml, so ``<``, ``&`` and ``]]>`` are escaped) inside an HTML fragment
whose own text was escaped first; characters XML 1.0 cannot carry (NUL and other C0
controls, lone surrogates, U+FFFE/U+FFFF) are replaced by U+FFFD rather than
producing a document no reader can parse.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from lxml import etree

from .. import __version__
from ..model import iso
from ..safe import redact
from ..store.base import ChangeFilter, Row
from .json import change_to_json
from .text import location

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"
# Every name derived here lives under this namespace (a fixed, random UUID).
_NAMESPACE = uuid.UUID("5f0b8f4e-6b9e-4c43-9f55-2b6f0b1c7a10")
# Not allowed in XML 1.0 documents at all (C0 controls but tab/LF/CR, surrogates,
# the two non-characters U+FFFE and U+FFFF), and the C1 controls and DEL, which XML
# allows but a terminal showing the feed would obey.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_EPOCH = "1970-01-01T00:00:00Z"
_TITLE_WORDING = 60  # characters of removed/added wording quoted in an entry title


def xml_safe(text: str) -> str:
    """Replace what XML 1.0 cannot carry, and C1 controls, by U+FFFD (so the gap stays
    visible); credentials in URLs are redacted.

    >>> xml_safe("a\\x00b\\x1bc\\ttab\\x9b http://u:p@h/")
    'a\\ufffdb\\ufffdc\\ttab\\ufffd http://***@h/'
    """
    return redact(_NOT_XML.sub("\ufffd", text))


def entry_id(event: dict[str, Any]) -> str:
    """A stable, unique id for one change event.

    >>> entry_id({"watch": "w", "id": 1, "detected_at": "2020-12-17T08:00:00Z",
    ...           "to_snapshot": "ab"})
    'urn:uuid:7a594ac6-3460-5af5-b1ae-800118ba3b48'
    """
    name = (
        f"change\n{event['watch']}\n{event['id']}\n{event['detected_at']}\n{event['to_snapshot']}"
    )
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, name)}"


def feed_id(description: str) -> str:
    """The id of a feed, from what it selects (its filters)."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, 'feed ' + description)}"


def feed_selection(selected: ChangeFilter) -> str:
    """A filter in one canonical form (a sorted query string), so that the command line
    and the dashboard give a feed with the same filters the same id.

    >>> from datetime import UTC, datetime
    >>> feed_selection(ChangeFilter(watch="w", flagged=True,
    ...                             since=datetime(2020, 12, 1, tzinfo=UTC)))
    'flagged=1&since=2020-12-01T00%3A00%3A00Z&watch=w'
    >>> feed_selection(ChangeFilter())
    ''
    """
    pairs: list[tuple[str, str]] = []
    for name in sorted(selected.__dataclass_fields__):
        value = getattr(selected, name)
        if isinstance(value, datetime):
            pairs.append((name, iso(value)[:19] + "Z"))
        elif isinstance(value, tuple):
            pairs += [(name, str(v)) for v in sorted(value)]
        elif value is True:
            pairs.append((name, "1"))
        elif value:
            pairs.append((name, str(value)))
    return urlencode(pairs)


@dataclass(frozen=True)
class FeedLinks:
    """Where things live on the web, when the feed is served (all optional).

    ``change(id)`` is the page of one change (the entry's main link); without it the
    entry links to the watched page itself.
    """

    self_url: str | None = None
    home: str | None = None
    change: Callable[[int], str] | None = None


def changes_atom(
    rows: Sequence[Row],
    *,
    title: str = "monitor: changes",
    selection: str = "",
    links: FeedLinks | None = None,
    watches: dict[str, dict[str, Any]] | None = None,
) -> bytes:
    """An Atom document (UTF-8 bytes) with one entry per change row, newest first.

    ``selection`` is :func:`feed_selection` of the filters (it makes the feed's id);
    ``watches`` maps watch names to their configuration (vendor, tags).
    """
    links = links or FeedLinks()
    watches = watches or {}
    events = sorted(
        ((change_to_json(row), _detail(row)) for row in rows),
        key=lambda pair: (pair[0]["detected_at"], pair[0]["id"]),
        reverse=True,
    )
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _text(feed, "id", feed_id(selection))
    _text(feed, "title", title)
    _text(feed, "subtitle", f"Change events of monitored pages: {selection or 'all'}")
    _text(feed, "updated", events[0][0]["detected_at"] if events else _EPOCH)
    generator = _text(feed, "generator", "monitor")
    generator.set("version", __version__)
    author = etree.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "monitor")
    if links.self_url:
        _link(feed, links.self_url, "self", MEDIA_TYPE)
    if links.home:
        _link(feed, links.home, "alternate", "text/html")
    for event, detail in events:
        _entry(feed, event, detail, links, watches.get(event["watch"], {}))
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _detail(row: Row) -> dict[str, Any]:
    try:
        raw = row["detail"]
    except (KeyError, IndexError):
        return {}
    return dict(json.loads(raw)) if raw else {}


def _entry(
    feed: etree._Element,
    event: dict[str, Any],
    detail: dict[str, Any],
    links: FeedLinks,
    watch: dict[str, Any],
) -> None:
    entry = etree.SubElement(feed, f"{{{ATOM}}}entry")
    _text(entry, "id", entry_id(event))
    _text(entry, "title", entry_title(event))
    _text(entry, "updated", event["detected_at"])
    _text(entry, "published", event["detected_at"])
    author = etree.SubElement(entry, f"{{{ATOM}}}author")
    _text(author, "name", str(watch.get("vendor") or event["watch"]))
    if links.change is not None:
        _link(entry, links.change(event["id"]), "alternate", "text/html")
        _link(entry, event["url"], "related", None)
    else:
        _link(entry, event["url"], "alternate", None)
    for term in [event["kind"], *(["flagged"] if event["flags"] else []), *watch.get("tags", [])]:
        etree.SubElement(entry, f"{{{ATOM}}}category").set("term", xml_safe(str(term)))
    summary = _text(entry, "summary", entry_summary(event))
    summary.set("type", "text")
    content = _text(entry, "content", entry_html(event, detail))
    content.set("type", "html")


def entry_title(event: dict[str, Any]) -> str:
    """One line: flags first, then what kind of event, where.

    >>> entry_title({"kind": "changed", "watch": "w", "removed": ["、是否是维族"], "added": [],
    ...     "flags": [{"term": "维族", "direction": "removed", "before": 1, "after": 0}]})
    'FLAGGED 维族 removed (1→0): changed in w: −“、是否是维族”'
    """
    parts = []
    if event["flags"]:
        flags = ", ".join(
            f"{f['term']} {f['direction']} ({f['before']}→{f['after']})" for f in event["flags"]
        )
        parts.append(f"FLAGGED {flags}:")
    parts.append(f"{event['kind']} in {event['watch']}")
    title = " ".join(parts)
    quoted = [f"−“{_shorten(t)}”" for t in event["removed"][:1]] + [
        f"+“{_shorten(t)}”" for t in event["added"][:1]
    ]
    if quoted:
        title += ": " + " ".join(quoted)
    return title


def entry_summary(event: dict[str, Any]) -> str:
    """Plain text: the removed and added wording, one per line."""
    lines = [f"− {text}" for text in event["removed"]] + [f"+ {text}" for text in event["added"]]
    return "\n".join(lines) or f"{event['kind']}: {event['url']}"


def entry_html(event: dict[str, Any], detail: dict[str, Any]) -> str:
    """The entry's content: an HTML fragment in which every page-derived text is
    escaped (the fragment is then escaped again as the XML text of ``<content>``)."""
    e = html.escape

    def b(text: str) -> str:  # page text isolated: a bidi override stays inside
        return f"<bdi>{e(text)}</bdi>" if text else ""

    out = [
        f"<p><strong>{e(event['kind'])}</strong> in {e(event['watch'])}: "
        f"{b(event['url'])}<br>detected {e(event['detected_at'])}</p>"
    ]
    if event["flags"]:
        items = "".join(
            f"<li>{b(f['term'])} {e(f['direction'])}: {f['before']} → {f['after']}</li>"
            for f in event["flags"]
        )
        out.append(f"<p>Watched terms:</p><ul>{items}</ul>")
    for label, tag in (("removed", "del"), ("added", "ins")):
        fragments = detail.get(label) or [{"text": t} for t in event[label]]
        if fragments:
            out.append(f"<p>{label.capitalize()}:</p><ul>")
            for fragment in fragments:
                where = f" <small>({b(location(fragment))})</small>" if "path" in fragment else ""
                wording = (
                    f"{b(fragment.get('before', ''))}<{tag}>{b(fragment['text'])}</{tag}>"
                    f"{b(fragment.get('after', ''))}"
                )
                if fragment.get("kind") == "code":  # keep its lines
                    out.append(f"<li><pre>{wording}</pre>{where}</li>")
                else:
                    out.append(f"<li>…{wording}…{where}</li>")
            out.append("</ul>")
    out.append(
        f"<p>Before: SHA-256 {e(str(event['from_snapshot']))} (capture {event['from_capture']})"
        f"<br>After: SHA-256 {e(str(event['to_snapshot']))} (capture {event['to_capture']})</p>"
    )
    return "".join(out)


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TITLE_WORDING else text[: _TITLE_WORDING - 1] + "…"


def _text(parent: etree._Element, name: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM}}}{name}")
    element.text = xml_safe(text)
    return element


def _link(parent: etree._Element, href: str, rel: str, media_type: str | None) -> None:
    link = etree.SubElement(parent, f"{{{ATOM}}}link")
    link.set("href", xml_safe(href))
    link.set("rel", rel)
    if media_type:
        link.set("type", media_type)
