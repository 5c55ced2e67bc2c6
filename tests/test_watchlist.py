"""Watchlist loading: every rejection names file, line, watch and field; defaults merge."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

import pytest

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


# (yaml text, line, entry, field, substring of the reason); kept compact on purpose.
# fmt: off
BAD = [
    # --- YAML itself -------------------------------------------------------------
    pytest.param(
        y("""
        watches:
          - name: a
            url: [https://x
        """),
        4, None, None, "YAML syntax error", id="yaml-syntax",
    ),
    pytest.param(
        "watches:\n\t- name: a\n",
        2, None, None, "not tabs", id="yaml-tab",
    ),
    pytest.param(
        y("""
        watches:
          - name: a: b
        """),
        2, None, None, "in quotes", id="yaml-colon-in-value",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            ignore: "\\d+"
        """),
        4, None, None, "single quotes", id="yaml-double-quoted-regex",
    ),
    pytest.param(
        "watches: []\n---\nwatches: []\n",
        2, None, None, "single document", id="yaml-two-documents",
    ),
    pytest.param(
        "watches:\n  - name: a\x07\n",
        2, None, None, "unacceptable character #x0007", id="yaml-control-character",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://a
            url: https://b
        """),
        4, "a", "url", "duplicate key 'url' (first on line 3)", id="duplicate-yaml-key",
    ),
    # --- top level ---------------------------------------------------------------
    pytest.param("", None, None, None, "file is empty", id="empty-file"),
    pytest.param("# only a comment\n", None, None, None, "file is empty", id="comment-only"),
    pytest.param(
        "- name: a\n  url: https://x\n",
        1, None, None, "top level must be a mapping", id="top-level-list",
    ),
    pytest.param("just text\n", 1, None, None, "top level must be a mapping", id="top-scalar"),
    pytest.param(
        "defaults: {every: 1h}\n",
        1, None, "watches", "missing required key 'watches'", id="missing-watches",
    ),
    pytest.param(
        "watches: []\n", 1, None, "watches", "watches list is empty", id="empty-watches",
    ),
    pytest.param("watches:\n", 1, None, "watches", "expected a list", id="null-watches"),
    pytest.param(
        "watches: {name: a, url: 'https://x'}\n",
        1, None, "watches", "expected a list", id="watches-not-list",
    ),
    pytest.param(
        "watches:\n" + OK_WATCH + "extra: 1\n",
        4, None, "extra", "unknown key 'extra'", id="unknown-top-level-key",
    ),
    pytest.param(
        "watchs:\n" + OK_WATCH,
        1, None, "watchs", "did you mean 'watches'?", id="misspelt-watches",
    ),
    # --- defaults ----------------------------------------------------------------
    pytest.param(
        "defaults:\n  evry: 1h\nwatches:\n" + OK_WATCH,
        2, None, "defaults.evry", "did you mean 'every'?", id="defaults-unknown-key",
    ),
    pytest.param(
        "defaults:\n  url: https://x\nwatches:\n" + OK_WATCH,
        2, None, "defaults.url", "cannot be a default", id="defaults-url",
    ),
    pytest.param(
        "defaults: [every, 1h]\nwatches:\n" + OK_WATCH,
        1, None, "defaults", "expected a mapping", id="defaults-not-mapping",
    ),
    pytest.param(
        "defaults:\n  every: 30s\nwatches:\n" + OK_WATCH,
        2, None, "defaults.every", "minimum of 60s", id="defaults-interval-too-small",
    ),
    pytest.param(
        "defaults:\n  every: 1h\n  cron: '0 * * * *'\nwatches:\n" + OK_WATCH,
        3, None, "defaults.cron", "either every or cron", id="defaults-every-and-cron",
    ),
    pytest.param(
        "defaults:\n  terms: [维族, '']\nwatches:\n" + OK_WATCH,
        2, None, "defaults.terms", "empty term", id="defaults-empty-term",
    ),
    # --- settings ----------------------------------------------------------------
    pytest.param(
        "settings:\n  per_hosts: 2\nwatches:\n" + OK_WATCH,
        2, None, "settings.per_hosts", "did you mean 'per_host'?", id="settings-unknown-key",
    ),
    pytest.param(
        "settings: 3\nwatches:\n" + OK_WATCH,
        1, None, "settings", "expected a mapping", id="settings-not-mapping",
    ),
    pytest.param(
        "settings:\n  per_host: 0\nwatches:\n" + OK_WATCH,
        2, None, "settings.per_host", "at least 1", id="settings-per-host-zero",
    ),
    pytest.param(
        "settings:\n  max_connections: 0\nwatches:\n" + OK_WATCH,
        2, None, "settings.max_connections", "at least 1", id="settings-max-connections-zero",
    ),
    pytest.param(
        "settings:\n  max_connections: yes\nwatches:\n" + OK_WATCH,
        2, None, "settings.max_connections", "expected a whole number", id="settings-bool",
    ),
    pytest.param(
        "settings:\n  unreachable_after: '3'\nwatches:\n" + OK_WATCH,
        2, None, "settings.unreachable_after", "expected a whole number", id="settings-str",
    ),
    pytest.param(
        "settings:\n  gone_after: 2.5\nwatches:\n" + OK_WATCH,
        2, None, "settings.gone_after", "expected a whole number", id="settings-float",
    ),
    pytest.param(
        "settings:\n  host_delay: -1\nwatches:\n" + OK_WATCH,
        2, None, "settings.host_delay", "at least 0", id="settings-negative-delay",
    ),
    pytest.param(
        "settings:\n  host_delay: .inf\nwatches:\n" + OK_WATCH,
        2, None, "settings.host_delay", "finite number", id="settings-infinite-delay",
    ),
    pytest.param(
        "settings:\n  user_agent_contact: call me\nwatches:\n" + OK_WATCH,
        2, None, "settings.user_agent_contact", "email address or a URL", id="settings-contact",
    ),
    # --- watch: shape, name, url ---------------------------------------------------
    pytest.param(
        "watches:\n" + OK_WATCH + "  - just-a-string\n",
        4, "#2", None, "expected a mapping", id="watch-not-mapping",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            urll: https://x
        """),
        3, "a", "urll", "did you mean 'url'?", id="watch-unknown-key",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            vendor: V
        """),
        2, "a", "url", "missing required key 'url'", id="missing-url",
    ),
    pytest.param(
        y("""
        watches:
          - url: https://x
        """),
        2, "#1", "name", "missing required key 'name'", id="missing-name",
    ),
    pytest.param(
        y("""
        watches:
          - name: Face API
            url: https://x
        """),
        2, "#1", "name", "bad name 'Face API'", id="bad-name",
    ),
    pytest.param(
        y("""
        watches:
          - name: -leading-dash
            url: https://x
        """),
        2, "#1", "name", "starting with a letter or digit", id="bad-name-leading-dash",
    ),
    pytest.param(
        "watches:\n  - name: " + "a" * 101 + "\n    url: https://x\n",
        2, "#1", "name", "the maximum is 100", id="name-too-long",
    ),
    pytest.param(
        y("""
        watches:
          - name: 42
            url: https://x
        """),
        2, "#1", "name", "expected text", id="name-not-text",
    ),
    pytest.param(
        y("""
        watches:
          - name: same
            url: https://a
          - name: other
            url: https://b
          - name: same
            url: https://c
        """),
        6, "same", "name", "duplicate name 'same' (first used on line 2)", id="duplicate-name",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: ftp://example.com/doc
        """),
        3, "a", "url", "unsupported URL scheme 'ftp'", id="url-ftp",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: file:///etc/passwd
        """),
        3, "a", "url", "unsupported URL scheme 'file'", id="url-file",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: help.aliyun.com/document_detail/70429.html
        """),
        3, "a", "url", "no scheme", id="url-no-scheme",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https:///path-only
        """),
        3, "a", "url", "has no host", id="url-no-host",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://example.com/a page
        """),
        3, "a", "url", "contains spaces", id="url-space",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://example.com:99999/
        """),
        3, "a", "url", "bad port", id="url-bad-port",
    ),
    # --- watch: schedule -----------------------------------------------------------
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            every: 6x
        """),
        4, "a", "every", "use a number followed by s, m, h or d, like 6h", id="bad-interval",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            every: 1.5h
        """),
        4, "a", "every", "like 1h30m for 1.5h", id="fractional-interval",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            every: [1h]
        """),
        4, "a", "every", "bad interval", id="interval-list",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            every: 59s
        """),
        4, "a", "every", "below the minimum of 60s", id="interval-below-minimum",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            every: 10
        """),
        4, "a", "every", "below the minimum of 60s", id="bare-seconds-below-minimum",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            every: 1h
            cron: "0 * * * *"
        """),
        5, "a", "cron", "use either every or cron, not both", id="every-and-cron",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            cron: "0 */6 * *"
        """),
        4, "a", "cron", "Wrong number of fields", id="cron-four-fields",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            cron: "61 * * * *"
        """),
        4, "a", "cron", "like '0 */6 * * *'", id="cron-bad-minute",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            cron: "@daily"
        """),
        4, "a", "cron", "bad cron expression '@daily'", id="cron-nickname",
    ),
    # --- watch: rules --------------------------------------------------------------
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            ignore:
              - '^Updated: .*$'
              - '(unclosed'
        """),
        6, "a", "ignore", "missing ), unterminated subpattern", id="bad-regex-item",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            ignore: '[z-a]'
        """),
        4, "a", "ignore", "bad character range", id="bad-regex-string",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            ignore: ['(?i)updated']
        """),
        4, "a", "ignore", "scoped flag like (?i:...)", id="regex-global-flag",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            ignore: ['']
        """),
        4, "a", "ignore", "empty ignore pattern", id="empty-regex",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            select: "div["
        """),
        4, "a", "select", "bad CSS selector 'div['", id="bad-css-select",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            select: "p::before"
        """),
        4, "a", "select", "Pseudo-elements are not supported", id="css-expression-error",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            select: " "
        """),
        4, "a", "select", "empty CSS selector", id="empty-css-select",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            exclude: ">> nav"
        """),
        4, "a", "exclude", "bad CSS selector", id="bad-css-exclude-string",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            exclude:
              - nav
              - footer
              - "a[href"
        """),
        7, "a", "exclude", "bad CSS selector 'a[href'", id="bad-css-exclude-item",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            terms: 维族
        """),
        4, "a", "terms", "expected a list", id="terms-not-list",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            terms: {维族: 1}
        """),
        4, "a", "terms", "expected a list", id="terms-mapping",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            terms:
              - 维族
              - 2020
        """),
        6, "a", "terms", "expected text, got a number (2020)", id="terms-number",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            terms: [维族, ""]
        """),
        4, "a", "terms", "empty term", id="empty-term",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            terms:
              - "   "
        """),
        5, "a", "terms", "empty term", id="blank-term",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            tags: [zh, ""]
        """),
        4, "a", "tags", "empty tag", id="empty-tag",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            tags: zh
        """),
        4, "a", "tags", "expected a list", id="tags-not-list",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            headers: [Accept-Language, zh-CN]
        """),
        4, "a", "headers", "expected a mapping", id="headers-not-mapping",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            headers:
              Accept-Language: zh-CN
              DNT: 1
        """),
        6, "a", "headers", "put the value in quotes", id="header-value-number",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            headers:
              Accept Language: zh-CN
        """),
        5, "a", "headers", "bad header name 'Accept Language'", id="header-bad-name",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            vendor: ""
        """),
        4, "a", "vendor", "empty value", id="empty-vendor",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            notes: 2020-12-16
        """),
        4, "a", "notes", "got a date (2020-12-16); put the value in quotes", id="notes-date",
    ),
    pytest.param(
        y("""
        watches:
          - name: a
            url: https://x
            vendor: yes
        """),
        4, "a", "vendor", "expected text, got true/false", id="vendor-bool",
    ),
    # --- the entry is named correctly further down a file --------------------------
    pytest.param(
        y("""
        defaults:
          every: 6h
        watches:
          - name: first
            url: https://example.com/1
          - name: second
            url: https://example.com/2
            every: 6x
        """),
        8, "second", "every", "bad interval '6x'", id="second-watch",
    ),
    pytest.param(
        y("""
        watches:
          - name: first
            url: https://example.com/1
          - name: BAD
            url: gopher://example.com/2
        """),
        4, "#2", "name", "bad name 'BAD'", id="earliest-error-wins",
    ),
]
# fmt: on


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
