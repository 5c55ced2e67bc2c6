"""docs/cli.md is the command-line contract: the code and the page must agree."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from monitor.cli.main import COMMANDS, cli
from monitor.model import EventKind, Outcome
from monitor.report.json import CHANGE_FIELDS

DOC = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")


def commands() -> list[tuple[str, click.Command]]:
    """Every command, groups expanded: ("watchlist validate", command), ..."""
    context = click.Context(cli)
    found = []
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", command.commands[sub]) for sub in command.commands]
        else:
            found.append((name, command))
    return found


def section(name: str) -> str:
    match = re.search(rf"^### `monitor {name}`\n(.*?)(?=^#{{2,3}} |\Z)", DOC, re.M | re.S)
    assert match, f"docs/cli.md has no section for `monitor {name}`"
    return match.group(1)


@pytest.mark.parametrize(("name", "command"), commands(), ids=lambda v: str(v))
def test_every_command_and_option_is_documented(name: str, command: click.Command) -> None:
    text = section(name)
    for param in command.params:
        if isinstance(param, click.Option):
            assert any(f"`{opt}" in text for opt in param.opts), (
                f"docs/cli.md: `monitor {name}` does not document {param.opts[0]}"
            )


def test_every_documented_command_exists() -> None:
    documented = set(re.findall(r"^### `monitor ([a-z -]+)`", DOC, re.M))
    assert documented == {name for name, _ in commands()}


@pytest.mark.parametrize(("name", "command"), commands(), ids=lambda v: str(v))
def test_every_command_help_has_an_example(name: str, command: click.Command) -> None:
    assert "Example" in (command.help or ""), f"monitor {name} --help shows no example"


def test_lazy_table_help_matches_the_commands() -> None:
    """`monitor --help` shows the table's one-liners: they must be the commands' own."""
    context = click.Context(cli)
    for name, (_, _, one_liner) in COMMANDS.items():
        command = cli.get_command(context, name)
        assert command is not None
        assert (command.help or "").strip().splitlines()[0] == one_liner, name


def test_json_fields_are_documented_exactly() -> None:
    match = re.search(r"^## JSON: change events\n(.*?)(?=^## |\Z)", DOC, re.M | re.S)
    assert match
    documented = re.findall(r"^\| `(\w+)` \|", match.group(1), re.M)
    assert tuple(documented) == CHANGE_FIELDS


def test_event_kinds_and_outcomes_are_documented() -> None:
    for kind in EventKind:
        assert f"`{kind.value}`" in DOC
    outcomes = re.search(r"^## Outcomes of a check\n(.*?)(?=^## |\Z)", DOC, re.M | re.S)
    assert outcomes
    assert set(re.findall(r"^\| `(\w+)` \|", outcomes.group(1), re.M)) == {o.value for o in Outcome}


def test_exit_statuses_are_documented() -> None:
    table = re.search(r"^## Exit status\n(.*?)(?=^## |\Z)", DOC, re.M | re.S)
    assert table
    assert re.findall(r"^\| (\d) \|", table.group(1), re.M) == ["0", "1", "2", "3"]


def test_readme_settings_table_matches_the_defaults() -> None:
    """Defaults live in config/defaults.py; the README's table must say the same."""
    from monitor.config import defaults
    from monitor.config.schema import _SettingsEntry

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)` \| ([\d.]+) \|", readme, re.M))
    assert {k: float(v) for k, v in rows.items()} == {
        k: float(v) for k, v in defaults.SETTINGS.items()
    }
    # ...and the validated settings block uses the same defaults.
    for key, value in defaults.SETTINGS.items():
        assert _SettingsEntry.model_fields[key].default == value


def documented_fields(title: str) -> list[str]:
    match = re.search(rf"^## JSON: {title}\n(.*?)(?=^## |\Z)", DOC, re.M | re.S)
    assert match, f"docs/cli.md has no 'JSON: {title}' section"
    table = match.group(1).split("\n\n`")[0]  # the first table of the section
    return re.findall(r"^\| `(\w+)` \|", table, re.M)
