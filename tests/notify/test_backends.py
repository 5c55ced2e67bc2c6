"""Alerts on both back ends: the outbox and the deliveries ledger live beside the evidence,
in a data directory or in PostgreSQL, and behave the same (exactly-once planning, final
deliveries, retries), with real checks and a real webhook on 127.0.0.1."""

from __future__ import annotations

import threading
from pathlib import Path

from backends import store_spec
from conftest import Site, monitor_on

from monitor.config.watchlist import load_watchlist
from monitor.demo import demo_page
from monitor.notify import Notifier, open_outbox
from monitor.run.alerts import alerts_in_background
from monitor.store import StoreSpec

from .receivers import Webhook, wait_for
from .test_delivery import ZH, founding_case

__all__ = ["store_spec"]  # a fixture, used by name





def test_an_alert_is_sent_once_and_a_failed_one_is_retried(
    store_spec: StoreSpec, tmp_path: Path, site: Site
) -> None:
    monitor = monitor_on(store_spec)
    with Webhook() as hook:
        notify = f"  - name: team\n    urls: ['{hook.url()}']\n    flagged_only: true\n"
        watchlist = str(founding_case(tmp_path, site, notify))
        assert monitor("check", "--watchlist", watchlist).code == 0
        site.set(ZH, demo_page("aliyun-zh-v3.html"))  # the silent edit
        second = monitor("check", "--watchlist", watchlist)
        assert second.code == 0, second.err
        assert "1 message(s) queued, 1 delivered, 0 failed" in second.out, second.out
        assert monitor("check", "--watchlist", watchlist).code == 0  # nothing new
        assert len(hook.requests) == 1 and "维族" in hook.requests[0]["title"]
        store_option = "--store" if store_spec.postgres else "--data-dir"
        assert f"monitor {store_option} " in hook.requests[0]["message"]  # how to see more

    site.set(ZH, demo_page("aliyun-zh-v1.html"))  # back again, while the webhook is down
    down = monitor("check", "--watchlist", watchlist)
    assert "1 message(s) queued, 0 delivered, 1 failed" in down.out, down.out
    status = monitor("notify", "status", "--format", "json").json()
    (pending,) = status["deliveries"]  # type: ignore[index]
    assert pending["attempts"] == 1 and pending["last_error"]
    with Webhook(port=hook.port) as back:
        sent = monitor("notify", "send", "--watchlist", watchlist, "--retry-now")
        assert sent.code == 0 and "1 delivered" in sent.out, sent.out + sent.err
        assert len(back.requests) == 1
    status = monitor("notify", "status", "--format", "json").json()
    assert status["deliveries"] == []  # type: ignore[index]
    assert status["routes"][0]["messages"] == 2  # type: ignore[index]


def test_planning_is_exactly_once_across_processes(
    store_spec: StoreSpec, tmp_path: Path, site: Site
) -> None:
    """Two senders on one store at once (two machines' `monitor run`): each event is
    planned into one message, delivered once."""
    monitor = monitor_on(store_spec)
    with Webhook() as hook:
        notify = f"  - name: team\n    urls: ['{hook.url()}']\n"
        path = founding_case(tmp_path, site, notify)
        (tmp_path / "quiet").mkdir()
        quiet = founding_case(tmp_path / "quiet", site, "")  # the same watch, no routes
        assert monitor("check", "--watchlist", str(path)).code == 0  # registers the route
        site.set(ZH, demo_page("aliyun-zh-v3.html"))
        assert monitor("check", "--watchlist", str(quiet)).code == 0  # an event, unsent
        routes = load_watchlist(path).routes
        barrier = threading.Barrier(4)
        reports = []

        def send(number: int) -> None:
            with open_outbox(store_spec if store_spec.postgres else store_spec.location) as outbox:
                outbox.owner += f"-{number}"  # as another process would be
                notifier = Notifier(outbox, routes, store_spec.location, warn=False)
                barrier.wait()
                reports.append(notifier.run_once(batch_complete=True))

        threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert sum(r.planned for r in reports) == 1 and sum(r.sent for r in reports) == 1
    assert len(hook.requests) == 1


def test_monitor_run_sends_what_the_workers_record(
    store_spec: StoreSpec, tmp_path: Path, site: Site
) -> None:
    """On PostgreSQL `monitor run` queues checks and workers record the events: the
    alerts go out from `monitor run`'s passes in the background."""
    monitor = monitor_on(store_spec)
    with Webhook() as hook:
        route = f"  - name: team\n    urls: ['{hook.url()}']\n    wait: 0s\n"
        path = founding_case(tmp_path, site, route)
        (tmp_path / "quiet").mkdir()
        quiet = founding_case(tmp_path / "quiet", site, "")
        assert monitor("check", "--watchlist", str(path)).code == 0
        site.set(ZH, demo_page("aliyun-zh-v3.html"))
        assert monitor("check", "--watchlist", str(quiet)).code == 0  # as a worker would
        lines: list[str] = []
        with alerts_in_background(store_spec, load_watchlist(path), tick=0.1, on_line=lines.append):
            wait_for(lambda: len(hook.requests) == 1, what="the alert")
        assert lines and "sent change #" in lines[0]
    assert len(hook.requests) == 1


def test_the_ledger_refuses_to_forget_a_delivery(
    store_spec: StoreSpec, tmp_path: Path, site: Site
) -> None:
    monitor = monitor_on(store_spec)
    with Webhook() as hook:
        path = founding_case(tmp_path, site, f"  - name: team\n    urls: ['{hook.url()}']\n")
        assert monitor("check", "--watchlist", str(path)).code == 0
        site.set(ZH, demo_page("aliyun-zh-v3.html"))
        assert "1 delivered" in monitor("check", "--watchlist", str(path)).out
    refused = 0
    with open_outbox(store_spec if store_spec.postgres else store_spec.location) as outbox:
        for statement in (
            "UPDATE notify_deliveries SET delivered_at = NULL",
            "DELETE FROM notify_deliveries",
            "DELETE FROM notify_messages",
        ):
            try:
                with outbox.transaction() as db:
                    db.execute(statement)
            except Exception as error:  # sqlite3 or psycopg: the database refuses
                assert "deliver" in str(error) or "outbox" in str(error) or "keep" in str(error)
                refused += 1
    assert refused == 3
