"""Save Page Now witnesses: queued with the change, worked apart from the checks, within
the archive's limits, and the archived copy checked against ours."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import FAST_SETTINGS, Site, write_watchlist

from monitor.archives.client import Pacing, WaybackClient
from monitor.archives.spn import Credentials
from monitor.archives.witness import Timing, WitnessWorker
from monitor.check import run_checks
from monitor.config.watchlist import load_watchlist
from monitor.demo import demo_page
from monitor.demo.wayback import ACCESS, SECRET, WaybackStub
from monitor.store import Store

NAME = "face-api"
V1, V3 = demo_page("aliyun-zh-v1.html"), demo_page("aliyun-zh-v3.html")
KEYS = Credentials(ACCESS, SECRET)
QUICK = Timing(poll=0, first_verify=0, verify_retry=0, busy=0, backoff=0, credentials_retry=0)


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[WaybackStub]:
    with WaybackStub() as server:
        monkeypatch.setenv("MONITOR_WAYBACK_URL", server.base)
        monkeypatch.setenv("MONITOR_WAYBACK_PACING", "0")
        monkeypatch.setenv("MONITOR_IA_ACCESS_KEY", ACCESS)
        monkeypatch.setenv("MONITOR_IA_SECRET_KEY", SECRET)
        yield server


def watchlist(tmp_path: Path, site: Site, on: str = "flagged") -> Path:
    return write_watchlist(
        tmp_path / "w.yaml",
        f"""
defaults:
  terms: [维族]
watches:
  - name: {NAME}
    url: {site.url("/doc")}
    select: main
    ignore: ['^更新时间[:：].*$']
{FAST_SETTINGS}  witness: wayback
  witness_on: {on}
