"""Every reading command against each back end: a data directory, and PostgreSQL with a
blob directory. What a PostgreSQL store does not support fails with a usage error (exit
status 2) that names the command and what to use instead, never with a traceback."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from backends import store_options, store_spec
from conftest import FAST_SETTINGS, Result, Site, run_cli, write_watchlist

from monitor.store import StoreSpec

__all__ = ["store_spec"]  # a fixture, used by name

PAGE = (
    "<html><body><main><h1>人脸识别</h1><p>返回：年龄、性别{extra}。</p>"
    "<p>Face ID</p></main></body></html>"
)


@pytest.fixture
def recorded(store_spec: StoreSpec, tmp_path: Path, site: Site) -> Callable[..., Result]:
    """A store holding one watch, two captures and the removal of 是否是维族."""
    watchlist = write_watchlist(
        tmp_path / "w.yaml",
        f"watches:\n  - name: face\n    url: {site.url('/face')}\n    terms: [维族]\n"
        + FAST_SETTINGS,
    )

    def monitor(*args: str) -> Result:
        return run_cli(*store_options(store_spec), *args)

    site.set("/face", PAGE.format(extra="、是否是维族"))
    assert monitor("check", "--watchlist", str(watchlist)).code == 0
    site.set("/face", PAGE.format(extra=""))
    assert monitor("check", "--watchlist", str(watchlist)).code == 0
    return monitor


def test_reading_and_evidence_commands(
    recorded: Callable[..., Result], store_spec: StoreSpec, tmp_path: Path
) -> None:
    monitor = recorded
    (event,) = monitor("changes", "--format", "json").json()
    assert event["removed"] == ["、是否是维族"] and event["source"] == "live"
    assert event["witnesses"] == [] and event["triage"]["marks"] == []
    change = str(event["id"])
    shown = monitor("diff", change)
    assert shown.code == 0 and "是否是维族" in shown.out
    assert monitor("history", "face").code == 0
    for kind in ("warc", "wacz"):
        out = tmp_path / f"out.{kind}"
        exported = monitor("export", kind, str(out))
        assert exported.code == 0 and "2 capture(s)" in exported.out, exported.out + exported.err
        assert out.stat().st_size > 0
    bundle = tmp_path / "change.zip"
    written = monitor("bundle", change, str(bundle))
    assert written.code == 0, written.out + written.err
    assert "manifest.json" in zipfile.ZipFile(bundle).namelist()
    checked = run_cli("bundle", "--verify", str(bundle))
    assert checked.code == 0 and "bundle OK" in checked.out, checked.out
    verified = monitor("verify", "--details")
    assert verified.code == 0 and "store OK" in verified.out, verified.out + verified.err


SEARCHES = [  # (query, the watches found, present now): the same on every back end
    ("是否是维族", ["face"], False),
    ("是否是維族", ["face"], False),  # traditional folds to simplified
    ("族", ["face"], False),  # one Han character (PostgreSQL: a scan, no trigram)
    ("人脸", ["face"], True),  # two, still on the page
    ("ＦＡＣＥ", ["face"], True),  # full width and case fold; starts a word
    ("ace", [], None),  # a Latin term must start a word: "face" does not count
    ("ac", [], None),
    (" id ", ["face"], True),  # blank-padded; "ID" starts a word
    ("50%_", [], None),  # LIKE's wildcards are literal characters here
    ("是否是维族x", [], None),
]


@pytest.mark.parametrize(("query", "watches", "present"), SEARCHES)
def test_search(
    recorded: Callable[..., Result], query: str, watches: list[str], present: bool | None
) -> None:
    found = recorded("search", query, "--format", "json")
    assert found.code == 0, found.out + found.err
    rebuilt = recorded("search", "--rebuild")  # remade from the captures: the same answer
    assert rebuilt.code == 0, rebuilt.out + rebuilt.err
    assert recorded("search", query, "--format", "json").out == found.out
    hits = found.json()
    assert [h["watch"] for h in hits] == watches, query
    for hit in hits:
        assert hit["present_now"] is present
        if not present:  # appeared at the first capture, vanished at the second
            assert [t["event"] for t in hit["transitions"]] == ["appeared", "vanished"]
            assert hit["transitions"][1]["change"] is not None


def test_site_discovery(store_spec: StoreSpec, tmp_path: Path, site: Site) -> None:
    """A site's pages are discovered, become watches and are checked; a new page is an
    event; on PostgreSQL `monitor run` says that discovery runs in `monitor check`."""
    site.set("/docs/", "<html><body><main><a href='/docs/a'>a</a></main></body></html>")
    site.set("/docs/a", PAGE.format(extra="、是否是维族"))
    watchlist = write_watchlist(
        tmp_path / "sites.yaml",
        f"sites:\n  - name: docs\n    start: {site.url('/docs/')}\n    terms: [维族]\n"
        + FAST_SETTINGS,
    )

    def monitor(*args: str) -> Result:
        return run_cli(*store_options(store_spec), *args)

    first = monitor("check", "--watchlist", str(watchlist))
    assert first.code == 0 and "site docs: baseline" in first.out, first.out + first.err
    site.set("/docs/", "<main><a href='/docs/a'>a</a> <a href='/docs/b'>b</a></main>")
    site.set("/docs/b", PAGE.format(extra=""))
    second = monitor("check", "--watchlist", str(watchlist))
    assert second.code == 0 and "added 1" in second.out, second.out + second.err
    (found,) = monitor("sites", "--format", "json").json()
    assert found["site"] == "docs" and found["pages"] == 2, found
    assert found["last_discovery"]["complete"] is True, found
    kinds = [e["kind"] for e in monitor("changes", "--format", "json").json()]
    assert "page_added" in kinds, kinds
    verified = monitor("verify")
    assert verified.code == 0, verified.out + verified.err
    if store_spec.postgres:
        queued = monitor("run", "--watchlist", str(watchlist))
        assert queued.code == 2 and "monitor check --watchlist FILE" in queued.err


def test_migrate_carries_sites(
    tmp_path: Path, site: Site, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_KEY_DIR", str(tmp_path / "data" / "keys"))  # one key for both
    site.set("/docs/", "<main><a href='/docs/a'>a</a> <a href='/docs/b'>b</a></main>")
    site.set("/docs/a", PAGE.format(extra="、是否是维族"))
    site.set("/docs/b", PAGE.format(extra=""))
    watchlist = str(
        write_watchlist(
            tmp_path / "sites.yaml",
            f"sites:\n  - name: docs\n    start: {site.url('/docs/')}\n    terms: [维族]\n"
            + FAST_SETTINGS,
        )
    )
    data = str(tmp_path / "data")
    assert run_cli("--data-dir", data, "check", "--watchlist", watchlist).code == 0
    site.set("/docs/a", PAGE.format(extra=""))
    assert run_cli("--data-dir", data, "check", "--watchlist", watchlist).code == 0
    blobs = str(tmp_path / "pg-blobs")
    moved = run_cli("--blobs", blobs, "migrate", "--from", data, "--to", pg_url)
    assert moved.code == 0 and "copy verified" in moved.out, moved.out + moved.err

    def both(*args: str) -> tuple[Result, Result]:
        return run_cli("--data-dir", data, *args), run_cli(
            "--store", pg_url, "--blobs", blobs, *args
        )

    for args in (
        ("sites", "--format", "json"),
        ("changes", "--format", "json"),
        ("search", "是否是维族", "--format", "json"),  # indexed anew from the copy
        ("search", "族", "--format", "json"),
        ("search", "face", "--format", "json"),
    ):
        mine, theirs = both(*args)
        assert theirs.code == 0 and theirs.out == mine.out, args
    # Discovery goes on from the copied page records: nothing is "added" again.
    checked = run_cli("--store", pg_url, "--blobs", blobs, "check", "--watchlist", watchlist)
    assert checked.code == 0 and "added" not in checked.out.split("site docs:")[1].splitlines()[0]
    verified = run_cli("--store", pg_url, "--blobs", blobs, "verify")
    assert verified.code == 0, verified.out + verified.err
