"""Reading a watchlist file: bytes -> YAML node tree -> data, and every error located.

Line numbers come from the YAML node tree: the file is composed once, the node tree is
kept to map a pydantic error location such as ``('watches', 2, 'every')`` back to the
line it came from, and the same tree is constructed into plain Python data.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import WatchlistError
from . import defaults
from .fields import _NAME, MAX_NAME_LENGTH
from .reading import max_bytes, too_large
from .schema import _ALLOWED_KEYS
from .yaml_limits import check_aliases

# libyaml's scanner and parser (C) when PyYAML was built with it: 4x faster on a
# 200-watch list (0.12 -> 0.03 s); the same nodes, marks and errors.
_LOADER: Any = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


def _parse_yaml(
    text: str, path: str, limit: int = defaults.YAML_MAX_ALIAS_NODES
) -> tuple[yaml.Node, Any]:
    """Compose the node tree (kept for line numbers) and construct the data from it."""
    if len(text) > max_bytes():  # text given directly: the file's cap (characters <= bytes)
        raise too_large(path, len(text.encode("utf-8", "replace")), max_bytes())
    try:
        loader = _LOADER(text)
    except yaml.reader.ReaderError as error:
        raise _reader_error(error, text, path) from None
    try:
        root = loader.get_single_node()
        if root is None:
            raise WatchlistError(path, "the file is empty; a watchlist needs a 'watches' list")
        check_aliases(root, path, limit)  # before anything walks the nodes as a tree
        duplicate = _find_duplicate_key(root, (), set())
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        raise _yaml_error(error, path, text) from None
    except yaml.reader.ReaderError as error:
        raise _reader_error(error, text, path) from None
    except RecursionError:
        raise WatchlistError(path, _TOO_DEEP) from None
    finally:
        loader.dispose()
    if duplicate is not None:
        loc, line, first_line = duplicate
        raise WatchlistError(
            path,
            f"duplicate key {loc[-1]!r} (first on line {first_line}); "
            "YAML keeps only the last one, so remove one of them",
            line=line,
            entry=_entry_label(data, loc),
            field=_field_label(loc),
            kind=_entry_kind(loc),
        )
    return root, data


def _reader_error(error: yaml.reader.ReaderError, text: str, path: str) -> WatchlistError:
    line = text[: error.position].count("\n") + 1
    reason = f"unacceptable character #x{error.character:04x} ({error.reason}); remove it"
    return WatchlistError(path, reason, line=line)


_TOO_DEEP = "nested too deeply to read; a watchlist needs only a few levels"


def _yaml_error(error: yaml.MarkedYAMLError, path: str, text: str) -> WatchlistError:
    mark = error.problem_mark or error.context_mark
    problem = error.problem or "cannot parse"
    if "maximum nesting depth" in problem:  # libyaml's limit (Python's: RecursionError)
        return WatchlistError(path, _TOO_DEEP)
    reason = f"YAML syntax error: {problem}"
    if error.context:
        reason += f" ({error.context})"
    if "\\t" in problem or "'\\t'" in problem or _tab_at(text, mark):
        reason += "; indent with spaces, not tabs"
    elif "mapping values are not allowed" in problem:
        reason += "; put values that contain ': ' in quotes"
    elif "found unknown escape character" in problem:
        reason += "; write regular expressions in 'single quotes'"
    return WatchlistError(path, reason, line=mark.line + 1 if mark else None)


def _tab_at(text: str, mark: yaml.Mark | None) -> bool:
    """True when the error is at a tab in the line's indentation (libyaml's message
    does not name the character)."""
    if mark is None:
        return False
    lines = text.splitlines()
    if mark.line >= len(lines):
        return False
    line = lines[mark.line]
    indentation = line[: len(line) - len(line.lstrip())]
    return "\t" in indentation or line[mark.column : mark.column + 1] == "\t"


Loc = tuple[str | int, ...]


def _find_duplicate_key(
    node: yaml.Node, loc: Loc, visited: set[int]
) -> tuple[Loc, int, int] | None:
    """The first key repeated within one mapping, as (loc, line, first line).

    A node shared through aliases is looked at once (``visited``): revisiting it, as a
    tree walk would, costs as much as expanding every alias.
    """
    if id(node) in visited:
        return None
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if key.tag == "tag:yaml.org,2002:merge" or not isinstance(key, yaml.ScalarNode):
                continue
            line = key.start_mark.line + 1
            if key.value in seen:
                return (*loc, key.value), line, seen[key.value]
            seen[key.value] = line
            found = _find_duplicate_key(value, (*loc, key.value), visited)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found = _find_duplicate_key(item, (*loc, index), visited)
            if found:
                return found
    return None


# ---------------------------------------------------------------------------
# Errors: pydantic locations -> file, line, entry, field


def _line_of(root: yaml.Node, loc: Sequence[str | int]) -> int:
    """The line of the deepest node that loc reaches: a key's line for a mapping entry."""
    node, line = root, root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = _find_pair(node, part)
            if pair is None:
                break  # a missing key: the mapping's own line
            key, node = pair
            line = key.start_mark.line + 1
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _find_pair(node: yaml.MappingNode, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    # The last match, as YAML keeps the last of repeated (or merged-in) keys.
    for key, value in reversed(node.value):
        if isinstance(key, yaml.ScalarNode) and key.value == str(part):
            return key, value
    return None


def _entry_label(data: Any, loc: Sequence[str | int]) -> str | None:
    """The watch's (or route's) name, or '#N' (1-based) when the name is missing or bad."""
    if len(loc) < 2 or loc[0] not in _ENTRY_LISTS or not isinstance(loc[1], int):
        return None
    index = loc[1]
    watches = data.get(loc[0]) if isinstance(data, dict) else None
    item = watches[index] if isinstance(watches, list) and index < len(watches) else None
    name = item.get("name") if isinstance(item, dict) else None
    if isinstance(name, str) and len(name) <= MAX_NAME_LENGTH and _NAME.fullmatch(name):
        return name
    return f"#{index + 1}"


# Top-level lists of named entries, and what one entry is called in messages.
_ENTRY_LISTS = {
    "watches": "watch",
    "notify": "route",
    "sites": "site",
    "counterparts": "counterparts",
}


def _entry_kind(loc: Sequence[str | int]) -> str:
    return _ENTRY_LISTS.get(str(loc[0]), "watch") if loc else "watch"


def _field_label(loc: Sequence[str | int]) -> str | None:
    """'every' in a watch, 'defaults.every', 'settings.per_host', or a top-level key."""
    if not loc:
        return None
    head = str(loc[0])
    if head in _ENTRY_LISTS and len(loc) >= 2 and isinstance(loc[1], int):
        return str(loc[2]) if len(loc) >= 3 else None
    if head in ("defaults", "settings", "term_groups") and len(loc) >= 2:
        return f"{head}.{loc[1]}"
    return head


def _section(loc: Sequence[str | int]) -> str:
    if "browser" in loc[:-1]:
        return "browser"  # a key inside a watch's (or the defaults') browser: block
    if "auth_env" in loc[:-1]:
        return "auth_env"
    if len(loc) >= 3 and loc[0] in _ENTRY_LISTS:
        return _ENTRY_LISTS[str(loc[0])]
    if len(loc) >= 2 and loc[0] in ("defaults", "settings"):
        return str(loc[0])
    return "top"


def _first_error(error: ValidationError, root: yaml.Node, data: Any, path: str) -> WatchlistError:
    """The error that comes first in the file, as a WatchlistError."""
    details = error.errors(include_url=False)
    # A misspelt key also shows as a missing one ('urll' -> no 'url'): report the misspelling.
    misspelt = {tuple(d["loc"][:-1]) for d in details if d["type"] == "extra_forbidden"}
    details = [
        d for d in details if not (d["type"] == "missing" and tuple(d["loc"][:-1]) in misspelt)
    ]
    found = []
    for order, detail in enumerate(details):
        loc = tuple(p for p in detail["loc"] if p != "[key]")
        found.append((_line_of(root, detail["loc"]), order, loc, detail))
    line, _, loc, detail = min(found, key=lambda item: item[:2])
    return WatchlistError(
        path,
        _reason(detail, loc),
        line=line,
        entry=_entry_label(data, loc),
        field=_field_label(loc),
        kind=_entry_kind(loc),
    )


def _reason(detail: Any, loc: Loc) -> str:
    kind, value = detail["type"], detail.get("input")
    key = str(loc[-1]) if loc else "?"
    if kind == "value_error":
        return str(detail["ctx"]["error"])
    if kind == "missing":
        return f"missing required key {key!r}{_MISSING_HINTS.get(key, '')}"
    if kind == "extra_forbidden":
        return _unknown_key_reason(key, _ALLOWED_KEYS[_section(loc)])
    if kind == "too_short" and loc == ("watches",):
        return "the watches list is empty; add at least one watch with a name and a url"
    if kind == "greater_than_equal":
        return f"must be at least {detail['ctx']['ge']}, got {value!r}"
    template = _TYPE_REASONS.get(kind)
    if template:
        return template.format(got=_describe(value))
    return str(detail["msg"])


_MISSING_HINTS = {
    "url": "; add the page address, like url: https://example.com/docs/page",
    "name": "; add a unique name, like name: aliyun-face-api",
    "watches": "; add a 'watches:' list with at least one watch",
    "urls": "; add apprise URLs under urls, or urls_env naming an environment variable",
}
_TYPE_REASONS = {
    "string_type": "expected text, got {got}; put the value in quotes",
    "list_type": "expected a list, got {got}; write it like [a, b] or one '- item' per line",
    "dict_type": "expected a mapping of key: value pairs, got {got}",
    "model_type": "expected a mapping of key: value pairs, got {got}",
    "int_type": "expected a whole number, got {got}",
    "float_type": "expected a number, got {got}",
    "finite_number": "expected a finite number, got {got}",
}


def _unknown_key_reason(key: str, allowed: Sequence[str]) -> str:
    if key in ("name", "url") and "name" not in allowed:
        return f"{key!r} cannot be a default; give each watch its own {key}"
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}"


def _describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"true/false ({value!r})"
    if isinstance(value, datetime | date):
        return f"a date ({value})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"text ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


@dataclass(frozen=True)
class _Located:
    """What post-validation checks need to report a line."""

    root: yaml.Node
    data: Any
    path: str

    def error(self, loc: Loc, reason: str) -> WatchlistError:
        return WatchlistError(
            self.path,
            reason,
            line=_line_of(self.root, loc),
            entry=_entry_label(self.data, loc),
            field=_field_label(loc),
            kind=_entry_kind(loc),
        )
