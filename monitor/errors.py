"""Typed errors. Every message says what happened and what to do about it."""

from __future__ import annotations


class MonitorError(Exception):
    """Base class for errors the command line reports without a traceback."""

    exit_code = 1


class ConfigError(MonitorError):
    """Bad configuration (watchlist, options). Exit status 2."""

    exit_code = 2


class WatchlistError(ConfigError):
    """An invalid watchlist: names the file, the line, the entry and the field.

    >>> str(WatchlistError("w.yaml", "bad interval '6x'", line=4, entry="foo", field="every"))
    "w.yaml:4: watch 'foo', field 'every': bad interval '6x'"
    >>> str(WatchlistError("w.yaml", "no such tag", line=9, entry="team", field="tags",
    ...                    kind="route"))
    "w.yaml:9: route 'team', field 'tags': no such tag"
    >>> str(WatchlistError("w.yaml", "empty pattern", line=9, entry="docs", field="include",
    ...                    kind="site"))
    "w.yaml:9: site 'docs', field 'include': empty pattern"
    """

    def __init__(
        self,
        file: str,
        reason: str,
        *,
        line: int | None = None,
        entry: str | None = None,
        field: str | None = None,
        kind: str = "watch",
    ) -> None:
        self.file = file
        self.kind = kind  # what the entry is: a watch, an alert route, a site, counterparts
        self.reason = reason
        self.line = line
        self.entry = entry
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [where]
        if self.entry is not None:
            parts.append(f" {self.kind} {self.entry!r}")
        if self.field is not None:
            parts.append(f"{',' if self.entry is not None else ''} field {self.field!r}")
        return f"{parts[0]}:{''.join(parts[1:])}{':' if len(parts) > 1 else ''} {self.reason}"


class StoreError(MonitorError):
    """The data directory is unusable (corrupt, locked, or not writable)."""


class NotFoundError(MonitorError):
    """A watch, capture or change that the user named does not exist."""

    exit_code = 2
