"""The Atom feed: valid for a real feed parser, stable ids, hostile wording kept as text."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from conftest import FAST_SETTINGS, write_watchlist
from lxml import etree

from monitor.report.atom import ATOM, changes_atom, entry_id, xml_safe

# Wording a page could carry: markup, entities, CDATA ends, control characters.
HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    "javascript:alert(3)",
    "</content></entry><entry><id>forged</id>",
    "]]><![CDATA[",
    "&amp; &lt; &#0; &bogus;",
    "bell\x07 nul\x00 esc\x1b vt\x0b ff\x0c",
    "lone surrogate \ud800 and \ufffe",
    "維族 維吾爾 ＵＹＧＨＵＲ",
]


def row(change_id: int, removed: list[str], added: list[str], flagged: bool = True) -> dict:
    flags = [{"term": "维族", "direction": "removed", "before": 1, "after": 0}] if flagged else []
    return {
        "id": change_id,
        "watch": "w<script>",
        "url": "https://example.test/a?x=1&y=<2>",
        "detected_at": f"2020-12-{10 + change_id:02d}T08:00:00.000000Z",
        "kind": "changed",
        "removed": json.dumps(removed),
        "added": json.dumps(added),
        "flags": json.dumps(flags),
        "detail": json.dumps(
            {
                "removed": [
                    {"text": t, "path": ["h<1>"], "kind": "text", "before": "<b>", "after": "&"}
                    for t in removed
                ]
            }
        ),
        "from_snapshot": "a" * 64,
        "to_snapshot": f"{change_id:064d}",
        "from_capture": 1,
        "to_capture": 2,
        "triage": None,
    }


def test_hostile_wording_gives_a_valid_feed_that_keeps_it_as_text() -> None:
    rows = [row(i + 1, [text], [text[::-1]]) for i, text in enumerate(HOSTILE)]
    document = changes_atom(rows, watches={"w<script>": {"vendor": "V&V", "tags": ["<t>"]}})
    etree.fromstring(document)  # well-formed XML (raises otherwise)
    feed = feedparser.parse(document)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert len(feed.entries) == len(HOSTILE)
    ids = [entry.id for entry in feed.entries]
    assert len(set(ids)) == len(ids) and all(i.startswith("urn:uuid:") for i in ids)
    assert "forged" not in ids
    # Newest first; the markup of the page is text in the entry, never an element.
    assert feed.entries[0].updated.startswith("2020-12-19")
    tree = etree.fromstring(document)
    contents = tree.findall(f"{{{ATOM}}}entry/{{{ATOM}}}content")
    assert all(len(c) == 0 and c.get("type") == "html" for c in contents)
    first_html = contents[-1].text or ""
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in first_html  # escaped inside the HTML
    assert "<script>" not in first_html.replace("<del>", "")
    assert "\ufffd" in document.decode("utf-8")  # control characters replaced, visibly


def test_entry_ids_are_stable_and_depend_on_the_event() -> None:
    one = row(1, ["是否是维族"], [])
    event = {
        "watch": one["watch"],
        "id": 1,
        "detected_at": "2020-12-11T08:00:00Z",
        "to_snapshot": one["to_snapshot"],
    }
    assert entry_id(event) == entry_id(dict(event))
    assert entry_id(event) != entry_id({**event, "id": 2})
    first = feedparser.parse(changes_atom([one]))
    again = feedparser.parse(changes_atom([row(2, ["x"], []), one]))
    assert first.entries[0].id in {e.id for e in again.entries}


def test_an_empty_feed_is_still_valid() -> None:
    feed = feedparser.parse(changes_atom([]))
    assert not feed.bozo and feed.entries == [] and feed.feed.updated


@pytest.mark.parametrize(("text", "safe"), [("a\x00b", "a\ufffdb"), ("tab\tok\n", "tab\tok\n")])
def test_xml_safe(text: str, safe: str) -> None:
    assert xml_safe(text) == safe


def test_monitor_changes_format_atom_takes_the_same_filters(tmp_path: Path, site, cli) -> None:
    page = "<main><h1>属性</h1><p>是否戴眼镜{extra}</p></main>"
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"""
defaults:
  terms: [维族]
watches:
  - name: zh
    url: {site.url("/zh")}
  - name: en
    url: {site.url("/en")}
{FAST_SETTINGS}""",
    )
    site.set("/zh", page.format(extra="、是否是维族<script>x</script>"))
    site.set("/en", "<main><p>glasses</p></main>")
    assert cli("check", "--watchlist", str(path)).code == 0
    site.set("/zh", page.format(extra=""))
    site.set("/en", "<main><p>glasses, smile</p></main>")
    assert cli("check", "--watchlist", str(path)).code == 0

    everything = feedparser.parse(cli("changes", "--format", "atom").out)
    flagged = feedparser.parse(cli("changes", "--format", "atom", "--flagged").out)
    only_en = feedparser.parse(cli("changes", "--format", "atom", "--watch", "en").out)
    assert not (everything.bozo or flagged.bozo or only_en.bozo)
    assert len(everything.entries) == 2
    assert [e.title.startswith("FLAGGED") for e in flagged.entries] == [True]
    assert "是否是维族" in flagged.entries[0].summary
    assert len(only_en.entries) == 1 and "smile" in only_en.entries[0].summary
    assert everything.feed.id != flagged.feed.id  # one feed id per filter set
    again = feedparser.parse(cli("changes", "--format", "atom").out)
    assert [e.id for e in again.entries] == [e.id for e in everything.entries]