""",
    )


@dataclass
class Setup:
    store: Store
    site: Site
    path: Path

    def check(self, page: bytes) -> list[int]:
        self.site.set("/doc", page)
        wl = load_watchlist(self.path)
        results = asyncio.run(run_checks(self.store, wl, wl.watches))
        return [i for r in results for i in r.change_ids]


@pytest.fixture
def setup(tmp_path: Path, site: Site) -> Iterator[Setup]:
    with Store(tmp_path / "data") as store:
        yield Setup(store, site, watchlist(tmp_path, site))


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def work(
    setup: Setup,
    stub: WaybackStub,
    passes: int = 4,
    clock: Clock | None = None,
    keys: Credentials | None = KEYS,
) -> list[Any]:
    async def main() -> list[Any]:
        async with WaybackClient(stub.base, keys, Pacing(0, 0, 0, 0, 0)) as client:
            worker = WitnessWorker(setup.store, client, QUICK, clock or (lambda: datetime.now(UTC)))
            return [await worker.work_once() for _ in range(passes)]

    return asyncio.run(main())


def witness(setup: Setup) -> dict[str, Any]:
    (row,) = setup.store.witnesses()
    return dict(row)


def test_a_flagged_change_is_witnessed_and_its_copy_matches(
    setup: Setup, stub: WaybackStub
) -> None:
    assert setup.check(V1) == []
    (change_id,) = setup.check(V3)
    queued = witness(setup)
    assert queued["status"] == "pending" and queued["change_id"] == change_id  # same transaction

    work(setup, stub)
    done = witness(setup)
    assert done["status"] == "archived" and done["job_id"].startswith("spn2-")
    assert done["archived_url"].startswith(f"{stub.base}/web/{done['archive_timestamp']}/")
    copy = json.loads(done["copy"])
    assert copy["sha256_matches"] and copy["text_matches"]
    assert setup.store.get_blob(copy["sha256"]) == V3  # the archive's copy is kept too
    assert any(r.path.startswith(f"/web/{done['archive_timestamp']}id_/") for r in stub.requests)


def test_unflagged_changes_are_witnessed_only_when_asked(tmp_path: Path, site: Site) -> None:
    v1b = V1.replace(b"<td>bizType</td>", b"<td>bizTypeX</td>")  # a change, no watched term
    for on, expected in (("flagged", 0), ("changed", 1)):
        with Store(tmp_path / on) as store:
            s = Setup(store, site, watchlist(tmp_path, site, on))
            s.check(V1)
            assert s.check(v1b)
            assert len(store.witnesses()) == expected


def test_the_copy_differs_when_the_page_changed_again(setup: Setup, stub: WaybackStub) -> None:
    setup.check(V1)
    setup.check(V3)
    stub.fetch_live = lambda url: (200, "text/html; charset=utf-8", V1)  # reverted already
    work(setup, stub)
    copy = json.loads(witness(setup)["copy"])
    assert not copy["sha256_matches"] and copy["text_matches"] is False
    assert "是否是维族" in copy["note"]


def test_a_fresh_capture_is_fetched_back_once_the_archive_serves_it(
    setup: Setup, stub: WaybackStub
) -> None:
    setup.check(V1)
    setup.check(V3)
    stub.fresh_redirects = 2  # the replay sends us to an older copy at first
    stub.add(setup.site.url("/doc"), "20200101000000", V1)
    results = work(setup, stub, passes=7)
    copy = json.loads(witness(setup)["copy"])
    assert copy["sha256_matches"]
    assert sum(p.verified for p in results) == 1


@pytest.mark.parametrize(
    ("arrange", "reason"),
    [
        (lambda s: (setattr(s, "retry_after", "0"), s.throttle("save")), "slow down"),
        (lambda s: s.submit_errors.append("error:user-session-limit"), "user-session-limit"),
        (lambda s: setattr(s, "concurrency", 0), "free capture slot"),
    ],
)
def test_limits_postpone_without_spending_attempts(
    setup: Setup, stub: WaybackStub, arrange: Any, reason: str
) -> None:
    setup.check(V1)
    setup.check(V3)
    arrange(stub)
    work(setup, stub, passes=1)
    waiting = witness(setup)
    assert waiting["status"] == "pending" and reason in waiting["reason"]
    assert waiting["attempts"] == 0
    stub.concurrency = 2
    work(setup, stub, passes=4)
    assert witness(setup)["status"] == "archived"


def test_the_daily_quota_waits_for_the_next_utc_day(setup: Setup, stub: WaybackStub) -> None:
    setup.check(V1)
    setup.check(V3)
    stub.daily_captures = stub.daily_limit
    clock = Clock()
    work(setup, stub, passes=1, clock=clock)
    waiting = witness(setup)
    assert "daily captures are spent" in waiting["reason"]
    assert waiting["next_attempt_at"].startswith(
        (clock.now + timedelta(days=1)).strftime("%Y-%m-%d")
    )
    assert [r for r in stub.requests if r.path == "/save"] == []


@pytest.mark.parametrize(
    ("where", "code", "status"),
    [
        ("submit", "error:blocked-url", "failed"),
        ("job", "error:not-found", "failed"),
        ("job", "error:no-browsers-available", "archived"),  # transient: tried again
    ],
)
def test_archive_errors(
    setup: Setup, stub: WaybackStub, where: str, code: str, status: str
) -> None:
    setup.check(V1)
    setup.check(V3)
    (stub.submit_errors if where == "submit" else stub.job_errors).append(code)
    work(setup, stub, passes=6)
    result = witness(setup)
    assert result["status"] == status
    if status == "failed":
        assert code in result["reason"]


def test_without_keys_the_witness_waits_and_says_why(setup: Setup, stub: WaybackStub) -> None:
    setup.check(V1)
    setup.check(V3)
    work(setup, stub, passes=1, keys=None)
    waiting = witness(setup)
    assert waiting["status"] == "pending" and "MONITOR_IA_ACCESS_KEY" in waiting["reason"]
    assert stub.requests == []


def test_too_late_to_witness(setup: Setup, stub: WaybackStub) -> None:
    setup.check(V1)
    setup.check(V3)
    clock = Clock()
    clock.now += timedelta(days=2)
    work(setup, stub, passes=1, clock=clock)
    failed = witness(setup)
    assert failed["status"] == "failed" and "not submitted within 24 h" in failed["reason"]


def test_witnesses_in_json_diff_and_html(
    cli: Any, tmp_path: Path, site: Site, stub: WaybackStub
) -> None:
    path = watchlist(tmp_path, site)
    site.set("/doc", V1)
    cli("check", "--watchlist", str(path))
    site.set("/doc", V3)
    assert "1 witness request(s) queued" in cli("check", "--watchlist", str(path)).out
    (event,) = json.loads(cli("changes", "--format", "json").out)
    assert [w["status"] for w in event["witnesses"]] == ["pending"]
    assert event["source"] == "live"

    result = cli("witness", "work", "--for", "20")
    assert result.code == 0 and "submitted 1, archived 1, copies checked 1" in result.out

    (event,) = json.loads(cli("changes", "--format", "json").out)
    (w,) = event["witnesses"]
    assert w["status"] == "archived" and w["copy"]["sha256_matches"] is True
    assert w["archive_timestamp"].endswith("Z")
    listed = json.loads(cli("witness", "list", "--format", "json").out)
    assert listed == [w]
    html = tmp_path / "c.html"
    text = cli("diff", str(event["id"]), "--html", str(html)).out
    assert "witness:  wayback archived" in text and "byte-identical" in text
    assert w["archived_url"] in html.read_text(encoding="utf-8")


def test_keys_are_never_stored_or_printed(
    cli: Any, tmp_path: Path, site: Site, stub: WaybackStub
) -> None:
    path = watchlist(tmp_path, site)
    site.set("/doc", V1)
    cli("check", "--watchlist", str(path))
    site.set("/doc", V3)
    cli("check", "--watchlist", str(path))
    result = cli("-vv", "witness", "work", "--for", "10")
    assert SECRET not in result.out + result.err
    for file in Path(cli.data_dir).rglob("*"):
        if file.is_file():
            assert SECRET.encode() not in file.read_bytes()


def test_a_submitted_job_survives_a_restart(setup: Setup, stub: WaybackStub) -> None:
    """A worker that stopped between submitting and polling: the next one polls the job."""
    setup.check(V1)
    setup.check(V3)
    work(setup, stub, passes=1)  # submitted, then the process "dies"
    assert witness(setup)["job_id"] and witness(setup)["status"] == "pending"
    work(setup, stub, passes=4)  # a new worker, a new client
    assert witness(setup)["status"] == "archived"
    assert len([r for r in stub.requests if r.path == "/save"]) == 1  # not submitted twice


def test_a_change_and_its_witness_request_commit_together(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.store import sqlite

    setup.check(V1)

    def broken(*_: object) -> int:
        raise RuntimeError("crash while queueing the witness")

    monkeypatch.setattr(sqlite._Writer, "add_witness", broken)
    assert setup.check(V3) == []  # the check failed as a whole...
    assert setup.store.changes() == [] and setup.store.witnesses() == []  # ...nothing half-done
    monkeypatch.undo()
    (change_id,) = setup.check(V3)  # the next check finds the change, and queues its witness
    assert [w["change_id"] for w in setup.store.witnesses()] == [change_id]


def test_monitor_run_works_the_queue_beside_the_checks(setup: Setup, stub: WaybackStub) -> None:
    from monitor.check import check_session, thresholds
    from monitor.fetch.http import FetchPolicy
    from monitor.run.scheduler import Runner
    from monitor.run.witnesses import wanted, witness_service

    setup.check(V1)
    setup.check(V3)  # the change, queued; the runner's next check is hours away
    wl = load_watchlist(setup.path)
    assert wanted(setup.store, wl.settings)

    async def main() -> None:
        policy = FetchPolicy.from_settings(wl.settings)
        limits = thresholds(wl.settings)
        async with check_session(setup.store, policy, limits, wl.settings.witness_policy) as c:
            runner = Runner(
                c,
                setup.store,
                wl.watches,
                startup_spread=0,
                background=[witness_service(setup.store, wl.settings, every=0.05)],
            )
            task = asyncio.create_task(runner.run())
            for _ in range(200):
                await asyncio.sleep(0.05)
                done = setup.store.witnesses(status="archived")
                if done and done[0]["copy"]:
                    break
            runner.stopping.set()
            await task

    asyncio.run(main())
    (w,) = setup.store.witnesses()
    assert w["status"] == "archived" and json.loads(w["copy"])["text_matches"]


def test_a_page_that_is_gone_is_witnessed(setup: Setup, stub: WaybackStub) -> None:
    setup.check(V1)
    setup.site.pages.bodies.pop("/doc")  # the demo server answers 404 from now on
    wl = load_watchlist(setup.path)
    events = []
    for _ in range(2):  # a gone page is confirmed by a second check
        results = asyncio.run(run_checks(setup.store, wl, wl.watches))
        events += [e for r in results for e in r.events]
    assert events == ["gone"]
    assert witness(setup)["status"] == "pending"
    stub.fetch_live = lambda url: (404, "text/html", b"<h1>404 Not Found</h1>")
    work(setup, stub)
    done = witness(setup)
    assert done["status"] == "archived"
    copy = json.loads(done["copy"])
    assert copy["sha256_matches"] is True and copy["status"] == 404


def test_the_evidence_bundle_lists_the_witness(
    cli: Any, tmp_path: Path, site: Site, stub: WaybackStub
) -> None:
    import zipfile

    path = watchlist(tmp_path, site)
    site.set("/doc", V1)
    cli("check", "--watchlist", str(path))
    site.set("/doc", V3)
    cli("check", "--watchlist", str(path))
    assert cli("witness", "work", "--for", "20").code == 0
    (event,) = json.loads(cli("changes", "--format", "json").out)
    out = tmp_path / "change.zip"
    made = cli("bundle", str(event["id"]), str(out))
    assert made.code == 0, made.err
    with zipfile.ZipFile(out) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        verify_text = bundle.read("VERIFY.txt").decode()
    (w,) = manifest["witnesses"]
    assert w["status"] == "archived" and w["copy"]["sha256_matches"] is True
    assert f"curl -s '{w['copy']['replay_url']}' | sha256sum" in verify_text
    assert cli("bundle", "--verify", str(out)).code == 0
