"""What ``monitor sites`` lists: each site's page counts and its last discovery run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..analysis.pageset import PageStatus
from ..config.sites import Site
from ..errors import NotFoundError
from ..model import parse_time
from ..store.base import EvidenceStore, Row
from .discover import site_config


def list_sites(
    store: EvidenceStore, declared: Sequence[Site] = (), name: str | None = None
) -> list[dict[str, Any]]:
    """Sites the store knows (and those ``declared`` but never discovered), by name.

    With ``name``, that site only, with its pages (``page_list``).
    """
    records = store.sites()
    names = sorted({*records.site_names(), *(s.name for s in declared)})
    if name is not None:
        if name not in names:
            raise NotFoundError(
                f"no site named {name!r} (known: {', '.join(names) or 'none'}); "
                "sites are listed once monitor check has discovered them"
            )
        names = [name]
    by_name = {s.name: s for s in declared}
    found = []
    for site_name in names:
        row = records.site(site_name)
        config = json.loads(row["config"]) if row else site_config(by_name[site_name])
        statuses = records.page_counts(site_name)
        runs = records.runs(site_name, limit=1)
        entry: dict[str, Any] = {
            "site": site_name,
            "sitemaps": config["sitemaps"],
            "start": config["start"],
            "include": config["include"],
            "exclude": config["exclude"],
            "max_pages": config["max_pages"],
            "pages": sum(n for s, n in statuses.items() if s in PageStatus.WATCHED),
            "statuses": statuses,
            "last_discovery": _run(runs[0]) if runs else None,
        }
        if name is not None:
            entry["page_list"] = [
                {"watch": p.watch, "url": p.url, "status": p.status}
                for p in records.pages(site_name)
            ]
        found.append(entry)
    return found


def _run(row: Row) -> dict[str, Any]:
    return {
        "site": row["site"],
        "run": row["id"],
        "at": parse_time(row["finished_at"]).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "complete": bool(row["complete"]),
        "baseline": bool(row["baseline"]),
        "listed": row["listed"],
        "pages": row["pages"],
        **json.loads(row["summary"]),
        "errors": json.loads(row["errors"]),
        "sources": json.loads(row["sources"]),
        "manifest_sha256": row["manifest_sha256"],
    }
