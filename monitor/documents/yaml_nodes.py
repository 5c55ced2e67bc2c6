"""How big a composed YAML node graph is once its aliases are expanded.

YAML aliases (``*name``) reuse an anchored node (``&name``) without copying it: a few
hundred bytes of nested aliases compose into a hundred shared nodes that anything walking
the data as a tree sees as billions (an "alias bomb"). Measuring the graph first costs one
pass over the distinct nodes. Used for watchlists (config/yaml_limits.py) and for YAML
documents a page serves (structured.py).

>>> expanded_size(yaml.compose("a: &a [x, x]\\nb: &b [*a, *a]\\nc: [*b, *b]\\n"))
(29, 9)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml


class SelfReference(ValueError):
    """An alias inside the node it names: an endless structure."""

    def __init__(self, node: yaml.Node) -> None:
        super().__init__("a YAML alias (*name) is used inside the node it names (&name)")
        self.line = node.start_mark.line + 1


class AliasBomb(ValueError):
    """Aliases expand the document past the limit."""

    def __init__(self, expanded: int, distinct: int, limit: int) -> None:
        self.expanded, self.added, self.limit = expanded, expanded - distinct, limit
        super().__init__(
            f"YAML aliases (*name) expand the file to {expanded:,} nodes, {self.added:,} "
            f"more than it has (the limit is {limit:,})"
        )


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, yaml.SequenceNode):
        yield from node.value


def expanded_size(root: yaml.Node) -> tuple[int, int]:
    """(nodes with every alias expanded, distinct nodes); SelfReference on a cycle.

    Depth-first without recursion (a deeply nested file must not exhaust the stack);
    each node's expanded size is one plus its children's.
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
                raise SelfReference(child)
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)], len(sizes)


def check_growth(root: yaml.Node, limit: int) -> None:
    """Raise AliasBomb when aliases add more than ``limit`` nodes (or SelfReference)."""
    expanded, distinct = expanded_size(root)
    if expanded - distinct > limit:
        raise AliasBomb(expanded, distinct, limit)


def load_bounded(text: str, loader: type[yaml.SafeLoader], limit: int) -> Any:
    """``yaml.load`` of one document, refusing alias bombs before constructing anything."""
    parser = loader(text)
    try:
        root = parser.get_single_node()
        if root is None:
            return None
        check_growth(root, limit)
        return parser.construct_document(root)
    finally:
        parser.dispose()
