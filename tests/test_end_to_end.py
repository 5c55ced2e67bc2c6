"""End to end through the command line, against pages served on 127.0.0.1."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from conftest import FAST_SETTINGS, Site, first_generation, write_watchlist

PAGE = """<html><head><title>人脸属性识别</title></head><body>
<nav>文档首页 产品 定价</nav>
<main><h1>人脸属性识别</h1><p class="time">更新时间：{stamp}</p>
<p>支持识别：是否戴眼镜、是否微笑{extra}。</p>
<h2>返回参数</h2><table><tr><th>参数</th><th>描述</th></tr>
<tr><td>glasses</td><td>是否戴眼镜</td></tr>{row}
<tr><td>smile</td><td>是否微笑</td></tr></table></main>
<div class="feedback">文档是否有帮助？</div></body></html>"""
ROW = "<tr><td>uygur</td><td>是否是维族</td></tr>"


def page(stamp: str = "2020-12-09 10:21:33", uyghur: bool = True) -> str:
    return PAGE.format(
        stamp=stamp, extra="、是否是维族" if uyghur else "", row=ROW if uyghur else ""
    )


def watchlist(tmp_path: Path, site: Site, extra: str = "") -> Path:
    return write_watchlist(
        tmp_path / "watch.yaml",
        f"""
defaults:
  terms: [维族, Uyghur]
watches:
  - name: face-zh
    url: {site.url("/face")}
    select: main
    exclude: [".feedback"]
    ignore: ['^更新时间[:：].*$']
{extra}{FAST_SETTINGS}""",
    )


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_silent_edit_is_reported_with_the_contract_fields(tmp_path, site, cli) -> None:
    path = watchlist(tmp_path, site)
    site.set("/face", page())
    first = cli("check", "--watchlist", str(path))
    assert first.code == 0, first.err
    assert "checked 1, changed 0, flagged 0, failed 0" in first.out

    site.set("/face", page(stamp="2020-12-16 18:02:11"))  # only the ignored timestamp
    assert "changed 0" in cli("check", "--watchlist", str(path)).out

    site.set("/face", page(stamp="2020-12-17 08:00:00", uyghur=False))
    third = cli("check", "--watchlist", str(path))
    assert "checked 1, changed 1, flagged 1, failed 0" in third.out

    events = cli("changes", "--format", "json").json()
    assert len(events) == 1
    event = events[0]
    assert {k: event[k] for k in ("id", "watch", "url", "kind", "removed", "added", "flags")} == {
        "id": 1,
        "watch": "face-zh",
        "url": site.url("/face"),
        "kind": "changed",
        "removed": ["、是否是维族", "uygur | 是否是维族"],
        "added": [],
        "flags": [{"term": "维族", "direction": "removed", "before": 2, "after": 0}],
    }
    assert event["from_snapshot"] == sha(page(stamp="2020-12-16 18:02:11"))
    assert event["to_snapshot"] == sha(page(stamp="2020-12-17 08:00:00", uyghur=False))
    assert event["detected_at"].endswith("Z")

    flagged = cli("changes", "--flagged").out
    assert "FLAG 维族 removed (2->0)" in flagged


def test_revert_gives_three_captures_and_two_provable_events(tmp_path, site, cli) -> None:
    path = watchlist(tmp_path, site)
    versions = [page(), page(uyghur=False), page()]
    for version in versions:
        site.set("/face", version)
        assert cli("check", "--watchlist", str(path)).code == 0
    events = cli("changes", "--format", "json").json()
    assert [(e["removed"], e["added"]) for e in events] == [
        (["、是否是维族", "uygur | 是否是维族"], []),
        ([], ["、是否是维族", "uygur | 是否是维族"]),
    ]
    assert [e["flags"][0]["direction"] for e in events] == ["removed", "added"]
    # Each snapshot is provable from the stored bytes.
    blobs = cli.data_dir / "blobs"
    for event in events:
        for digest in (event["from_snapshot"], event["to_snapshot"]):
            stored = gzip.decompress((blobs / digest[:2] / f"{digest}.gz").read_bytes())
            assert hashlib.sha256(stored).hexdigest() == digest
    history = cli("history", "face-zh").out.splitlines()
    assert len(history) == 1 + 3  # header + three captures
    assert cli("verify").out.strip() == "store OK"


def test_show_history_and_diff(tmp_path, site, cli) -> None:
    path = watchlist(tmp_path, site)
    site.set("/face", page())
    cli("check", "--watchlist", str(path))
    site.set("/face", page(uyghur=False))
    cli("check", "--watchlist", str(path))

    now = cli("show", "face-zh").out
    assert "是否是维族" not in now and "是否微笑" in now
    before = cli("show", "face-zh", "--at", "2000-01-01")
    assert before.code == 2 and "no capture" in before.err  # usage error (issue 18)
    history = cli("history", "face-zh").out
    assert history.count(" ok ") == 2

    report = tmp_path / "report.html"
    shown = cli("diff", "1", "--html", str(report))
    assert shown.code == 0
    assert "- uygur | 是否是维族" in shown.out
    assert "table row under 人脸属性识别 > 返回参数" in shown.out
    html = report.read_text(encoding="utf-8")
    assert '<html lang="zh">' in html
    # page text sits in <bdi> (a bidi override in it cannot spill over; issue 9)
    assert '<del><bdi>uygur | 是否是</bdi><mark class="term">维族</mark></del>' in html


def test_unknown_names_and_ids_are_usage_errors(tmp_path, site, cli) -> None:
    path = watchlist(tmp_path, site)
    result = cli("check", "--watchlist", str(path), "nope")
    assert result.code == 2 and "nope" in result.err
    assert cli("diff", "99").code == 2
    assert cli("history", "nope").code == 2
    assert cli("changes", "--since", "yesterday").code == 2


def test_invalid_watchlist_stops_before_any_fetch(tmp_path, site, cli) -> None:
    site.set("/face", page())
    path = write_watchlist(
        tmp_path / "bad.yaml",
        f"""
