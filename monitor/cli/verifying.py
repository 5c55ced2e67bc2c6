"""``monitor verify``: the integrity of the store and its evidence."""

from __future__ import annotations

import sys

import click

from .common import Context


@click.command()
@click.pass_obj
def verify(obj: Context) -> None:
    """Check the store and its evidence.

    SQLite integrity and every blob against its SHA-256; one line per problem.

    Exit status 3 when anything fails verification.

    \b
    Example:
      monitor --data-dir monitor-data verify
    """
    with obj.store() as store:
        problems = store.verify()
    for problem in problems:
        click.echo(problem)
    click.echo("store OK" if not problems else f"{len(problems)} problem(s)")
    if problems:
        sys.exit(3)
