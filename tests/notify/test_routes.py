"""notify: routes in the watchlist: valid ones load, every mistake names file, route, field."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config.routes import Route, parse_route
from monitor.config.watchlist import loads_watchlist
from monitor.errors import WatchlistError
from monitor.notify.targets import Secrets, resolve, resolve_url

WATCHES = """
watches:
  - name: aliyun-face
    url: https://help.aliyun.com/document_detail/70429.html
    vendor: Alibaba Cloud
    tags: [face, zh]
  - name: baidu-face
    url: https://ai.baidu.com/ai-doc/FACE/yk37c1u4t
    vendor: Baidu AI Cloud
    tags: [face, zh]
notify:
"""


def load(routes: str):  # type: ignore[no-untyped-def]
    return loads_watchlist(WATCHES + routes, "w.yaml")


def test_a_full_route_loads() -> None:
    watchlist = load(
        """  - name: team
    urls: ["json://127.0.0.1:8080/hook", "mailtos://u:p@smtp.example.org?to=a@example.org"]
    urls_env: MONITOR_NOTIFY_TEAM
    watches: [aliyun-face]
    tags: [zh]
    vendors: [Alibaba Cloud]
    kinds: [changed, attention, restored]
    flagged_only: true
    digest: 6h
    wait: 2m
    rate_limit: 20/1d
    summarize_over: 8
    retry: 1m
    report_url: https://monitor.example.org/changes/{id}
