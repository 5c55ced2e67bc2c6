"""Limits on a watchlist's YAML: the file's size, alias expansion and self-reference.

A watchlist may be written by someone else (a shared repository, a pull request). YAML
aliases (``*name``) reuse an anchored node (``&name``) without copying it, so 600 bytes
of nested aliases compose into a hundred shared nodes that anything walking them as a
tree (the duplicate-key check, the constructed data, validation) sees as billions: an
"alias bomb". An alias inside the node it names makes an endless structure. Both are
refused after composing (cheap: one pass over the shared nodes), before anything walks
the tree. A very large file is refused before it is parsed (reading.py): PyYAML keeps
about 20 bytes of memory per byte of input.

>>> bomb = "a: &a [x, x]\\nb: &b [*a, *a]\\nc: [*b, *b]\\n"
>>> check_aliases(yaml.compose(bomb), "w.yaml", limit=20)
>>> try:
...     check_aliases(yaml.compose(bomb), "w.yaml", limit=19)
... except WatchlistError as error:
...     print(error.reason.split(";")[0])
YAML aliases (*name) expand the file to 29 nodes, 20 more than it has (the limit is 19)
"""

from __future__ import annotations

import yaml

from ..documents.yaml_nodes import AliasBomb, SelfReference, check_growth
from ..errors import WatchlistError
from . import defaults


def check_aliases(root: yaml.Node, path: str, limit: int = defaults.YAML_MAX_ALIAS_NODES) -> None:
    """Refuse a node graph that contains itself, or whose aliases add over ``limit`` nodes."""
    try:
        check_growth(root, limit)
    except SelfReference as error:
        raise WatchlistError(
            path,
            f"{error}, which makes an endless structure; write that part out instead",
            line=error.line,
        ) from None
    except AliasBomb as error:
        raise WatchlistError(
            path,
            f"{error}; write the repeated parts out, or repeat anchors less (an alias of a "
            "list of aliases multiplies)",
        ) from None
