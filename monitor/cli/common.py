"""What the command modules share: the context object and option helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from ..model import parse_time
from ..store import SQLiteStore, open_store


class Context:
    """The global options, passed to every command."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir

    def store(self) -> SQLiteStore:
        return open_store(self.data_dir)


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
