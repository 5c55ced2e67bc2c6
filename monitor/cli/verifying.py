"""``monitor verify``: the integrity of the store and its evidence."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import Context, say


@click.command()
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Also check against a checkpoint exported earlier (repeatable).",
)
@click.option(
    "--tsa-roots",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM root certificates of trusted time-stamping authorities.",
)
@click.option(
    "--details",
    is_flag=True,
    help="Also print what was checked: records, chain head, checkpoints, timestamps, key.",
)
@click.pass_obj
def verify(
    obj: Context, checkpoints: tuple[str, ...], tsa_roots: str | None, details: bool
) -> None:
    """Check the store and its evidence.

    SQLite integrity, every blob against its SHA-256, the evidence chain, signed
    checkpoints and timestamps (docs/evidence.md).

    Prints one line per problem naming the record; exit status 3 when anything fails
    verification.

    \b
    Examples:
      monitor --data-dir monitor-data verify
      monitor verify --details --checkpoint checkpoint-2026-12-01.json --tsa-roots root.pem
    """
    from ..evidence.checkpoint import Checkpoint
    from ..evidence.service import verify_store

    exported = [
        (path, Checkpoint.from_export(Path(path).read_text(encoding="utf-8"), path))
        for path in checkpoints
    ]
    roots = None
    if tsa_roots:
        from ..evidence.timestamp import load_roots

        roots = load_roots(tsa_roots)
    with obj.store(read_only=True) as store:
        result = verify_store(store, exported, roots)
    for problem in result.problems:
        say(problem)
    if details:
        for note in result.notes:
            say(note)
    say("store OK" if not result.problems else f"{len(result.problems)} problem(s)")
    if result.problems:
        sys.exit(3)
