"""Memory of the browser's processes: what a run's headless Chromium really costs."""

from __future__ import annotations

import os
import re
from pathlib import Path


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def browser_memory_mb(root: int | None = None) -> float:
    """Proportional memory (PSS) of this process's descendants named like Chromium.

    PSS shares memory that several processes map between them, so the sum is what the
    browser really costs. Zero where /proc is not readable.
    """
    try:
        tree = _children()
    except OSError:
        return 0.0
    total_kb = 0
    pending = list(tree.get(root or os.getpid(), []))
    while pending:
        pid = pending.pop()
        pending += tree.get(pid, [])
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            if "chrom" not in name:
                continue
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        match = re.search(r"^Pss:\s+(\d+)", rollup, re.MULTILINE)
        total_kb += int(match.group(1)) if match else 0
    return total_kb / 1024
