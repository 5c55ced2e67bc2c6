"""``monitor demo``: the offline demonstration."""

from __future__ import annotations

import click

from .common import say


@click.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Offline end-to-end demonstration of the 2020 Cloud Shield case.

    \b
    Examples:
      monitor demo
      monitor --data-dir demo-data demo
    """
    from ..demo import run_demo

    root = ctx.find_root()
    source = root.get_parameter_source("data_dir")
    explicit = source is not None and source.name != "DEFAULT"
    run_demo(root.params.get("data_dir") if explicit else None, echo=say)
