"""The watchlist start-up cache (config/cache.py): same bytes, same result, no schema.

A cached watchlist must be exactly what validation gives, must never outlive an edit of
the file, must never hold a secret, and must never be trusted when someone else could
have written it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import building
from monitor.config.cache import cache_dir
from monitor.config.watchlist import load_watchlist, loads_watchlist
from monitor.errors import WatchlistError

WATCHLIST = """\
defaults:
  every: 6h
  terms: [维族, Uyghur]
  exclude: [nav]
term_groups:
  ethnicity: [维族, 民族]
settings:
  max_connections: 4
notify:
  - name: team
    urls_env: MONITOR_TEST_ROUTE
    kinds: [changed, attention]
watches:
  - name: aliyun-face
    url: https://help.aliyun.com/document_detail/70429.html
    select: main
    headers_env: {X-Api-Key: PARTNER_KEY}
    browser: {wait_for: main, timeout: 30}
  - name: aliyun-face-en
    url: https://www.alibabacloud.com/help/doc-detail/70429.htm
    cron: "0 */6 * * *"
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("MONITOR_CACHE_DIR", str(folder))
    return folder


def written(folder: Path, text: str = WATCHLIST) -> Path:
    path = folder / "w.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def entries(folder: Path) -> list[Path]:
    return sorted((folder / "watchlists").glob("*.pickle"))


def refuse_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(text: str, path: str) -> None:
        raise AssertionError("validated although the cache holds this file")

    monkeypatch.setattr(building, "build_watchlist", refused)


def test_a_second_load_comes_from_the_cache_and_equals_validation(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = written(tmp_path)
    validated = load_watchlist(path)
    assert validated == loads_watchlist(WATCHLIST, str(path))
    assert len(entries(cache)) == 1
    refuse_validation(monkeypatch)
    assert load_watchlist(path) == validated


def test_an_edit_is_validated_again_even_into_an_error(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = written(tmp_path)
    load_watchlist(path)
    path.write_text(WATCHLIST.replace("every: 6h", "every: soon"), encoding="utf-8")
    with pytest.raises(WatchlistError, match="every"):
        load_watchlist(path)
    path.write_text(WATCHLIST, encoding="utf-8")  # back to the cached bytes: no validation
    refuse_validation(monkeypatch)
    assert load_watchlist(path).watches[0].name == "aliyun-face"


def test_the_same_bytes_elsewhere_keep_their_own_path(cache: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    for path in (first, second):
        path.write_text(WATCHLIST, encoding="utf-8")
    assert load_watchlist(first).path == str(first)
    assert load_watchlist(second).path == str(second)


def test_routes_with_urls_in_the_file_are_never_cached(cache: Path, tmp_path: Path) -> None:
    """An apprise URL may carry a token: it stays in the watchlist file alone."""
    path = tmp_path / "w.yaml"
    path.write_text(
        WATCHLIST.replace("urls_env: MONITOR_TEST_ROUTE", "urls: ['json://127.0.0.1:9/t0ken']"),
        encoding="utf-8",
    )
    load_watchlist(path)
    assert entries(cache) == []


def test_no_secret_reaches_the_cache(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Secrets are named, never resolved, at load: their values appear in no entry."""
    monkeypatch.setenv("PARTNER_KEY", "s3cret-partner-key")
    monkeypatch.setenv("MONITOR_TEST_ROUTE", "json://127.0.0.1:9/route-t0ken")
    path = written(tmp_path)
    load_watchlist(path)
    (entry,) = entries(cache)
    data = entry.read_bytes()
    assert b"s3cret-partner-key" not in data and b"route-t0ken" not in data
    assert b"PARTNER_KEY" in data


def test_the_environment_is_checked_at_every_load(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = written(tmp_path)
    load_watchlist(path)
    monkeypatch.setenv("MONITOR_CONTACT", "research@example.org\r\nX-Evil: 1")
    with pytest.raises(Exception, match="MONITOR_CONTACT"):
        load_watchlist(path)


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda p: p.write_bytes(b"not a pickle"), id="damaged"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:40]), id="cut-short"),
        pytest.param(lambda p: p.chmod(0o666), id="writable-by-others"),
        pytest.param(
            lambda p: p.write_bytes(__import__("pickle").dumps({"watches": []})), id="not-a-list"
        ),
    ],
)
def test_a_spoiled_entry_is_ignored_and_the_file_validated(
    spoil: object, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = written(tmp_path)
    expected = load_watchlist(path)
    (entry,) = entries(cache)
    spoil(entry)  # type: ignore[operator]
    calls: list[str] = []
    original = building.build_watchlist

    def counted(text: str, name: str) -> object:
        calls.append(name)
        return original(text, name)

    monkeypatch.setattr(building, "build_watchlist", counted)
    assert load_watchlist(path) == expected
    assert calls == [str(path)]


def test_entries_are_private_to_their_user(cache: Path, tmp_path: Path) -> None:
    path = written(tmp_path)
    load_watchlist(path)
    (entry,) = entries(cache)
    assert entry.stat().st_mode & 0o077 == 0
    assert entry.parent.stat().st_mode & 0o077 == 0


def test_off_turns_it_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_CACHE_DIR", "off")
    assert cache_dir() is None
    path = written(tmp_path)
    assert load_watchlist(path) == load_watchlist(path)


def test_an_unwritable_cache_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the directory would go")
    monkeypatch.setenv("MONITOR_CACHE_DIR", str(blocked))
    path = written(tmp_path)
    assert load_watchlist(path).watches[1].cron == "0 */6 * * *"


def test_a_cached_load_imports_neither_yaml_nor_pydantic(cache: Path, tmp_path: Path) -> None:
    """What the cache is for: the check path's start-up without the schema layer."""
    path = written(tmp_path)
    probe = (
        "import json, sys\n"
        "from monitor.config.watchlist import load_watchlist\n"
        "import monitor.cli.checking, monitor.run.once, monitor.check\n"
        "watchlist = load_watchlist(sys.argv[1])\n"
        "print(json.dumps([len(watchlist.watches), sorted(m for m in ('yaml', 'pydantic')"
        " if m in sys.modules)]))\n"
    )
    env = {**os.environ, "MONITOR_CACHE_DIR": str(cache)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, env=env
        )
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    first, second = (json.loads(r.stdout) for r in runs)
    assert first == [2, ["pydantic", "yaml"]]
    assert second == [2, []]
