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

PAGE = "<html><body><main><h1>人脸识别</h1><p>返回：年龄、性别{extra}。</p></main></body></html>"


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


def test_search(recorded: Callable[..., Result], store_spec: StoreSpec) -> None:
    found = recorded("search", "是否是维族", "--format", "json")
    if not store_spec.postgres:
        assert found.code == 0 and found.json()[0]["watch"] == "face"
        return
    assert found.code == 2 and "Traceback" not in found.err
    assert "monitor search runs on a data directory only" in found.err
    assert "monitor changes --format json" in found.err  # what to use instead


def test_sites_and_counterparts(store_spec: StoreSpec, tmp_path: Path, site: Site) -> None:
    site.set("/docs/", "<html><body><main><a href='/docs/a'>a</a></main></body></html>")
    site.set("/docs/a", PAGE.format(extra=""))
    watchlist = write_watchlist(
        tmp_path / "sites.yaml",
        f"sites:\n  - name: docs\n    start: {site.url('/docs/')}\n    terms: [维族]\n"
        + FAST_SETTINGS,
    )
    checked = run_cli(*store_options(store_spec), "check", "--watchlist", str(watchlist))
    if not store_spec.postgres:
        assert checked.code == 0, checked.err
        return
    assert checked.code == 2 and "Traceback" not in checked.err
    assert "sites and counterparts are checked against a data directory only" in checked.err
    assert "--data-dir" in checked.err  # what to use instead
