"""Evidence fixtures (import the ``*_fixture`` names into a test module): a real data
directory made by the demo (three checks through the
real pipeline, a flagged removal of 是否是维族), copied fresh for every test."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.demo import run_demo


@pytest.fixture(scope="session", name="demo_master")
def demo_master_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "data"
    run_demo(str(root), echo=lambda _line: None, languages=False)  # positions pinned below
    return root


@pytest.fixture(name="data_dir")
def data_dir_fixture(demo_master: Path, tmp_path: Path) -> Path:
    """A private copy of the demo's data directory (keys included), safe to tamper with."""
    copy = tmp_path / "data"
    shutil.copytree(demo_master, copy)
    return copy


@pytest.fixture(name="raw_db")
def raw_db_fixture(data_dir: Path) -> Iterator[sqlite3.Connection]:
    """The data directory's database as an attacker sees it: no triggers, no foreign keys."""
    db = sqlite3.connect(data_dir / "monitor.db", isolation_level=None)
    db.row_factory = sqlite3.Row
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    yield db
    db.close()


def flagged_change(db: sqlite3.Connection) -> sqlite3.Row:
    return db.execute("SELECT * FROM changes WHERE flags != '[]' ORDER BY id LIMIT 1").fetchone()
