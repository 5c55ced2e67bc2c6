"""Reports: hostile page content is shown as text and never runs."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
from conftest import FAST_SETTINGS, write_watchlist

HOSTILE = """<main><h1>Face &lt;/style&gt;&lt;script&gt;alert(1)&lt;/script&gt;</h1>
<p>Attribute list: glasses, smile{extra}</p>
<p><a href="javascript:alert(2)">docs</a> <img src=x onerror="alert(3)"></p>
<script>alert(4)</script><style>body{{display:none}}</style></main>"""
EXTRA = (
    ', &lt;img src=x onerror=alert(5)&gt;, "quoted" &amp; javascript:alert(6), '
    "&lt;/style&gt;&lt;script&gt;alert(7)&lt;/script&gt;, uyghur"
)


def test_hostile_content_is_escaped_in_every_report(tmp_path: Path, site, cli) -> None:
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"""
defaults:
  terms: [uyghur, "<script>"]
watches:
  - name: hostile
    url: {site.url("/h")}
{FAST_SETTINGS}""",
    )
    site.set("/h", HOSTILE.format(extra=EXTRA))
    cli("check", "--watchlist", str(path))
    site.set("/h", HOSTILE.format(extra=""))
    cli("check", "--watchlist", str(path))
    report = tmp_path / "r.html"
    shown = cli("diff", "1", "--html", str(report))
    assert shown.code == 0, shown.err
    assert "<img src=x onerror=alert(5)>" in shown.out  # terminal shows the exact wording

    html = report.read_text(encoding="utf-8")
    tree = lxml.html.fromstring(html)
    assert tree.xpath("//script") == []
    assert len(tree.xpath("//style")) == 1  # only the report's own stylesheet
    assert not [
        a
        for e in tree.iter()
        if isinstance(e.tag, str)
        for a in e.attrib
        if a.lower().startswith("on")
    ]
    # The only links are the raw snapshots, relative to the report (issue 18).
    assert not [
        h for h in tree.xpath("//@href") if not re.fullmatch(r"[\w./-]*blobs/\w\w/\w+\.gz", h)
    ]
    removed = "".join(tree.xpath("//div[contains(@class,'removed')]//del//text()"))
    assert "<img src=x onerror=alert(5)>" in removed
    assert "</style><script>alert(7)</script>" in removed
    assert set(tree.xpath("//del/mark[@class='term']/text()")) == {"uyghur", "<script>"}
    assert "default-src 'none'" in html


def test_report_shows_inline_and_side_by_side_with_hashes(tmp_path: Path, site, cli) -> None:
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"""
watches:
  - name: face
    url: {site.url("/f")}
    terms: [维族]
{FAST_SETTINGS}""",
    )
    site.set("/f", "<h1>人脸属性</h1><h2>返回参数</h2><p>是否戴眼镜、是否是维族</p>")
    cli("check", "--watchlist", str(path))
    site.set("/f", "<h1>人脸属性</h1><h2>返回参数</h2><p>是否戴眼镜</p>")
    cli("check", "--watchlist", str(path))
    report = tmp_path / "r.html"
    cli("diff", "1", "--html", str(report))
    tree = lxml.html.fromstring(report.read_text(encoding="utf-8"))
    assert tree.get("lang") == "zh"
    assert tree.xpath("//h2/text()")[:3] == ["Watched terms", "Removed wording", "Inline view"]
    assert tree.xpath("//table[@class='sbs']//del//text()") == ["、是否是", "维族"]
    hashes = tree.xpath("//span[@class='sha']/text()")
    assert len(hashes) == 2 and all(len(h) == 64 for h in hashes)
    links = tree.xpath("//a/@href")
    assert len(links) == 2 and all(
        not h.startswith("file://") and (report.parent / h).is_file() for h in links
    )
    assert "人脸属性 > 返回参数" in tree.text_content()


def test_selector_missing_report_shows_the_page_text_escaped(tmp_path: Path, site, cli) -> None:
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"""
watches:
  - name: gutted
    url: {site.url("/g")}
    select: main
{FAST_SETTINGS}""",
    )
    site.set("/g", "<main>" + "<p>Face attribute reference text.</p>" * 30 + "</main>")
    cli("check", "--watchlist", str(path))
    gutted = "<main><p>本文档已下线 &lt;script&gt;alert(1)&lt;/script&gt;</p></main>"
    site.set("/g", gutted)
    cli("check", "--watchlist", str(path))
    cli("check", "--watchlist", str(path))  # confirmed on the second check
    (event,) = cli("changes", "--format", "json").json()
    assert (event["kind"], event["removed"]) == ("selector_missing", [])
    report = tmp_path / "r.html"
    shown = cli("diff", str(event["id"]), "--html", str(report))
    assert "本文档已下线 <script>alert(1)</script>" in shown.out
    tree = lxml.html.fromstring(report.read_text(encoding="utf-8"))
    assert tree.xpath("//script") == []
    assert "What the page shows now" in tree.xpath("//h2/text()")
    assert "本文档已下线 <script>alert(1)</script>" in tree.text_content()
