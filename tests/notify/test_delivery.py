"""End to end: real checks, a real SMTP server and real webhooks on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from conftest import FAST_SETTINGS, Site, write_watchlist

from monitor.config.watchlist import load_watchlist
from monitor.demo import demo_page
from monitor.model import utc_now
from monitor.notify import Notifier, open_outbox
from monitor.store import open_store

from .receivers import SMTP_PASSWORD, SmtpServer, Webhook, text_parts

ZH = "/document_detail/70429.html"
ENV = "MONITOR_TEST_NOTIFY"


def founding_case(tmp_path: Path, site: Site, notify: str, extra_watches: str = "") -> Path:
    site.set(ZH, demo_page("aliyun-zh-v1.html"))
    return write_watchlist(
        tmp_path / "w.yaml",
        f"""
defaults:
  terms: [维族, Uyghur]
watches:
  - name: aliyun-face
    url: {site.url(ZH)}
    vendor: Alibaba Cloud
    tags: [face-recognition, zh]
    select: main
    ignore: ['^更新时间[:：].*$']
{extra_watches}
notify:
{notify}
{FAST_SETTINGS}""",
    )


def test_a_flagged_removal_gives_one_email_and_one_webhook(
    tmp_path: Path, site: Site, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmtpServer() as smtp, Webhook() as hook:
        monkeypatch.setenv(ENV, f"{smtp.url()} {hook.url()}")
        watchlist = founding_case(
            tmp_path, site, f"  - name: team\n    urls_env: {ENV}\n    flagged_only: true\n"
        )
        first = cli("check", "--watchlist", str(watchlist))
        assert first.code == 0, first.err
        site.set(ZH, demo_page("aliyun-zh-v3.html"))  # the silent edit
        second = cli("check", "--watchlist", str(watchlist))
        assert second.code == 0, second.err
        assert "1 message(s) queued, 2 delivered, 0 failed" in second.out, second.out
        again = cli("check", "--watchlist", str(watchlist))  # nothing new: nothing sent
        assert again.code == 0

        assert len(smtp.messages) == 1 and len(hook.requests) == 1
        mail = smtp.messages[0]
        assert "维族" in mail["Subject"] and "aliyun-face" in mail["Subject"]
        parts = text_parts(mail)
        assert set(parts) == {"text/plain", "text/html"}
        for part in mail.walk():
            if part.get_content_maintype() == "text":
                assert part.get_content_charset() == "utf-8"
        for text in parts.values():
            assert "是否是维族" in text and "维族 removed (2 → 0)" in text
            assert "人脸属性" in text or "返回参数" in text  # the heading path
        posted = hook.requests[0]
        assert "维族" in posted["title"]
        assert "、是否是维族" in posted["message"] and "维族 removed (2 → 0)" in posted["message"]
        assert "Alibaba Cloud" in posted["message"]

        status = cli("notify", "status", "--format", "json").json()
        assert status["deliveries"] == []  # type: ignore[index]
        (route,) = status["routes"]  # type: ignore[index]
        assert route["messages"] == 1 and route["pending"] == 0

    # The SMTP password is never stored, logged or shown.
    shown = first.out + first.err + second.out + second.err + again.out + again.err
    assert SMTP_PASSWORD not in shown
    for path in cli.data_dir.rglob("*"):
        if path.is_file():
            assert SMTP_PASSWORD.encode() not in path.read_bytes(), path
    assert SMTP_PASSWORD not in str(status)


def test_filters_route_each_event_where_it_belongs(
    tmp_path: Path, site: Site, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.set("/baidu", "<main><h1>人脸检测</h1><p>返回年龄、性别。</p></main>")
    site.set("/tencent", "<main><h1>Face API</h1><p>Returns age and gender.</p></main>")
    with Webhook() as hook:
        url = f"json://127.0.0.1:{hook.port}"
        routes = {
            "flagged": "flagged_only: true",
            "zh": "tags: [zh]",
            "baidu": "vendors: [Baidu AI Cloud]",
            "attention": "kinds: [attention]",
            "tencent": "watches: [tencent-face]\n    kinds: [all]",
            "restored": "kinds: [restored]",
        }
        notify = "".join(
            f"  - name: {name}\n    urls: ['{url}/{name}']\n    {rule}\n"
            for name, rule in routes.items()
        )
        watches = f"""
  - name: baidu-face
    url: {site.url("/baidu")}
    vendor: Baidu AI Cloud
    tags: [zh]
  - name: tencent-face
    url: {site.url("/tencent")}
    vendor: Tencent Cloud
    tags: [en]
