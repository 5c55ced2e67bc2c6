"""The archive client against the local stub: requests as documented, answers as served."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest

from monitor.archives.client import (
    ArchiveBusy,
    ArchiveError,
    CredentialsRefused,
    Pacing,
    WaybackClient,
)
from monitor.archives.spn import Credentials
from monitor.demo.wayback import ACCESS, SECRET, WaybackStub

URL = "https://help.example.cn/doc/70429.html?spm=a2c4g"
FAST = Pacing(0, 0, 0, 0, 0.05)
KEYS = Credentials(ACCESS, SECRET)


@pytest.fixture
def stub() -> Iterator[WaybackStub]:
    with WaybackStub() as server:
        yield server


def run(stub: WaybackStub, call, credentials: Credentials | None = KEYS):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        async with WaybackClient(stub.base, credentials, FAST) as client:
            return await call(client)

    return asyncio.run(main())


def test_cdx_pages_through_resume_keys(stub: WaybackStub) -> None:
    for day in range(1, 8):
        stub.add(URL, f"202001{day:02d}000000", f"<p>version {day}</p>")

    async def listing(client: WaybackClient) -> list[str]:
        found, key = [], None
        while True:
            page = await client.cdx(URL, limit=3, resume_key=key)
            found += [row.timestamp for row in page.rows]
            key = page.resume_key
            if not key:
                return found

    assert run(stub, listing) == [f"202001{d:02d}000000" for d in range(1, 8)]
    queries = [dict(r.query) for r in stub.seen("/cdx")]
    assert len(queries) == 3 and all(q["collapse"] == "digest" for q in queries)
    assert all("authorization" not in r.headers for r in stub.requests)  # keys only for SPN


def test_cdx_collapses_adjacent_identical_copies_only(stub: WaybackStub) -> None:
    for timestamp, body in [
        ("20200101000000", "A"),
        ("20200201000000", "A"),
        ("20200301000000", "B"),
        ("20200401000000", "A"),
    ]:
        stub.add(URL, timestamp, body)
    page = run(stub, lambda c: c.cdx(URL))
    assert [r.timestamp for r in page.rows] == [
        "20200101000000",
        "20200301000000",
        "20200401000000",
    ]


def test_replay_is_raw_and_marks_the_memento(stub: WaybackStub) -> None:
    stub.add(URL, "20200101000000", '<html><body><a href="https://x.cn/">x</a></body></html>')
    replay = run(stub, lambda c: c.replay("20200101000000", URL))
    assert replay.status == 200 and replay.is_memento
    assert replay.body == b'<html><body><a href="https://x.cn/">x</a></body></html>'
    assert stub.seen("/web/")[0].path.startswith("/web/20200101000000id_/")


def test_a_missing_second_redirects_without_being_a_memento(stub: WaybackStub) -> None:
    stub.add(URL, "20200101000000", "<p>a</p>")
    replay = run(stub, lambda c: c.replay("20200101000001", URL))
    assert replay.status == 302 and not replay.is_memento
    assert "/web/20200101000000id_/" in (replay.location or "")


def test_429_carries_retry_after(stub: WaybackStub) -> None:
    stub.throttle("cdx")
    with pytest.raises(ArchiveBusy) as busy:
        run(stub, lambda c: c.cdx(URL))
    assert busy.value.retry_after == 1.0


def test_save_page_now_round_trip(stub: WaybackStub) -> None:
    stub.fetch_live = lambda url: (200, "text/html", b"<p>now</p>")

    async def capture(client: WaybackClient):  # type: ignore[no-untyped-def]
        user = await client.user_status()
        answer = await client.submit(URL)
        assert answer.job_id
        first = await client.job_status(answer.job_id)
        second = await client.job_status(answer.job_id)
        return user, first, second

    user, first, second = run(stub, capture)
    assert user.available == 2 and first.state == "pending" and second.state == "success"
    save = next(r for r in stub.requests if r.path == "/save")
    assert save.method == "POST" and parse_qs(save.body.decode())["url"] == [URL]
    assert save.headers["authorization"] == f"LOW {ACCESS}:{SECRET}"
    assert save.headers["accept"] == "application/json"


def test_without_keys_nothing_is_sent(stub: WaybackStub) -> None:
    with pytest.raises(CredentialsRefused, match="MONITOR_IA_ACCESS_KEY"):
        run(stub, lambda c: c.submit(URL), credentials=None)
    assert stub.requests == []


def test_refused_keys_are_reported_without_echoing_them(stub: WaybackStub) -> None:
    with pytest.raises(CredentialsRefused) as refused:
        run(stub, lambda c: c.submit(URL), credentials=Credentials("me", "WRONG-SECRET"))
    assert "WRONG-SECRET" not in str(refused.value)


def test_an_unreachable_archive_is_a_clear_error() -> None:
    async def main() -> None:
        async with WaybackClient("http://127.0.0.1:9", None, FAST) as client:
            await client.cdx(URL)

    with pytest.raises(ArchiveError, match="cannot reach the archive"):
        asyncio.run(main())


@pytest.mark.parametrize(
    "answer",
    [{"url": URL}, {"status": "weird"}, ["not", "an", "object"]],
)
def test_answers_outside_the_documented_shape_are_archive_errors(answer: object) -> None:
    import httpx

    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))

    async def main() -> None:
        async with WaybackClient("http://archive.test", KEYS, FAST, transport=transport) as c:
            await c.submit(URL)
            await c.job_status("spn2-1")

    with pytest.raises(ArchiveError, match="outside its documented shape"):
        asyncio.run(main())
