"""The documented answers of the Wayback Machine's APIs, parsed: tables of input and meaning."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.archives.spn import (
    Credentials,
    ErrorKind,
    error_kind,
    parse_status,
    parse_submit,
    parse_user_status,
)
from monitor.archives.wayback import (
    ProtocolError,
    base_url,
    cdx_params,
    furniture,
    parse_cdx_json,
    parse_replay_location,
    parse_wayback_timestamp,
)
from monitor.errors import ConfigError

HEADER = ["timestamp", "original", "mimetype", "statuscode", "digest", "length"]


def test_cdx_rows_with_a_resume_key_and_a_revisit() -> None:
    page = parse_cdx_json(
        [
            HEADER,
            ["20191101000000", "https://x.cn/a", "text/html", "200", "AAA", "100"],
            ["20200101000000", "https://x.cn/a", "warc/revisit", "-", "AAA", "-"],
            ["20200601000000", "https://x.cn/a", "text/html", "301", "BBB", "20"],
            [],
            ["cn,x)/a 20200601000000!"],
        ]
    )
    assert [r.statuscode for r in page.rows] == [200, None, 301]
    assert page.rows[1].is_revisit and not page.rows[0].is_revisit
    assert page.rows[0].archived_at == datetime(2019, 11, 1, tzinfo=UTC)
    assert page.resume_key == "cn,x)/a 20200601000000!"


def test_cdx_fields_in_any_order_are_read_by_name() -> None:
    header = ["digest", "timestamp", "original", "length", "statuscode", "mimetype"]
    page = parse_cdx_json([header, ["D", "20200101000000", "https://x/", "5", "200", "text/html"]])
    assert page.rows[0].digest == "D" and page.rows[0].length == 5


@pytest.mark.parametrize("empty", [None, "", []])
def test_no_capture_at_all(empty: object) -> None:
    assert parse_cdx_json(empty).rows == ()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"a": 1}, "list of lists"),
        ([["timestamp"], ["20200101000000"]], "lacks the field"),
        ([HEADER, ["2020", "u", "m", "200", "d", "1"]], "bad timestamp"),
    ],
)
def test_bad_cdx_answers_are_refused(payload: object, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_cdx_json(payload)


def test_cdx_query_is_exact_distinct_and_resumable() -> None:
    params = cdx_params(
        "https://x.cn/a?b=1",
        from_=datetime(2019, 1, 1, tzinfo=UTC),
        to=datetime(2021, 12, 31, 23, 59, 59, tzinfo=UTC),
        limit=50,
        resume_key="k",
    )
    query = dict(params)
    assert query["url"] == "https://x.cn/a?b=1" and query["matchType"] == "exact"
    assert query["collapse"] == "digest" and query["output"] == "json"
    assert query["from"] == "20190101000000" and query["to"] == "20211231235959"
    assert query["limit"] == "50" and query["resumeKey"] == "k"
    assert "filter" not in query  # every status is listed: redirects and errors are recorded


@pytest.mark.parametrize(
    ("payload", "job", "code"),
    [
        ({"url": "https://x/", "job_id": "spn2-9c1"}, "spn2-9c1", None),
        (
            {
                "url": "https://x/",
                "job_id": "spn2-9c1",
                "message": "The same snapshot had been made 2 minutes ago.",
            },
            "spn2-9c1",
            None,
        ),
        (
            {"status": "error", "status_ext": "error:too-many-daily-captures", "message": "m"},
            None,
            "error:too-many-daily-captures",
        ),
        (
            {"status": "error", "status_ext": "error:user-session-limit"},
            None,
            "error:user-session-limit",
        ),
    ],
)
def test_submit_answers(payload: dict[str, str], job: str | None, code: str | None) -> None:
    answer = parse_submit(payload)
    assert answer.job_id == job
    assert (answer.error.code if answer.error else None) == code


@pytest.mark.parametrize("payload", [[], {"url": "https://x/"}, {"job_id": ""}])
def test_submit_answers_without_job_or_error_are_refused(payload: object) -> None:
    with pytest.raises(ProtocolError):
        parse_submit(payload)


@pytest.mark.parametrize(
    ("payload", "state", "timestamp"),
    [
        ({"status": "pending", "job_id": "j", "resources": []}, "pending", None),
        (
            {
                "status": "success",
                "job_id": "j",
                "original_url": "https://x/a",
                "timestamp": "20260101120000",
                "duration_sec": 6.2,
                "http_status": 200,
            },
            "success",
            "20260101120000",
        ),
        ({"status": "error", "status_ext": "error:not-found", "message": "404"}, "error", None),
    ],
)
def test_status_answers(payload: dict[str, object], state: str, timestamp: str | None) -> None:
    status = parse_status(payload)
    assert (status.state, status.timestamp) == (state, timestamp)


@pytest.mark.parametrize(
    "payload",
    [{"status": "success"}, {"status": "success", "timestamp": "2026"}, {"status": "odd"}, 3],
)
def test_bad_status_answers_are_refused(payload: object) -> None:
    with pytest.raises(ProtocolError):
        parse_status(payload)


def test_user_status_and_the_daily_quota() -> None:
    spent = parse_user_status(
        {"available": 0, "processing": 3, "daily_captures": 30000, "daily_captures_limit": 30000}
    )
    free = parse_user_status({"available": 2, "processing": 0})
    assert spent.daily_quota_spent and not free.daily_quota_spent
    with pytest.raises(ProtocolError):
        parse_user_status({"available": "two"})


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("error:user-session-limit", ErrorKind.BUSY),
        ("error:too-many-requests", ErrorKind.TRANSIENT),
        ("error:soft-time-limit-exceeded", ErrorKind.TRANSIENT),
        ("error:no-browsers-available", ErrorKind.TRANSIENT),
        ("error:max-daily-bandwidth", ErrorKind.QUOTA),
        ("error:unauthorized", ErrorKind.CREDENTIALS),
        ("error:not-found", ErrorKind.PERMANENT),
        ("error:blocked-url", ErrorKind.PERMANENT),
        ("error:too-many-daily-captures", ErrorKind.PERMANENT),
        ("error:something-new", ErrorKind.PERMANENT),  # unknown: never hammer the archive
    ],
)
def test_error_kinds(code: str, kind: ErrorKind) -> None:
    assert error_kind(code) == kind


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MONITOR_IA_ACCESS_KEY": "a"}, "MONITOR_IA_SECRET_KEY is not"),
        ({"MONITOR_IA_SECRET_KEY": "s"}, "MONITOR_IA_ACCESS_KEY is not"),
    ],
)
def test_half_a_key_pair_is_a_configuration_error(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Credentials.from_env(environ)


def test_credentials_never_show_in_repr_or_str() -> None:
    keys = Credentials("ACCESS-123", "SECRET-456")
    assert "SECRET-456" not in repr(keys) and "SECRET-456" not in str(keys)
    assert keys.header() == "LOW ACCESS-123:SECRET-456"


def test_base_url_must_be_http() -> None:
    with pytest.raises(ConfigError, match="MONITOR_WAYBACK_URL"):
        base_url({"MONITOR_WAYBACK_URL": "ftp://mirror"})


@pytest.mark.parametrize(
    ("location", "parts"),
    [
        (
            "https://web.archive.org/web/20201217080005id_/https://x.cn/a?b=1",
            ("20201217080005", "id_", "https://x.cn/a?b=1"),
        ),
        ("/web/20201217080005/http://x.cn/", ("20201217080005", "", "http://x.cn/")),
        ("https://x.cn/web-page", None),
    ],
)
def test_replay_addresses(location: str, parts: tuple[str, str, str] | None) -> None:
    found = parse_replay_location(location)
    assert (None if found is None else (found.timestamp, found.mode, found.url)) == parts


def test_timestamps_are_fourteen_digits() -> None:
    with pytest.raises(ValueError, match="14-digit"):
        parse_wayback_timestamp("2020121708")


@pytest.mark.parametrize(
    "body",
    [
        b"<!-- BEGIN WAYBACK TOOLBAR INSERT --><div>x</div>",
        b'<script src="/_static/js/wombat.js"></script>',
        b"<!-- FILE ARCHIVED ON 8:00:05 Dec 17, 2020 AND RETRIEVED FROM THE INTERNET ARCHIVE",
    ],
)
def test_archive_furniture_is_recognised(body: bytes) -> None:
    assert furniture(body) is not None
