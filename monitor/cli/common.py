"""What the command modules share: the context object and option helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from ..model import parse_time
from ..safe import json_text, terminal
from ..store import EvidenceStore, StoreSpec, open_store


class Context:
    """The global options, passed to every command."""

    def __init__(self, data_dir: str, store: str | None = None, blobs: str | None = None) -> None:
        self.data_dir = data_dir
        # --store (a directory or postgresql://…) takes the place of --data-dir.
        self.spec = StoreSpec(store or data_dir, blobs)

    def store(self, create: bool = False, read_only: bool = False) -> EvidenceStore:
        """The store; only commands that record pass ``create=True``. Commands that only
        read pass ``read_only=True``: they work on a read-only data directory (a copy on
        a read-only mount, evidence handed to someone else) and never write to it."""
        return open_store(self.spec, create=create, read_only=read_only)


def parse_time_option(_ctx: Any, _param: Any, value: str | None) -> datetime | None:
    """A click callback: an ISO-8601 option value as an aware datetime."""
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 time ({error})") from error


watchlist_option = click.option(
    "--watchlist",
    "watchlist_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The watchlist YAML file.",
)


def format_option(*choices: str) -> Any:
    """``--format``: text for people, json (one documented shape per command) for scripts."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices or ("text", "json")),
        default="text",
        show_default=True,
        help="Output format; json shapes are documented in docs/cli.md.",
    )


def echo_json(data: object) -> None:
    """JSON for scripts: UTF-8 (Chinese stays readable), indented; C1 and bidi controls
    escaped, credentials in URLs redacted (monitor/safe.py)."""
    click.echo(json_text(data))


def say(message: object = "", err: bool = False, nl: bool = True) -> None:
    """Every line of text output: what pages say may hold escape sequences (ESC, C1 CSI,
    OSC titles and hyperlinks) or bidi overrides, shown here as ``\\x1b`` or
    ``<U+202E>``; credentials in URLs are shown as ``***`` (monitor/safe.py)."""
    click.echo(terminal(message), err=err, nl=nl)


# Global options may also follow the command (`monitor changes --data-dir X`).
_GLOBAL_WITH_VALUE = ("--data-dir",)
_GLOBAL_FLAGS = ("-v", "-vv", "--verbose")


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move global options given after the command to the front, where click reads them.

    >>> hoist_global_options(["changes", "--data-dir", "d", "--flagged", "-v"])
    ['--data-dir', 'd', '-v', 'changes', '--flagged']
    >>> hoist_global_options(["show", "x", "--", "--data-dir"])
    ['show', 'x', '--', '--data-dir']
    """
    front: list[str] = []
    rest: list[str] = []
    seen_command = False
    items = iter(argv)
    for arg in items:
        if arg == "--":
            rest += [arg, *items]
            break
        if not seen_command and not arg.startswith("-"):
            seen_command = True
        if not seen_command:
            front.append(arg)
            if arg in _GLOBAL_WITH_VALUE:
                front.append(next(items, ""))
        elif arg in _GLOBAL_WITH_VALUE:
            front += [arg, next(items, "")]
        elif arg.startswith(tuple(f"{o}=" for o in _GLOBAL_WITH_VALUE)) or arg in _GLOBAL_FLAGS:
            front.append(arg)
        else:
            rest.append(arg)
    return front + rest