watches:
  - name: ok-one
    url: {site.url("/face")}
  - name: bad-one
    url: {site.url("/face")}
    every: 6x
""",
    )
    result = cli("check", "--watchlist", str(path))
    assert result.code == 2
    assert f"{path}:7: watch 'bad-one', field 'every'" in result.err
    assert not (cli.data_dir / "monitor.db").exists()


def test_gone_is_confirmed_then_restored(tmp_path, site, cli) -> None:
    path = watchlist(tmp_path, site)
    site.set("/face", page())
    cli("check", "--watchlist", str(path))
    site.pages.bodies.pop("/face")  # the demo server answers 404 for unknown paths
    first_404 = cli("check", "--watchlist", str(path))
    assert first_404.code == 0 and "gone" in first_404.out and "events" not in first_404.out
    assert "events: gone" in cli("check", "--watchlist", str(path)).out
    assert "events" not in cli("check", "--watchlist", str(path)).out  # no storm
    site.set("/face", page())
    assert "events: restored" in cli("check", "--watchlist", str(path)).out
    kinds = [e["kind"] for e in cli("changes", "--format", "json").json()]
    assert kinds == ["gone", "restored"]


def test_unreachable_page_does_not_fail_the_command(tmp_path, cli) -> None:
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"""
watches:
  - name: nowhere
    url: http://127.0.0.1:9/never
{FAST_SETTINGS}""",
    )
    result = cli("check", "--watchlist", str(path))
    assert result.code == 0
    assert "failed 1" in result.out


def test_processing_a_capture_directly_records_a_real_first_capture(tmp_path) -> None:
    """The pipeline's entry point must not mistake 'no hash given' for 'same bytes'."""
    from datetime import UTC, datetime

    from monitor.check import Checker
    from monitor.config.watchlist import Watch
    from monitor.model import Capture
    from monitor.store import Store

    with Store(tmp_path / "d") as store:
        checker = Checker(store, fetcher=None)  # type: ignore[arg-type]
        watch = Watch(name="w", url="http://127.0.0.1/x")
        checker.register([watch])
        capture = Capture(
            watch.url, datetime.now(UTC), status=200, final_url=watch.url, body=b"<p>first</p>"
        )
        first = checker.process(watch, capture)
        again = checker.process(watch, capture)
        checker.close()
        assert (first.outcome, again.outcome) == ("ok", "unchanged")
        assert store.state("w").reference == first.capture_id


def test_removal_of_text_between_a_rows_cells_is_reported(tmp_path, site, cli) -> None:
    # Markup a browser repairs (the text is shown before the table) and the parser
    # keeps inside the row: its removal must be seen like any other.
    stray = page().replace("<td>glasses</td>", "<td>glasses</td>注意：是否是维族")
    path = watchlist(tmp_path, site)
    site.set("/face", stray)
    assert cli("check", "--watchlist", str(path)).code == 0
    site.set("/face", page())
    assert "changed 1, flagged 1" in cli("check", "--watchlist", str(path)).out
    event = cli("changes", "--format", "json").json()[0]
    assert event["removed"] == ["注意：是否是维族"]
    assert event["flags"] == [{"term": "维族", "direction": "removed", "before": 3, "after": 2}]


def test_a_fix_to_extraction_never_reads_as_an_edit(tmp_path, site, cli, monkeypatch) -> None:
    # The reference was extracted by generation 1, whose heading took in the text
    # after it; the next real edit is compared with that page read again by today's
    # extractor, so only the edit is reported (not a heading that "lost" a sentence).
    with first_generation(monkeypatch):
        before = "<main><h2>人脸属性</h2>支持识别：是否戴眼镜、是否是维族<p>其他</p></main>"
        site.set("/face", before)
        path = watchlist(tmp_path, site)
        assert cli("check", "--watchlist", str(path)).code == 0
    stored = cli("show", "face-zh", "--format", "json").json()
    assert "是否是维族" in stored["blocks"][0]["text"]  # type: ignore[index]  # the old heading
    site.set("/face", before.replace("、是否是维族", ""))
    assert "changed 1, flagged 1" in cli("check", "--watchlist", str(path)).out
    event = cli("changes", "--format", "json").json()[0]  # type: ignore[index]
    assert event["removed"] == ["、是否是维族"]
    assert event["flags"] == [{"term": "维族", "direction": "removed", "before": 1, "after": 0}]
