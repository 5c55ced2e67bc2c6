"""Command line (docs/cli.md is the contract; researchers script against it: keep it stable).

Exit status: 0 success; 1 an internal error; 2 bad usage or an invalid watchlist (the
message names the file, the entry and the field); 3 evidence failed verification.
Fetch failures are recorded as events, not exit codes.

Commands are loaded lazily from :data:`COMMANDS`: ``monitor --help`` or
``monitor changes`` import only what they use, not the fetcher, the parser and the
pipeline (issue: start-up cost on small lists).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

import click

from .. import __version__
from ..config.defaults import DATA_DIR as DEFAULT_DATA_DIR
from ..errors import MonitorError
from ..safe import terminal
from .common import Context, hoist_global_options, say

# name -> (module under monitor.cli, attribute, one-line help shown by `monitor --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "check": ("checking", "check", "Check the named watches (default: all) once, now."),
    "run": ("checking", "run", "Check every watch on its schedule until stopped."),
    "changes": ("reading", "changes", "List change events, oldest first."),
    "diff": ("reading", "diff", "Show one change: removed and added wording in context."),
    "history": ("reading", "history", "The captures of one watch, oldest first."),
    "show": ("reading", "show", "The text of a watch as it stood at a time."),
    "search": (
        "searching",
        "search",
        "Where and when wording appeared or vanished, across all versions.",
    ),
    "serve": ("serving", "serve", "Web dashboard, JSON API (OpenAPI) and Atom feed."),
    "verify": ("verifying", "verify", "Check the store and its evidence."),
    "key": ("evidence", "key", "Print the data directory's public signing key."),
    "checkpoint": ("evidence", "checkpoint", "Sign a checkpoint of the evidence now; export it."),
    "export": ("evidence", "export", "Export captures as WARC or WACZ."),
    "bundle": ("evidence", "bundle", "Write (or --verify) the evidence bundle of one change."),
    "worker": ("scale", "worker", "Run a PostgreSQL store's queued checks, with other workers."),
    "migrate": ("scale", "migrate", "Copy a data directory into a PostgreSQL store, verifying it."),
    "watchlist": ("watchlist", "watchlist_group", "Validate a watchlist, or tune a watch."),
    "notify": ("notify", "notify_group", "Alert routes: pending/failed deliveries, test, send."),
    "sites": ("sites", "sites", "Documentation sites: page counts and the last discovery run."),
    "locales": ("sites", "locales", "What the language versions of a document mention and omit."),
    "import": (
        "archives",
        "import_group",
        "Bring a page's history from a public archive into the store.",
    ),
    "witness": (
        "archives",
        "witness_group",
        "Save Page Now witnesses of changes: list them, or work the queue now.",
    ),
    "demo": ("demo", "demo", "Offline end-to-end demonstration of the 2020 Cloud Shield case."),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS, key=list(COMMANDS).index)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        command = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
        assert isinstance(command, click.Command)
        if _AS_PROCESS and not gc.isenabled():
            # What the imports built lives as long as the process: moved out of the
            # collector's sight, later collections and the exit need not walk it again.
            gc.freeze()
            gc.enable()
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The table's one-liners: listing the commands imports none of them.
        rows = [(name, help_) for name, (_, _, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    envvar="MONITOR_DATA_DIR",
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Where captures and changes are kept (or set MONITOR_DATA_DIR).",
)
@click.option(
    "--store",
    envvar="MONITOR_STORE",
    help="The store instead of --data-dir: a directory, or postgresql://user@host/db "
    "(or set MONITOR_STORE; the password from PGPASSWORD or ~/.pgpass).",
)
@click.option(
    "--blobs",
    envvar="MONITOR_BLOBS",
    help="Where a PostgreSQL store keeps raw bytes: a directory or s3://bucket/prefix "
    "(or set MONITOR_BLOBS; AWS_ENDPOINT_URL and AWS_* credentials apply).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="monitor")
@click.pass_context
def cli(
    ctx: click.Context, data_dir: str, store: str | None, blobs: str | None, verbose: int
) -> None:
    """Watch public vendor documentation and report exactly which wording changed.

    \b
    Examples:
      monitor demo
      monitor check --watchlist watchlists/face-and-moderation.yaml
      monitor changes --flagged --format json
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # log lines quote URLs and page text
        if not isinstance(handler.formatter, _SafeFormatter):
            handler.setFormatter(_SafeFormatter(handler.formatter))
    ctx.obj = Context(data_dir, store, blobs)


class _SafeFormatter(logging.Formatter):
    """Log lines as the terminal may show them: credentials redacted, controls visible."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return terminal(self.inner.format(record))


_AS_PROCESS = False


def entry() -> None:
    """The ``monitor`` executable and ``python -m monitor``: :func:`main` as a process.

    Imports make hundreds of thousands of objects and no garbage, yet trigger collections
    that walk them all, and so would the interpreter's exit: about 0.06 s of a 20-page
    check. The collector is off while the command's modules load, then they are frozen
    (:meth:`LazyGroup.get_command`). In-process callers (the tests) keep the collector.
    """
    global _AS_PROCESS
    _AS_PROCESS = True
    gc.disable()
    try:
        main()
    except SystemExit as done:
        leave(done.code)
    leave(0)


def leave(code: object) -> NoReturn:
    """End the process as ``sys.exit(code)`` would, without the teardown of every module.

    What an exit must do is done: other threads that are not daemons are waited for,
    ``atexit`` handlers run (worker pools, temporary directories, logging), standard
    output and error are flushed. What is skipped is freeing every object one by one,
    about 0.02 s that no data depends on: the store never relies on it (every write is
    committed or fsynced before the command returns, and it survives a kill anyway).
    """
    status = _status(code)
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (| head): as Python's own exit says
            status = status or 120
    os._exit(status)


def _status(code: object) -> int:
    """The exit status of ``sys.exit(code)``: None is 0; text is printed, and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    with contextlib.suppress(OSError, ValueError):
        print(code, file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: typed errors become messages and exit codes, never tracebacks."""
    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    try:
        cli.main(args=args, prog_name="monitor", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.Abort as abort:
        if isinstance(abort.__cause__, KeyboardInterrupt):
            sys.exit(130)  # Ctrl-C before the command installed its own handler
        say("aborted", err=True)
        sys.exit(1)
    except MonitorError as error:
        say(f"monitor: {error}", err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        logging.getLogger("monitor").debug("internal error", exc_info=True)
        say(
            f"monitor: internal error: {type(error).__name__}: {error} "
            "(run with -vv for a traceback and please report it)",
            err=True,
        )
        sys.exit(1)
