"""Watchlist loading: every rejection names file, line, watch and field; defaults merge."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

import pytest
import yaml

from monitor.config.fields import format_interval, parse_interval
from monitor.config.settings import Settings
from monitor.config.watchlist import (
    DEFAULT_EVERY_SECONDS,
    Watch,
    Watchlist,
    load_watchlist,
    loads_watchlist,
)
from monitor.errors import ConfigError, WatchlistError

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "watchlists"
SHIPPED = ROOT / "watchlists" / "face-and-moderation.yaml"


def y(text: str) -> str:
    """Dedent a YAML snippet so that its first line is line 1."""
    return textwrap.dedent(text).lstrip("\n")


# A valid watch to append where a case needs one (lines 2-3 of a file after "watches:").
OK_WATCH = "  - name: ok\n    url: https://example.com/\n"


# Invalid watchlists and the error each must give, as data (one case per item).
BAD = [
    pytest.param(c["text"], c["line"], c["entry"], c["field"], c["reason"], id=c["id"])
    for c in yaml.safe_load((DATA.parent / "invalid-watchlists.yaml").read_text(encoding="utf-8"))
]


@pytest.mark.parametrize(("text", "line", "entry", "field", "reason"), BAD)
def test_bad_watchlists_are_rejected_precisely(
    text: str, line: int | None, entry: str | None, field: str | None, reason: str
) -> None:
    with pytest.raises(WatchlistError) as caught:
        loads_watchlist(text, "w.yaml")
    error = caught.value
    assert (error.file, error.line, error.entry, error.field) == ("w.yaml", line, entry, field)
    assert reason in error.reason
    assert str(error).startswith("w.yaml:" if line is not None else "w.yaml: ")


def test_watchlist_error_is_a_config_error_with_exit_status_2() -> None:
    with pytest.raises(ConfigError) as caught:
        loads_watchlist("watches: []\n")
    assert caught.value.exit_code == 2


def test_error_message_format_names_file_line_watch_and_field() -> None:
    with pytest.raises(WatchlistError) as caught:
        load_watchlist(DATA / "bad-interval.yaml")
    assert str(caught.value) == (
        f"{DATA / 'bad-interval.yaml'}:8: watch 'broken', field 'every': "
        "bad interval '6x': use a number followed by s, m, h or d, like 6h or 1h30m"
    )


# --- files --------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(WatchlistError, match="file not found") as caught:
        load_watchlist(path)
    assert caught.value.file == str(path)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(WatchlistError, match="is a directory"):
        load_watchlist(tmp_path)


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("watches:\n  - name: a\n    vendor: Bj\xf6rk\n".encode("latin-1"))
    with pytest.raises(WatchlistError, match="not valid UTF-8") as caught:
        load_watchlist(path)
    assert caught.value.line == 3


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (DATA / "minimal.yaml").read_bytes())
    assert load_watchlist(path).names == ("only",)


def test_load_accepts_str_and_path() -> None:
    by_path = load_watchlist(DATA / "minimal.yaml")
    by_str = load_watchlist(str(DATA / "minimal.yaml"))
    assert by_path == by_str
    assert by_path.path == str(DATA / "minimal.yaml")
    assert by_path.watches == (Watch(name="only", url="https://example.com/"),)
    assert by_path.settings == Settings()


# --- merging defaults ------------------------------------------------------------


@pytest.fixture(scope="module")
def merged() -> Watchlist:
    return load_watchlist(DATA / "merging.yaml")


def test_settings_are_read(merged: Watchlist) -> None:
    assert merged.settings == Settings(
        user_agent_contact="research@example.org",
        max_connections=3,
        per_host=1,
        host_delay=1.5,
        unreachable_after=4,
        gone_after=5,
    )


def test_a_watch_inherits_every_default(merged: Watchlist) -> None:
    watch = merged.watches[0]
    assert watch == Watch(
        name="inherits-everything",
        url="https://docs.example.com/face",
        vendor="Example Vendor",
        tags=("face",),
        select="main, article",
        exclude=("nav",),
        ignore=("^更新时间[:：].*$",),
        terms=("维族", "维吾尔", "Uyghur", "Uighur"),
        every_seconds=21600.0,
        cron=None,
        headers=(("Accept-Language", "en-US"), ("X-Trace", "default")),
        notes=None,
    )


def test_lists_are_added_to_the_defaults_deduplicated_defaults_first(merged: Watchlist) -> None:
    watch = merged.watches[1]
    assert watch.terms == ("维族", "维吾尔", "Uyghur", "Uighur", "是否是维族", "民族")
    assert watch.tags == ("face", "zh")
    assert watch.exclude == ("nav", ".feedback")
    assert watch.ignore == ("^更新时间[:：].*$", "Last updated: .*")


def test_scalars_replace_the_defaults_and_null_clears_them(merged: Watchlist) -> None:
    watch = merged.watches[1]
    assert watch.vendor == "Other Vendor"
    assert watch.select is None  # `select: null` drops the default rule
    assert watch.notes == "the founding case"


def test_headers_merge_case_insensitively_and_the_watch_wins(merged: Watchlist) -> None:
    assert merged.watches[1].headers == (
        ("accept-language", "zh-CN"),
        ("X-Trace", "default"),
        ("X-Extra", "1"),
    )


def test_schedules(merged: Watchlist) -> None:
    inherits, with_cron, own = merged.watches
    assert (inherits.every_seconds, inherits.cron) == (21600.0, None)
    assert (with_cron.every_seconds, with_cron.cron) == (None, "0 */2 * * *")
    assert (own.every_seconds, own.cron) == (5400.0, None)


@pytest.mark.parametrize(
    ("defaults", "own", "every_seconds", "cron"),
    [
        ("", "", DEFAULT_EVERY_SECONDS, None),
        ("defaults: {every: 2h}\n", "", 7200.0, None),
        ("defaults: {cron: '0 3 * * *'}\n", "", None, "0 3 * * *"),
        ("defaults: {every: 2h}\n", "    cron: '0 3 * * *'\n", None, "0 3 * * *"),
        ("defaults: {cron: '0 3 * * *'}\n", "    every: 90m\n", 5400.0, None),
        ("defaults: {cron: '0 3 * * *'}\n", "    cron: '*/5 * * * *'\n", None, "*/5 * * * *"),
        ("", "    every: 3600\n", 3600.0, None),
        ("", "    every: 60s\n", 60.0, None),
    ],
    ids=[
        "nothing",
        "default-every",
        "default-cron",
        "own-cron-over-default-every",
        "own-every-over-default-cron",
        "own-cron-over-default-cron",
        "bare-seconds",
        "minimum",
    ],
)
def test_every_and_cron_override_each_other(
    defaults: str, own: str, every_seconds: float | None, cron: str | None
) -> None:
    text = defaults + "watches:\n  - name: a\n    url: https://x\n" + own
    watch = loads_watchlist(text).watches[0]
    assert (watch.every_seconds, watch.cron) == (every_seconds, cron)


def test_terms_are_stripped_and_deduplicated_in_order() -> None:
    text = y("""
        defaults:
          terms: [维族, " Uyghur "]
        watches:
          - name: a
            url: https://x
            terms: [Uyghur, 是否是维族, 维族, 是否是维族]
        """)
    assert loads_watchlist(text).watches[0].terms == ("维族", "Uyghur", "是否是维族")


def test_empty_optional_sections_are_allowed() -> None:
    text = "defaults:\nsettings:\nwatches:\n  - name: a\n    url: https://x\n    terms:\n"
    wl = loads_watchlist(text)
    assert wl.settings == Settings()
    assert wl.watches[0].terms == ()


def test_ignore_patterns_apply_per_line_not_to_the_whole_page() -> None:
    from monitor.documents.html import extract_html

    watch = Watch("a", "https://x", ignore=("^更新时间[:：].*$", "Last updated: .*"))
    page = "<p>人脸属性</p><p>更新时间：2020-12-01</p><p>是否是维族 Last updated: today</p>"
    text = extract_html(page, watch.select, watch.exclude, watch.ignore).text
    assert text == "人脸属性\n是否是维族"


def test_watch_is_frozen_and_serialisable() -> None:
    watch = loads_watchlist((DATA / "merging.yaml").read_text(encoding="utf-8")).watches[1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        watch.name = "other"  # type: ignore[misc]
    config = dataclasses.asdict(watch)
    assert config["headers"][0] == ("accept-language", "zh-CN")
    assert "ignore_patterns" not in config


# --- intervals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6h", 21600.0),
        ("1h30m", 5400.0),
        ("1d2h3m4s", 93784.0),
        ("90m", 5400.0),
        ("45s", 45.0),
        ("2d", 172800.0),
        ("1h 30m", 5400.0),
        (" 6H ", 21600.0),
        ("3600", 3600.0),
        (3600, 3600.0),
        (90.5, 90.5),
        ("0s", 0.0),
    ],
)
def test_parse_interval(text: str | int | float, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    "text", ["6x", "", "h", "6 hours", "-1h", "1.5h", "6h-", -5, float("nan"), True, None]
)
def test_parse_interval_rejects_with_a_clear_message(text: object) -> None:
    with pytest.raises(ValueError, match=r"bad interval .*(like 6h|positive)"):
        parse_interval(text)  # type: ignore[arg-type]


@pytest.mark.parametrize("seconds", [60.0, 90.0, 3600.0, 5400.0, 21600.0, 93784.0])
def test_format_interval_round_trips(seconds: float) -> None:
    assert parse_interval(format_interval(seconds)) == seconds


# --- selecting watches -----------------------------------------------------------------


def test_select_empty_means_all(merged: Watchlist) -> None:
    assert merged.select([]) == merged.watches


def test_select_keeps_watchlist_order_and_drops_repeats(merged: Watchlist) -> None:
    chosen = merged.select(["own-interval", "inherits-everything", "own-interval"])
    assert [w.name for w in chosen] == ["inherits-everything", "own-interval"]


def test_select_unknown_name_lists_the_known_ones(merged: Watchlist) -> None:
    with pytest.raises(WatchlistError) as caught:
        merged.select(["inherits-everything", "own-intervall", "zzz"])
    message = str(caught.value)
    assert "no watch named 'own-intervall', 'zzz'" in message
    assert "did you mean 'own-interval'?" in message
    assert "known watches: inherits-everything, adds-and-overrides, own-interval" in message
    assert caught.value.file == merged.path


# --- the shipped watchlist ---------------------------------------------------------------

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


@pytest.fixture(scope="module")
def shipped() -> Watchlist:
    return load_watchlist(SHIPPED)


def test_shipped_watchlist_loads(shipped: Watchlist) -> None:
    assert len(shipped.watches) >= 10
    assert all(w.url.startswith("https://") for w in shipped.watches)
    assert all(w.every_seconds and w.every_seconds >= 3600 for w in shipped.watches)


def test_shipped_watchlist_has_terms_in_english_and_chinese(shipped: Watchlist) -> None:
    for watch in shipped.watches:
        assert any(_CJK.search(t) for t in watch.terms), watch.name
        assert any(_LATIN.search(t) for t in watch.terms), watch.name
        for term in ("Uyghur", "维族", "民族", "ethnicity"):
            assert term in watch.terms, (watch.name, term)


def test_shipped_watchlist_covers_the_vendors(shipped: Watchlist) -> None:
    hosts = {w.url.split("/")[2] for w in shipped.watches}
    for host in (
        "help.aliyun.com",
        "www.alibabacloud.com",
        "docs.aws.amazon.com",
        "learn.microsoft.com",
        "cloud.google.com",
        "console.faceplusplus.com",
        "console.faceplusplus.com.cn",
        "ai.baidu.com",
        "cloud.tencent.com",
    ):
        assert host in hosts
    founding = shipped.select(["aliyun-cloud-shield-face-api"])[0]
    assert founding.url == "https://help.aliyun.com/document_detail/70429.html"
    assert "是否是维族" in founding.terms


def test_shipped_watchlist_comments_every_entry() -> None:
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if line.startswith("  - name:"):
            assert lines[number - 1].lstrip().startswith("#"), f"no comment above line {number + 1}"


def test_shipped_ignore_rules_drop_update_stamps_only(shipped: Watchlist) -> None:
    watch = shipped.select(["aliyun-cloud-shield-face-api"])[0]
    joined = re.compile("|".join(f"(?:{p})" for p in watch.ignore), re.MULTILINE)
    for stamp in (
        "更新时间: 2019-05-28 10:00:00",
        "最近更新时间：2025-09-12 02:28:11",
        "Last updated 2024-12-19 UTC.",
        "Last Updated:Jan 09, 2025",
        "Updated at: 2024-04-23",
        "2024-04-23 14:21:53",
    ):
        assert joined.sub("", stamp) == "", stamp
    for content in ("是否是维族", "The last updated timestamp is returned", "种族 更新时间: x"):
        assert joined.sub("", content) == content
