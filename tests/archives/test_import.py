"""``monitor import wayback`` end to end against the local stub archive.

The stub serves the 2020 Cloud Shield page's archived history: a first version listing
是否是维族, a copy that differs only in its timestamp, a redirect, an archived 503, the
silent edit (removal), and a revert. Every replay in the default (view) mode carries the
archive's toolbar and rewritten links; only raw ``id_`` copies may reach extraction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FAST_SETTINGS, Site, write_watchlist

from monitor.demo import demo_page
from monitor.demo.wayback import WaybackStub
from monitor.documents.document import Document
from monitor.store import Store

NAME = "aliyun-cloud-shield-face-api"
V1, V2, V3 = (demo_page(f"aliyun-zh-v{n}.html") for n in (1, 2, 3))
HISTORY = [  # (timestamp, body, status, location)
    ("20201101080000", V1, 200, None),
    ("20201201080000", V2, 200, None),  # new bytes, same text after the ignore rule
    ("20201205080000", b"", 302, "https://help.aliyun.com/document_detail/moved.html"),
    ("20201208080000", b"<html><body>503 Service Temporarily Unavailable</body></html>", 503, None),
    ("20201218080000", V3, 200, None),  # the silent edit: 、是否是维族 removed
    ("20210110080000", V1, 200, None),  # and back again
]


@pytest.fixture
def archive(site: Site, monkeypatch: pytest.MonkeyPatch) -> Iterator[WaybackStub]:
    with WaybackStub() as stub:
        for timestamp, body, status, location in HISTORY:
            stub.add(site.url("/doc"), timestamp, body, status=status, location=location)
        monkeypatch.setenv("MONITOR_WAYBACK_URL", stub.base)
        monkeypatch.setenv("MONITOR_WAYBACK_PACING", "0")
        yield stub


@pytest.fixture
def watchlist(tmp_path: Path, site: Site) -> Path:
    site.set("/doc", V3)
    return write_watchlist(
        tmp_path / "w.yaml",
        f"""
defaults:
  terms: [维族, Uyghur]
