"""The layout stays true: dependencies point down the flow, and no module grows huge.

Every module of the package has a tier (see README "Layout"); a module may import only
modules of its own tier or lower. Nothing imports the command line or the demo.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"

# Longest prefix wins. A new room must be added here (the test fails until it is).
TIERS: dict[str, int] = {
    "monitor": 0,  # the package's __init__ (version) and __main__ (special-cased below)
    "monitor.model": 0,
    "monitor.safe": 0,  # pure: what is unsafe to show (control, bidi, credentials)
    "monitor.errors": 0,
    "monitor.config.defaults": 0,
    "monitor.documents": 1,
    "monitor.analysis": 2,
    "monitor.config": 3,
    "monitor.fetch": 4,
    "monitor.store": 5,
    "monitor.check": 6,
    "monitor.tune": 6,
    "monitor.report": 6,
    "monitor.evidence": 7,
    "monitor.evidence.chain": 0,  # pure; every store computes the chain with it
    "monitor.notify": 7,
    "monitor.archives": 7,
    "monitor.sites": 7,
    "monitor.search": 7,
    "monitor.run": 8,
    "monitor.web": 9,
    "monitor.demo": 9,
    "monitor.cli": 10,
}
MAX_LINES = 420


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def tier(module: str) -> int:
    best = max((p for p in TIERS if module == p or module.startswith(p + ".")), key=len)
    return TIERS[best]


def imports(path: Path, module: str) -> list[str]:
    """The monitor modules a file imports (absolute or relative, at any depth)."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("monitor")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith("monitor"):
                # `from ..config import defaults` imports a submodule: judge by that.
                found += [_submodule(target, a.name) for a in node.names]
    return found


def _submodule(package: str, name: str) -> str:
    folder = PACKAGE.parent.joinpath(*package.split("."))
    is_module = (folder / f"{name}.py").exists() or (folder / name / "__init__.py").exists()
    return f"{package}.{name}" if is_module else package


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_tier() -> None:
    for path in SOURCES:
        module = module_name(path)
        if module in ("monitor", "monitor.__main__"):
            continue
        prefixes = [p for p in TIERS if module == p or module.startswith(p + ".")]
        assert prefixes != ["monitor"], f"{module}: add its room to TIERS in {__file__}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_imports_point_down(path: Path) -> None:
    module = module_name(path)
    if module == "monitor.__main__":
        return  # `python -m monitor` runs the command line
    mine = tier(module)
    upward = [
        target for target in imports(path, module) if target != "monitor" and tier(target) > mine
    ]
    assert not upward, f"{module} (tier {mine}) imports upward: {upward}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module_name(path)} has {lines} lines; split it by concept"


def test_the_upward_check_can_fail() -> None:
    """The walker sees a relative import of a higher tier (guards against a vacuous test)."""
    store = PACKAGE / "store" / "sqlite.py"
    assert "monitor.analysis.events" in imports(store, "monitor.store.sqlite")
    assert tier("monitor.cli.main") > tier("monitor.store.sqlite")