"""
    )
    (route,) = watchlist.routes
    assert route.kinds == (
        "changed",
        "gone",
        "restored",
        "unreachable",
        "blocked",
        "selector_missing",
        "no_text_layer",
        "incomplete",
    )
    assert (route.digest_seconds, route.wait_seconds, route.retry_seconds) == (21600, 120, 60)
    assert (route.rate_count, route.rate_seconds, route.summarize_over) == (20, 86400, 8)
    assert "p@smtp" not in repr(route) and "p@smtp" not in str(route.public())


BAD = [
    # (routes, line, route, field, words in the message)
    ("  - name: team\n", 12, "team", None, "no destination: add urls"),
    ("  - name: team\n    urls: [slakc://T1/B2/s3cr3t-t0ken]\n", 13, "team", "urls", "'slakc://'"),
    ("  - name: team\n    urls: ['no scheme']\n", 13, "team", "urls", "without a scheme"),
    ("  - name: team\n    urls_env: 'slack://T/B/s3cr3t'\n", 13, "team", "urls_env", "not a URL"),
    ("  - name: team\n    urls_env: 1BAD\n", 13, "team", "urls_env", "environment variable"),
    ("  - name: team\n    urls_env: X\n    tags: [fcae]\n", 14, "team", "tags", "'face'?"),
    ("  - name: team\n    urls_env: X\n    vendors: [Alibaba]\n", 14, "team", "vendors", "never"),
    ("  - name: team\n    urls_env: X\n    watches: [nope]\n", 14, "team", "watches", "nope"),
    ("  - name: team\n    urls_env: X\n    kinds: [chnaged]\n", 14, "team", "kinds", "'changed'?"),
    ("  - name: team\n    urls_env: X\n    digest: 1m\n", 14, "team", "digest", "minimum of 5m"),
    ("  - name: team\n    urls_env: X\n    digest: 6x\n", 14, "team", "digest", "bad interval"),
    ("  - name: team\n    urls_env: X\n    rate_limit: 10\n", 14, "team", "rate_limit", "10/1h"),
    ("  - name: team\n    urls_env: X\n    rate_limit: 0/1h\n", 14, "team", "rate_limit", "least"),
    ("  - name: team\n    urls_env: X\n    retry: 2h\n", 14, "team", "retry", "between 1s and 1h"),
    ("  - name: team\n    urls_env: X\n    flagged: true\n", 14, "team", "flagged", "flagged_only"),
    (
        "  - name: team\n    urls_env: X\n    flagged_only: yes please\n",
        14,
        "team",
        "flagged_only",
        "",
    ),
    ("  - name: team\n    urls_env: X\n    summarize_over: 0\n", 14, "team", "summarize_over", "1"),
    (
        "  - name: team\n    urls_env: X\n    report_url: ftp://x/{id}\n",
        14,
        "team",
        "report_url",
        "http(s)",
    ),
    (
        "  - name: team\n    urls_env: X\n    report_url: https://x/{change}\n",
        14,
        "team",
        "report_url",
        "{id}",
    ),
    ("  - name: Team Alerts\n    urls_env: X\n", 12, "#1", "name", "lowercase"),
    ("  - name: a\n    urls_env: X\n  - name: a\n    urls_env: Y\n", 14, "a", "name", "duplicate"),
    ("  - team\n", 12, "#1", None, "mapping"),
]


@pytest.mark.parametrize(("routes", "line", "route", "field", "words"), BAD)
def test_every_mistake_names_file_line_route_and_field(
    routes: str, line: int, route: str, field: str | None, words: str
) -> None:
    with pytest.raises(WatchlistError) as caught:
        load(routes)
    error = caught.value
    assert (error.file, error.line, error.entry, error.field) == ("w.yaml", line, route, field)
    assert error.kind == "route"
    assert words in str(error)
    assert f"route {route!r}" in str(error)
    assert "s3cr3t" not in str(error)  # a secret is never repeated back


def test_the_shipped_watchlist_route_is_valid_once_uncommented() -> None:
    path = Path(__file__).resolve().parents[2] / "watchlists" / "face-and-moderation.yaml"
    text = path.read_text(encoding="utf-8")
    block = text[text.index("# notify:") : text.index("\ndefaults:")]
    uncommented = "\n".join(
        line[2:] if line.startswith("# ") else line for line in block.split("\n")
    )
    watchlist = loads_watchlist(text.replace(block, uncommented), str(path))
    assert [r.name for r in watchlist.routes] == ["team", "chat"]
    assert watchlist.routes[0].flagged_only and watchlist.routes[1].digest_seconds == 86400


def test_urls_env_is_read_when_needed_and_masked() -> None:
    route = parse_route({"name": "team", "urls_env": "MONITOR_T"})
    environ = {
        "MONITOR_T": "mailtos://bob:hunter2-pw@smtp.example.org?to=a@example.org,b@example.org"
        " , json://127.0.0.1:9/hook\nslack://T0000000/B0000000/XXXXtokenXXXX"
    }
    resolved = resolve(route, environ)
    assert [t.style for t in resolved.targets] == ["email", "full", "short"]
    keys = " ".join(t.key for t in resolved.targets)
    assert "hunter2" not in keys and "XXXXtokenXXXX" not in keys
    assert "a%40example.org/b%40example.org" in keys  # both recipients, one URL
    assert resolve(route, {}).problems == (
        "environment variable MONITOR_T is not set: this route has no destination until it is",
    )
    bad = resolve(route, {"MONITOR_T": "json://127.0.0.1:9/hook slakc://x/y/s3cr3t"})
    assert len(bad.targets) == 1 and "s3cr3t" not in " ".join(bad.problems)


def test_two_urls_masked_alike_keep_their_own_ledger_rows() -> None:
    route = Route(
        "r",
        urls=(
            "mailtos://u:one-password@smtp.example.org?to=a@example.org",
            "mailtos://u:two-password@smtp.example.org?to=a@example.org",
        ),
    )
    keys = [t.key for t in resolve(route).targets]
    assert keys[1] == keys[0] + " #2"


@pytest.mark.parametrize(
    "url",
    [
        "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567890/",
        "discord://1234567890/aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "matrixs://bot:m4trix-Pass@matrix.example.org/!roomid:example.org",
        "json://user:w3bh00k-pass@127.0.0.1:9/hook",
    ],
)
def test_errors_are_scrubbed_of_every_secret_in_the_url(url: str) -> None:
    target = resolve_url(url)
    secrets = Secrets([url])
    message = f"POST {url} failed; token {url.split('://')[1]} rejected"
    scrubbed = secrets.scrub(message)
    for secret in ("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
                   "m4trix-Pass", "w3bh00k-pass"):  # fmt: skip
        assert secret not in scrubbed
        assert secret not in target.key