"""
        watchlist = founding_case(tmp_path, site, notify, watches)
        text = watchlist.read_text(encoding="utf-8").replace("retries: 0", "gone_after: 1")
        watchlist.write_text(text, encoding="utf-8")
        assert cli("check", "--watchlist", str(watchlist)).code == 0
        site.set(ZH, demo_page("aliyun-zh-v3.html"))  # flagged change
        site.set("/baidu", "<main><h1>人脸检测</h1><p>返回年龄。</p></main>")  # plain change
        site.pages.bodies.pop("/tencent")  # 404: gone
        result = cli("check", "--watchlist", str(watchlist))
        assert result.code == 0, result.err

    got: dict[str, list[str]] = {}
    for request in hook.requests:
        got.setdefault(request["path"], []).append(request["title"])
    assert sorted(got) == ["/attention", "/baidu", "/flagged", "/tencent", "/zh"]
    assert len(got["/flagged"]) == 1 and "aliyun-face" in got["/flagged"][0]
    assert sorted(t.split(" · ")[-1] for t in got["/zh"]) == ["aliyun-face", "baidu-face"]
    assert got["/baidu"] == ["[monitor] changed (−1 +0) · baidu-face"]
    assert got["/attention"] == ["[monitor] needs attention: gone · tencent-face"]
    assert got["/tencent"] == got["/attention"]


def test_a_digest_route_sends_one_message_for_several_events(
    tmp_path: Path, site: Site, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [f"/doc{i}" for i in range(4)]
    for path in paths:
        site.set(path, f"<main><h1>{path}</h1><p>返回年龄、性别、是否是维族。</p></main>")
    watches = "".join(
        f"  - name: doc{i}\n    url: {site.url(p)}\n    vendor: V\n" for i, p in enumerate(paths)
    )
    with Webhook() as hook:
        notify = f"  - name: daily\n    urls: ['{hook.url()}']\n    digest: 1d\n"
        watchlist = founding_case(tmp_path, site, notify, watches)
        assert cli("check", "--watchlist", str(watchlist)).code == 0
        for round_number, path in enumerate(paths[:3]):  # three checks, three events
            site.set(path, f"<main><h1>{path}</h1><p>返回年龄、性别 {round_number}。</p></main>")
            assert cli("check", "--watchlist", str(watchlist)).code == 0
        assert hook.requests == []  # the day's digest is not due yet

        tomorrow = utc_now() + timedelta(days=1)
        loaded = load_watchlist(watchlist)
        with open_store(cli.data_dir) as store:
            location = store.location
        with open_outbox(location) as outbox:
            notifier = Notifier(outbox, loaded.routes, location, clock=lambda: tomorrow)
            report = notifier.run_once()
            assert report.planned == 1 and report.sent == 1
            assert notifier.run_once().sent == 0  # and only once
    (digest,) = hook.requests
    assert digest["title"].startswith("[monitor] digest: 3 events on 3 watches (3 flagged)")
    for name in ("doc0", "doc1", "doc2"):
        assert name in digest["message"]
    assert "是否是维族" in digest["message"]


def test_a_new_route_starts_from_now(
    tmp_path: Path, site: Site, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Webhook() as hook:
        quiet = founding_case(tmp_path, site, "")
        assert cli("check", "--watchlist", str(quiet)).code == 0
        site.set(ZH, demo_page("aliyun-zh-v3.html"))
        assert cli("check", "--watchlist", str(quiet)).code == 0  # an event, no route yet
        loud = founding_case(tmp_path, site, f"  - name: late\n    urls: ['{hook.url()}']\n")
        site.set(ZH, demo_page("aliyun-zh-v3.html"))
        result = cli("check", "--watchlist", str(loud))
        assert result.code == 0 and hook.requests == []  # history is not replayed


def test_a_warning_is_one_alert_per_episode(tmp_path: Path, site: Site, cli) -> None:
    """A page gone for five checks is one alert; its return is one more."""
    with Webhook() as hook:
        notify = (
            f"  - name: watchdog\n    urls: ['{hook.url()}']\n    kinds: [attention, restored]\n"
        )
        watchlist = founding_case(tmp_path, site, notify)
        assert cli("check", "--watchlist", str(watchlist)).code == 0
        site.pages.bodies.pop(ZH)
        for _ in range(5):
            assert cli("check", "--watchlist", str(watchlist)).code == 0
        assert [r["title"] for r in hook.requests] == [
            "[monitor] needs attention: gone, FLAGGED 维族 removed · aliyun-face"
        ]
        site.set(ZH, demo_page("aliyun-zh-v1.html"))
        for _ in range(2):
            assert cli("check", "--watchlist", str(watchlist)).code == 0
    assert [r["title"] for r in hook.requests][1:] == ["[monitor] restored · aliyun-face"]
    assert "NEEDS ATTENTION: the page is gone" in hook.requests[0]["message"]
    assert "RESTORED: the page is back (after gone)" in hook.requests[1]["message"]
