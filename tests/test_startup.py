"""Start-up cost (issue 10): what a command imports, and the collector around imports.

Timing lives in benchmarks/process_bench.py; these tests pin the properties that make
start-up cheap, so that a stray module-level import cannot quietly undo them.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from monitor.cli import main as cli_main
from monitor.store import open_store

_MAIN = sys.modules["monitor.cli.main"]

HEAVY = ("httpx", "lxml", "pydantic", "yaml", "cryptography")


def modules_after(*argv: str, cwd: Path) -> set[str]:
    """The top-level packages imported by a ``monitor`` process that ran ``argv``."""
    probe = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps(sorted({m.split('.')[0] for m in "
        "sys.modules})), file=sys.stderr))\n"
        "sys.argv = ['monitor', *sys.argv[1:]]\n"
        "from monitor.cli import entry\n"
        "entry()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, cwd=cwd
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("argv", [("--help",), ("--version",), ("changes",)])
def test_light_commands_import_no_heavy_library(argv: tuple[str, ...], tmp_path: Path) -> None:
    open_store(tmp_path / "data").close()
    loaded = modules_after("--data-dir", str(tmp_path / "data"), *argv, cwd=tmp_path)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.fixture
def as_process() -> Iterator[None]:
    """entry()'s state for one test: collector off until the command is loaded."""
    was_enabled = gc.isenabled()
    _MAIN._AS_PROCESS = True
    gc.disable()
    try:
        yield
    finally:
        _MAIN._AS_PROCESS = False
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def test_loading_a_command_freezes_the_imports_and_restarts_the_collector(
    as_process: None,
) -> None:
    """`monitor run` lives for months: the collector must be on once its command loads."""
    group = _MAIN.cli
    assert isinstance(group, click.Group)
    assert not gc.isenabled()
    command = group.get_command(click.Context(group), "changes")
    assert command is not None
    assert gc.isenabled() and gc.get_freeze_count() > 0


def test_in_process_callers_keep_their_collector() -> None:
    """The tests call main() in-process: nothing of theirs is frozen."""
    assert cli_main is not None and not _MAIN._AS_PROCESS
    frozen = gc.get_freeze_count()
    group = _MAIN.cli
    group.get_command(click.Context(group), "changes")
    assert gc.get_freeze_count() == frozen and gc.isenabled()


def test_leaving_waits_for_threads_runs_atexit_and_flushes(tmp_path: Path) -> None:
    """The quick exit skips only the teardown: threads, atexit and output are honoured."""
    marker = tmp_path / "thread-finished"
    probe = (
        "import atexit, sys, threading, time\n"
        "from monitor.cli.main import leave\n"
        "def late():\n"
        "    time.sleep(0.2)\n"
        f"    open({str(marker)!r}, 'w').write('done')\n"
        "threading.Thread(target=late).start()\n"
        "atexit.register(lambda: print('atexit ran', file=sys.stderr))\n"
        "sys.stdout.write('buffered, not flushed')\n"
        "leave(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 3
    assert done.stdout == "buffered, not flushed"
    assert "atexit ran" in done.stderr
    assert marker.read_text() == "done"


@pytest.mark.parametrize(
    ("code", "status", "said"),
    [(None, 0, ""), (0, 0, ""), (2, 2, ""), ("monitor: bad input", 1, "monitor: bad input")],
)
def test_exit_status_as_sys_exit_gives_it(
    code: object, status: int, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _MAIN._status(code) == status
    assert capsys.readouterr().err.strip() == said


def test_a_command_as_a_process_keeps_its_exit_status_and_output(tmp_path: Path) -> None:
    """Through entry(): a usage error is 2 with its message, a success 0 with its output."""
    bad = subprocess.run(
        [sys.executable, "-m", "monitor", "no-such-command"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "no-such-command" in bad.stderr
    good = subprocess.run(
        [sys.executable, "-m", "monitor", "--version"], capture_output=True, text=True
    )
    assert good.returncode == 0 and good.stdout.startswith("monitor")
