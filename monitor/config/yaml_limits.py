"""Limits on a watchlist's YAML: the file's size, alias expansion and self-reference.

A watchlist may be written by someone else (a shared repository, a pull request). YAML
aliases (``*name``) reuse an anchored node (``&name``) without copying it, so 600 bytes
of nested aliases compose into a hundred shared nodes that anything walking them as a
tree (the duplicate-key check, the constructed data, validation) sees as billions: an
"alias bomb". An alias inside the node it names makes an endless structure. Both are
refused after composing (cheap: one pass over the shared nodes), before anything walks
the tree. A very large file is refused before it is parsed: PyYAML keeps about 20 bytes
of memory per byte of input.

>>> bomb = "a: &a [x, x]\\nb: &b [*a, *a]\\nc: [*b, *b]\\n"
>>> check_aliases(yaml.compose(bomb), "w.yaml", limit=20)
>>> try:
...     check_aliases(yaml.compose(bomb), "w.yaml", limit=19)
... except WatchlistError as error:
...     print(error.reason.split(";")[0])
YAML aliases (*name) expand the file to 29 nodes, 20 more than it has (the limit is 19)
"""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from ..errors import WatchlistError
from . import defaults

MB = 1024 * 1024


def max_bytes(limit_mb: float = defaults.WATCHLIST_MAX_MB) -> int:
    return int(limit_mb * MB)


def too_large(path: str, size: int, limit: int) -> WatchlistError:
    return WatchlistError(
        path,
        f"the file is {_size(size)}, over the {_size(limit)} limit for a watchlist; split "
        "it into several watchlists, or list a documentation site once under 'sites:' "
        "instead of each of its pages",
    )


def _size(count: int) -> str:
    """
    >>> _size(4 * MB), _size(5_300_000), _size(1048)
    ('4 MB', '5.05 MB', '1,048 bytes')
    """
    return f"{count / MB:.3g} MB" if count >= MB / 10 else f"{count:,} bytes"


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, yaml.SequenceNode):
        yield from node.value


def check_aliases(root: yaml.Node, path: str, limit: int = defaults.YAML_MAX_ALIAS_NODES) -> None:
    """Refuse a node graph that contains itself, or whose aliases add over ``limit`` nodes.

    One depth-first pass over the distinct nodes (no recursion: a deeply nested file
    must not exhaust the stack); each node's expanded size is the sum of its children's.
    """
    sizes: dict[int, int] = {}  # id(node) -> nodes it stands for, aliases expanded
    ancestors: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            ancestors.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in _children(node))
            continue
        if id(node) in sizes:
            continue  # a shared node, already measured
        ancestors.add(id(node))
        stack.append((node, True))
        for child in _children(node):
            if id(child) in ancestors:
                raise WatchlistError(
                    path,
                    "a YAML alias (*name) is used inside the node it names (&name), which "
                    "makes an endless structure; write that part out instead",
                    line=child.start_mark.line + 1,
                )
            if id(child) not in sizes:
                stack.append((child, False))
    expanded, distinct = sizes[id(root)], len(sizes)
    if expanded - distinct > limit:
        raise WatchlistError(
            path,
            f"YAML aliases (*name) expand the file to {expanded:,} nodes, {expanded - distinct:,} "
            f"more than it has (the limit is {limit:,}); write the repeated parts out, or "
            "repeat anchors less (an alias of a list of aliases multiplies)",
        )
