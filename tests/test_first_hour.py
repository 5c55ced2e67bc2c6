"""A newcomer's first hour: JSON everywhere, no silent wrong answers, clear exit statuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FAST_SETTINGS, Site, write_watchlist
from test_cli_contract import documented_fields
from test_end_to_end import page

from monitor.model import Outcome, utc_now
from monitor.report.json import CHANGE_FIELDS
from monitor.store import CaptureRecord, Store


def watchlist(tmp_path: Path, site: Site) -> Path:
    return write_watchlist(
        tmp_path / "watch.yaml",
        f"""
defaults:
  terms: [维族]
watches:
  - name: face-zh
    url: {site.url("/face")}
    select: main
{FAST_SETTINGS}""",
    )


@pytest.fixture
def checked(tmp_path: Path, site: Site, cli) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """A data directory with two captures and one flagged change."""
    path = watchlist(tmp_path, site)
    data = tmp_path / "data"
    site.set("/face", page())
    assert cli("--data-dir", str(data), "check", "--watchlist", str(path)).code == 0
    site.set("/face", page(uyghur=False))
    assert cli("--data-dir", str(data), "check", "--watchlist", str(path)).code == 0
    return data, path


def test_json_shapes_match_the_contract(checked, cli) -> None:  # type: ignore[no-untyped-def]
    data, path = checked
    d = ("--data-dir", str(data))
    result = cli(*d, "check", "--watchlist", str(path), "--format", "json").json()
    assert set(result) == {"results", "summary"}
    assert list(result["results"][0]) == documented_fields("check")
    assert set(result["summary"]) == {"checked", "changed", "flagged", "failed"}
    assert list(cli(*d, "history", "face-zh", "--format", "json").json()[0]) == (
        documented_fields("history")
    )
    shown = cli(*d, "show", "face-zh", "--format", "json").json()
    assert list(shown) == documented_fields("show")
    assert "是否是维族" not in shown["text"]
    (change,) = cli(*d, "changes", "--format", "json").json()
    assert tuple(change) == CHANGE_FIELDS
    one = cli(*d, "diff", str(change["id"]), "--format", "json").json()
    assert tuple(one)[: len(CHANGE_FIELDS)] == CHANGE_FIELDS and "detail" in one
    valid = cli("watchlist", "validate", str(path), "--format", "json").json()
    assert set(valid) == {"path", "valid", "watches"}
    assert list(valid["watches"][0]) == documented_fields("watchlist validate")


def test_global_options_work_after_the_command(checked, cli) -> None:  # type: ignore[no-untyped-def]
    data, _ = checked
    after = cli("changes", "--data-dir", str(data), "--format", "json")
    assert after.code == 0 and len(after.json()) == 1


def test_show_after_a_304_names_the_capture_with_the_bytes(checked, cli) -> None:  # type: ignore[no-untyped-def]
    data, _ = checked
    with Store(data) as store:  # a 304 answer: text of the last capture, no body of its own
        last = store.captures("face-zh")[-1]
        record = CaptureRecord(
            "face-zh",
            last["url"],
            utc_now(),
            Outcome.NOT_MODIFIED,
            status=304,
            text_sha256=last["text_sha256"],
        )
        with store.recording() as writer:
            writer.add_capture(record)
    shown = cli("--data-dir", str(data), "show", "face-zh")
    assert "body sha256 None" not in shown.out
    assert f"not_modified: the bytes of capture {last['id']}" in shown.out
    assert (
        cli("--data-dir", str(data), "show", "face-zh", "--format", "json").json()["bytes_capture"]
        == last["id"]
    )


# (arguments after --data-dir DATA, expected exit status, words the message must contain)
USAGE_CASES = [
    (["changes"], 2, ["no monitor data in", "--data-dir"]),
    (["history", "face-zh"], 2, ["no monitor data in"]),
    (["show", "face-zh"], 2, ["no monitor data in"]),
    (["diff", "1"], 2, ["no monitor data in"]),
    (["verify"], 2, ["no monitor data in"]),
]


@pytest.mark.parametrize(("args", "status", "words"), USAGE_CASES, ids=lambda v: str(v))
def test_read_only_commands_refuse_a_directory_without_a_store(
    tmp_path: Path,
    cli,
    args: list[str],
    status: int,
    words: list[str],  # type: ignore[no-untyped-def]
) -> None:
    mistyped = tmp_path / "dta"
    result = cli("--data-dir", str(mistyped), *args)
    assert result.code == status
    assert all(w in result.err for w in words), result.err
    assert str(mistyped) in result.err
    assert not mistyped.exists()  # nothing was created


def test_usage_errors_are_exit_status_2(checked, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    data, _ = checked
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [
        (("--data-dir", str(a_file), "changes"), ["is a file"]),
        (("--data-dir", str(data), "show", "face-zh", "--at", "2000-01-01"), ["first capture"]),
        (
            ("--data-dir", str(data), "diff", "1", "--html", str(tmp_path / "no" / "r.html")),
            ["does not exist"],
        ),
        (("--data-dir", str(data), "history", "nope"), ["no watch named 'nope'", str(data)]),
    ]
    for args, words in cases:
        result = cli(*args)
        assert result.code == 2, (args, result.err)
        assert all(w in result.err for w in words), (args, result.err)
        assert "internal error" not in result.err


def test_html_report_links_raw_snapshots_relative_to_itself(checked, cli) -> None:  # type: ignore[no-untyped-def]
    data, _ = checked
    report = data / "reports" / "change-1.html"
    report.parent.mkdir()
    assert cli("--data-dir", str(data), "diff", "1", "--html", str(report)).code == 0
    html = report.read_text(encoding="utf-8")
    assert "file://" not in html
    assert 'href="../blobs/' in html


def test_a_page_gone_with_watched_terms_is_flagged(tmp_path: Path, site: Site, cli) -> None:  # type: ignore[no-untyped-def]
    """changes --flagged must show a whole page about 维族 disappearing (a 404)."""
    path = watchlist(tmp_path, site)
    data = ("--data-dir", str(tmp_path / "data"))
    site.set("/face", page())
    cli(*data, "check", "--watchlist", str(path))
    site.pages.bodies.pop("/face")  # now a 404
    cli(*data, "check", "--watchlist", str(path))
    confirmed = cli(*data, "check", "--watchlist", str(path), "--format", "json").json()
    assert confirmed["results"][0]["events"] == ["gone"] and confirmed["results"][0]["flagged"]
    (gone,) = cli(*data, "changes", "--flagged", "--format", "json").json()
    assert gone["kind"] == "gone"
    assert gone["flags"] == [{"term": "维族", "direction": "removed", "before": 2, "after": 0}]


def test_a_missing_selector_carries_the_terms_it_lost(tmp_path: Path, site: Site, cli) -> None:  # type: ignore[no-untyped-def]
    path = watchlist(tmp_path, site)
    data = ("--data-dir", str(tmp_path / "data"))
    site.set("/face", page())
    cli(*data, "check", "--watchlist", str(path))
    site.set("/face", "<html><body><div>页面改版 " + "新内容 " * 50 + "</div></body></html>")
    cli(*data, "check", "--watchlist", str(path))
    cli(*data, "check", "--watchlist", str(path))
    (event,) = cli(*data, "changes", "--flagged", "--format", "json").json()
    assert event["kind"] == "selector_missing"
    assert event["flags"][0]["term"] == "维族" and event["flags"][0]["after"] == 0


def test_a_second_checking_process_is_refused_naming_the_first(tmp_path: Path, site: Site) -> None:
    """Two check/run processes on one data directory: the second refuses at once."""
    import subprocess
    import sys
    import time

    path = watchlist(tmp_path, site)
    data = tmp_path / "data"
    site.set("/face", page())
    first = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--data-dir", str(data), "run", "--watchlist", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (data / "monitor.lock").exists():
            time.sleep(0.1)
        time.sleep(0.5)
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "monitor",
                "--data-dir",
                str(data),
                "check",
                "--watchlist",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2, second.stderr
        assert "another monitor, 'monitor run'" in second.stderr
        assert f"pid {first.pid}" in second.stderr
    finally:
        first.terminate()
        first.wait(timeout=30)
    # The lock goes with its process: checking works again at once.
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            "--data-dir",
            str(data),
            "check",
            "--watchlist",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr


SECTION = "<h2>返回参数</h2><p>age 年龄。</p><p>gender 性别。</p><p>glasses 是否戴眼镜。</p>"
REORDERED = "<h2>返回参数</h2><p>glasses 是否戴眼镜。</p><p>age 年龄。</p><p>gender 性别。</p>"


@pytest.mark.parametrize(
    ("moves", "reorder_alone_is_an_event"),
    [(None, False), ("section", False), ("any", True), ("ignore", False)],
)
def test_moves_are_recorded_every_time_and_the_setting_decides_alone(
    tmp_path: Path,
    site: Site,
    cli,
    moves: str | None,
    reorder_alone_is_an_event: bool,  # type: ignore[no-untyped-def]
) -> None:
    setting = f"\n    moves: {moves}" if moves else ""
    path = write_watchlist(
        tmp_path / "w.yaml",
        f"watches:\n  - name: p\n    url: {site.url('/p')}{setting}\n{FAST_SETTINGS}",
    )
    data = ("--data-dir", str(tmp_path / "data"))
    site.set("/p", "<h1>人脸</h1>" + SECTION)
    cli(*data, "check", "--watchlist", str(path))
    site.set("/p", "<h1>人脸</h1>" + REORDERED)  # a reorder within one section, alone
    cli(*data, "check", "--watchlist", str(path))
    events = cli(*data, "changes", "--format", "json").json()
    assert bool(events) == reorder_alone_is_an_event
    # With another edit, the same kind of reorder is always recorded as a move.
    site.set("/p", "<h1>人脸</h1>" + SECTION.replace("性别", "性别（已更新）"))
    cli(*data, "check", "--watchlist", str(path))
    last = cli(*data, "changes", "--format", "json").json()[-1]
    assert last["moved"] and all(m["from_path"] == ["人脸", "返回参数"] for m in last["moved"])
    assert {
        "change": "added",
        "text": "（已更新）",
        "path": ["人脸", "返回参数"],
        "kind": "text",
    } in (last["fragments"])