watches:
  - name: {NAME}
    url: {site.url("/doc")}
    select: main
    exclude: [".feedback", ".sidebar", "nav"]
    ignore: ['^更新时间[:：].*$']
    terms: [是否是维族]
{FAST_SETTINGS}""",
    )


def changes(cli: Any) -> list[dict[str, Any]]:
    result = cli("changes", "--watch", NAME, "--format", "json")
    assert result.code == 0, result.err
    return list(result.json())


def test_history_is_imported_with_provenance_and_events(
    cli: Any, archive: WaybackStub, watchlist: Path
) -> None:
    archive.throttle("replay")  # the archive asks us to slow down once
    result = cli("import", "wayback", NAME, "--watchlist", str(watchlist))
    assert result.code == 0, result.err
    assert "asked us to slow down" in result.out
    assert "listed 6, imported 6" in result.out

    with Store(cli.data_dir) as store:
        rows = store.captures(NAME)
    assert [r["archived_at"][:10] for r in rows] == [
        "2020-11-01",
        "2020-12-01",
        "2020-12-05",
        "2020-12-08",
        "2020-12-18",
        "2021-01-10",
    ]
    assert {r["source"] for r in rows} == {"wayback"}
    redirect, failure = rows[2], rows[3]
    assert redirect["status"] == 302 and redirect["final_url"].endswith("/moved.html")
    assert "archived redirect" in redirect["error"] and redirect["body_sha256"] is None
    assert failure["status"] == 503 and failure["outcome"] == "transient"
    first = rows[0]
    assert first["archive_url"] == f"{archive.base}/web/20201101080000/{first['final_url']}"
    assert first["archive_digest"] and first["body_sha256"]

    events = changes(cli)
    assert [(e["kind"], e["detected_at"], e["source"]) for e in events] == [
        ("changed", "2020-12-18T08:00:00Z", "wayback"),
        ("changed", "2021-01-10T08:00:00Z", "wayback"),
    ]
    removal, revert = events
    assert any("是否是维族" in text for text in removal["removed"])
    flags = {f["term"]: (f["direction"], f["after"]) for f in removal["flags"]}
    assert flags["是否是维族"] == ("removed", 0)
    assert any("是否是维族" in text for text in revert["added"])
    assert removal["witnesses"] == []  # history is never sent to Save Page Now


def test_the_archive_toolbar_never_reaches_extraction(
    cli: Any, archive: WaybackStub, watchlist: Path
) -> None:
    assert cli("import", "wayback", NAME, "--watchlist", str(watchlist)).code == 0
    replays = [r.path for r in archive.seen("/web/")]
    assert replays and all(path.split("/")[2].endswith("id_") for path in replays)
    with Store(cli.data_dir) as store:
        texts = [
            Document.from_json(store.get_blob(r["text_sha256"])).text
            for r in store.captures(NAME)
            if r["text_sha256"]
        ]
        bodies = [
            store.get_blob(r["body_sha256"]) for r in store.captures(NAME) if r["body_sha256"]
        ]
    assert len(texts) == 4
    assert not any("Wayback Machine" in t or "COLLECTED BY" in t for t in texts)
    assert not any(b"wombat" in b or b"/web/2020" in b for b in bodies)


def test_a_rewritten_copy_is_refused_not_extracted(
    cli: Any, archive: WaybackStub, watchlist: Path, site: Site
) -> None:
    """An archive that ignored id_ and sent its toolbar: the copy is kept, never read."""
    archive.add(
        site.url("/doc"),
        "20210301080000",
        V1.replace(b"<body>", b"<body><!-- BEGIN WAYBACK TOOLBAR INSERT --><div>toolbar</div>"),
    )
    assert cli("import", "wayback", NAME, "--watchlist", str(watchlist)).code == 0
    with Store(cli.data_dir) as store:
        last = store.captures(NAME)[-1]
    assert last["outcome"] == "error" and last["text_sha256"] is None
    assert "rewritten page" in last["error"]


def test_rerun_adds_only_new_captures_and_resumes(
    cli: Any, archive: WaybackStub, watchlist: Path, site: Site
) -> None:
    first = cli("import", "wayback", NAME, "--watchlist", str(watchlist), "--limit", "2")
    assert first.code == 0 and "imported 2" in first.out and "run the same command" in first.out
    second = cli("import", "wayback", NAME)
    assert "imported 4, already had 2" in second.out
    third = cli("import", "wayback", NAME)
    assert "imported 0, already had 6" in third.out and "new change events 0" in third.out
    assert len(changes(cli)) == 2

    # A copy found later inside a derived event's interval: the wider event is superseded.
    archive.add(
        site.url("/doc"), "20201215080000", V3.replace(b"<td>bizType</td>", b"<td>bizTypeX</td>")
    )
    cli("import", "wayback", NAME)
    events = changes(cli)
    assert [e["detected_at"][:10] for e in events] == ["2020-12-15", "2020-12-18", "2021-01-10"]
    assert any("是否是维族" in t for t in events[0]["removed"])
    with Store(cli.data_dir) as store:
        kept = store.change(1)  # the superseded event is still evidence
    assert kept["superseded_at"]


def test_from_to_limit_the_window(cli: Any, archive: WaybackStub, watchlist: Path) -> None:
    result = cli(
        "import",
        "wayback",
        NAME,
        "--watchlist",
        str(watchlist),
        "--from",
        "2020-12-10",
        "--to",
        "2020-12-31",
    )
    assert "listed 1, imported 1" in result.out
    query = dict(archive.seen("/cdx")[0].query)
    assert (query["from"], query["to"]) == ("20201210000000", "20201231235959")


def test_live_checks_continue_from_the_archive(
    cli: Any, archive: WaybackStub, watchlist: Path
) -> None:
    """Imported before the first check: the first check compares with the archive's
    latest copy, so the change between the two is not lost; history interleaves."""
    assert cli("import", "wayback", NAME, "--watchlist", str(watchlist)).code == 0
    check = cli("check", "--watchlist", str(watchlist))
    assert check.code == 0, check.err
    events = changes(cli)
    assert len(events) == 3
    latest = events[-1]
    assert latest["source"] == "wayback"  # compared against an archived copy
    assert any("是否是维族" in t for t in latest["removed"])
    history = cli("history", NAME)
    lines = history.out.splitlines()[1:]
    assert "wayback" in lines[0] and "wayback" not in lines[-1]
    shown = cli("show", NAME, "--at", "2020-11-15T00:00:00Z")
    assert "是否是维族" in shown.out and "archived" in shown.out.splitlines()[0]


def test_unknown_watch_and_bad_window_are_usage_errors(cli: Any, archive: WaybackStub) -> None:
    assert cli("import", "wayback", "nope").code == 2
    bad = cli("import", "wayback", "nope", "--from", "2021-01-01", "--to", "2020-01-01")
    assert bad.code == 2


def test_schema_columns_are_nullable_for_live_captures(cli: Any, watchlist: Path) -> None:
    assert cli("check", "--watchlist", str(watchlist)).code == 0
    database = sqlite3.connect(Path(cli.data_dir) / "monitor.db")
    row = database.execute(
        "SELECT source, archived_at, archive_url, archive_digest FROM captures"
    ).fetchone()
    assert row == (None, None, None, None)
    assert json.loads(cli("changes", "--format", "json").out) == []


def test_an_archive_failure_skips_one_copy_until_the_next_run(
    cli: Any, archive: WaybackStub, watchlist: Path
) -> None:
    archive.fail("replay", 3)  # our client retries network errors, not the archive's 503s
    first = cli("import", "wayback", NAME, "--watchlist", str(watchlist))
    assert first.code == 0, first.err
    assert "not served by the archive 3" in first.out and "run the same command" in first.out
    second = cli("import", "wayback", NAME)
    assert "imported 3, already had 3" in second.out
    assert len(changes(cli)) == 2
    assert cli("verify").code == 0


def test_a_mirror_of_the_same_archive_adds_nothing_new(
    cli: Any, archive: WaybackStub, watchlist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("import", "wayback", NAME, "--watchlist", str(watchlist)).code == 0
    mirror = archive.base.replace("127.0.0.1", "localhost")
    monkeypatch.setenv("MONITOR_WAYBACK_URL", mirror)
    again = cli("import", "wayback", NAME)
    assert "imported 0, already had 6" in again.out


def test_an_archive_that_keeps_refusing_stops_the_import_keeping_its_work(
    cli: Any, archive: WaybackStub, watchlist: Path
) -> None:
    archive.retry_after = "0"
    first = cli("import", "wayback", NAME, "--watchlist", str(watchlist), "--limit", "5")
    assert first.code == 0
    archive.throttle("replay", 100)
    stopped = cli("import", "wayback", NAME)
    assert stopped.code == 1 and "slow down" in stopped.err
    assert len(changes(cli)) == 1  # the events of the five imported copies are there
    archive.throttle("replay", -100)
    assert "imported 1, already had 5" in cli("import", "wayback", NAME).out
    assert len(changes(cli)) == 2


def test_derived_events_show_their_provenance_in_diff_and_html(
    cli: Any, archive: WaybackStub, watchlist: Path, tmp_path: Path
) -> None:
    assert cli("import", "wayback", NAME, "--watchlist", str(watchlist)).code == 0
    removal = changes(cli)[0]
    html = tmp_path / "r.html"
    text = cli("diff", str(removal["id"]), "--html", str(html)).out
    assert "derived from archived copies (wayback)" in text
    assert "archived 2020-12-18T08:00:00" in text and "/web/20201218080000/" in text
    page = html.read_text(encoding="utf-8")
    assert "derived from archived copies" in page and "/web/20201218080000/" in page
    as_json = cli("diff", str(removal["id"]), "--format", "json").json()
    assert as_json["source"] == "wayback" and as_json["witnesses"] == []


def test_events_found_in_imported_history_are_never_alerted(
    cli: Any, archive: WaybackStub, watchlist: Path
) -> None:
    from datetime import UTC, datetime

    from monitor.config.routes import parse_route
    from monitor.notify import open_outbox

    route = parse_route({"name": "team", "urls": ["json://127.0.0.1:9/hook"], "wait": 0})
    with Store(cli.data_dir) as store, open_outbox(store.location) as outbox:
        outbox.register([route], {"team": {}}, datetime.now(UTC))  # exists before the import
    assert cli("import", "wayback", NAME, "--watchlist", str(watchlist)).code == 0
    assert len(changes(cli)) == 2  # flagged, but found in the past
    with Store(cli.data_dir) as store, open_outbox(store.location) as outbox:
        assert outbox.held(route) == []
