"""Structure-aware comparison of JSON/YAML documents (OpenAPI, Swagger, API metadata).

Pure functions. Nodes are matched by their identity path (``Block.key``, see
``monitor.documents.structured``), never by position, so re-ordered keys, re-sorted
parameter lists and re-indented files are no change at all. What changed is reported as:

* fragments, like every other comparison: the exact wording removed and added (a removed
  node with everything under it; the words removed from or added to a changed value);
* edits, one per changed node, in words: ``response property `uygur` removed from
  DetectFace``, with the node's readable path and its JSON pointer.

A node removed together with its parent is part of the parent's edit, not an edit of
its own; a removed and an added sibling with the same content under different names is
one rename (both names still listed as removed and added wording).

>>> from monitor.documents.structured import extract_structured
>>> old = extract_structured(b'{"enum": ["han", "uygur"], "note": "a b"}')
>>> new = extract_structured(b'{"note": "a b c", "enum": ["han"]}')
>>> result = compare_structured(old, new)
>>> [e.summary for e in result.edits]
['value `uygur` removed from `/enum`', 'value of `/note` changed']
>>> [f.text for f in result.removed], [f.text for f in result.added]
(['uygur'], ['c'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..documents.document import Block, Document
from ..documents.structured import FIELD, NODE, TYPES, pointer, split_pointer
from .apinames import ADDED, API_TYPES, CHANGED, REMOVED, RENAMED, Described, describe
from .compare import DELETE, INSERT, Comparison, Edit, Fragment, Hunk, compare
from .tables import table_edits


def is_structured(document: Document) -> bool:
    """True for documents whose blocks are keyed tree nodes (JSON, YAML, OpenAPI...)."""
    return document.type in TYPES


@dataclass
class _Tree:
    """A document's nodes by identity path, in canonical order."""

    document: Document
    by_key: dict[str, int]

    @classmethod
    def of(cls, document: Document) -> _Tree:
        return cls(document, {b.key: i for i, b in enumerate(document.blocks)})

    def block(self, key: str) -> Block:
        return self.document.blocks[self.by_key[key]]

    def subtree(self, key: str) -> list[Block]:
        """The node and every node under it (they follow it in canonical order)."""
        start = self.by_key[key]
        blocks = self.document.blocks
        inside = [blocks[start]]
        prefix = key + "/"
        for block in blocks[start + 1 :]:
            if not block.key.startswith(prefix):
                break
            inside.append(block)
        return inside

    def value(self, key: str) -> str | None:
        """A scalar field's value text, e.g. an operation's operationId."""
        index = self.by_key.get(key)
        if index is None:
            return None
        block = self.document.blocks[index]
        if block.kind != FIELD:
            return None
        label = split_pointer(key)[-1]
        return block.text[len(label) + 2 :]


def _parent(key: str) -> str:
    return key.rsplit("/", 1)[0]


def compare_documents(old: Document, new: Document) -> Comparison:
    """Node by node for two versions of a structured document, word by word otherwise.

    A page that changed type (an HTML page now served as JSON) is compared as text.
    """
    if is_structured(old) and is_structured(new):
        return compare_structured(old, new)
    result = compare(old, new)
    edits = table_edits(old, new, result) if result.changed else ()
    return replace(result, edits=edits) if edits else result


def compare_structured(old: Document, new: Document) -> Comparison:
    """What changed between two versions of a structured document, node by node."""
    before, after = _Tree.of(old), _Tree.of(new)
    removed = _topmost([k for k in before.by_key if k not in after.by_key])
    added = _topmost([k for k in after.by_key if k not in before.by_key])
    changed = [
        k
        for k in before.by_key
        if k in after.by_key and before.block(k).text != after.block(k).text
    ]
    renames = _renames(removed, added, before, after)
    kind = new.type if new.type in API_TYPES else old.type
    name = _Namer(kind, before, after)
    out = _Out()
    for key in removed:
        if key in renames:
            continue
        out.whole(REMOVED, key, before, name.removal(key))
    for key in added:
        if key in renames.values():
            continue
        out.whole(ADDED, key, after, name.addition(key))
    for old_key, new_key in renames.items():
        out.rename(old_key, new_key, before, after, name.rename(old_key, new_key))
    for key in changed:
        out.changed(key, before.block(key), after.block(key), name.change(key), new.type)
    order = {k: i for i, k in enumerate([*before.by_key, *after.by_key])}
    out.edits.sort(key=lambda e: order.get(e[0], 0))
    return Comparison(
        removed=tuple(f for _, f in sorted(out.removed, key=lambda p: order.get(p[0], 0))),
        added=tuple(f for _, f in sorted(out.added, key=lambda p: order.get(p[0], 0))),
        hunks=tuple(h for _, h in sorted(out.hunks, key=lambda p: order.get(p[0], 0))),
        edits=tuple(e for _, e in out.edits),
    )


def _topmost(keys: list[str]) -> list[str]:
    """Keys whose parent is not in the list: a removed object is one removal."""
    chosen = set(keys)
    return [k for k in keys if not _has_ancestor(k, chosen)]


def _has_ancestor(key: str, keys: set[str]) -> bool:
    while "/" in key:
        key = _parent(key)
        if key in keys:
            return True
    return False


def _renames(
    removed: Sequence[str], added: Sequence[str], before: _Tree, after: _Tree
) -> dict[str, str]:
    """Removed -> added sibling nodes whose content is the same apart from their name."""
    added_by_shape: dict[tuple[str, tuple[tuple[str, str], ...]], list[str]] = {}
    for key in added:
        shape = _shape(key, after)
        if shape is not None:
            added_by_shape.setdefault((_parent(key), shape), []).append(key)
    renames: dict[str, str] = {}
    for key in removed:
        shape = _shape(key, before)
        partners = added_by_shape.get((_parent(key), shape)) if shape is not None else None
        if partners:
            renames[key] = partners.pop(0)
    return renames


def _shape(key: str, tree: _Tree) -> tuple[tuple[str, str], ...] | None:
    """A container's content relative to itself, its own name left out; None for a leaf."""
    nodes = tree.subtree(key)
    if nodes[0].kind != NODE or len(nodes) < 2:
        return None
    name = split_pointer(key)[-1]
    relative = []
    for block in nodes[1:]:
        rest = block.key[len(key) :]
        if rest in ("/name", "/Name") and block.text.endswith(name.split(" (")[0]):
            continue  # the parameter's own name field
        relative.append((rest, block.text))
    return tuple(relative) or None  # a bare name: nothing to recognise it by


@dataclass
class _Out:
    removed: list[tuple[str, Fragment]]
    added: list[tuple[str, Fragment]]
    hunks: list[tuple[str, Hunk]]
    edits: list[tuple[str, Edit]]

    def __init__(self) -> None:
        self.removed, self.added, self.hunks, self.edits = [], [], [], []

    def whole(self, op: str, key: str, tree: _Tree, described: Described) -> None:
        nodes = tree.subtree(key)
        node = nodes[0]
        text = "\n".join(b.text for b in nodes)
        fragment = Fragment(text=text, path=node.path, kind=node.kind, block=text)
        (self.removed if op == REMOVED else self.added).append((key, fragment))
        self.hunks.append((key, Hunk(node.path, ((DELETE if op == REMOVED else INSERT, text),))))
        self.edits.append(
            (
                key,
                Edit(
                    op=op,
                    summary=described.sentence(op),
                    where=described.where,
                    pointer=pointer(node.path),
                    old=text if op == REMOVED else None,
                    new=text if op == ADDED else None,
                ),
            )
        )

    def rename(
        self, old_key: str, new_key: str, before: _Tree, after: _Tree, described: Described
    ) -> None:
        old_nodes, new_nodes = before.subtree(old_key), after.subtree(new_key)
        old_text = "\n".join(b.text for b in old_nodes)
        new_text = "\n".join(b.text for b in new_nodes)
        old_node, new_node = old_nodes[0], new_nodes[0]
        self.removed.append((old_key, Fragment(old_text, old_node.path, old_node.kind, old_text)))
        self.added.append((new_key, Fragment(new_text, new_node.path, new_node.kind, new_text)))
        self.hunks.append((old_key, Hunk(new_node.path, ((DELETE, old_text), (INSERT, new_text)))))
        self.edits.append(
            (
                old_key,
                Edit(
                    op=RENAMED,
                    summary=described.sentence(RENAMED),
                    where=described.where,
                    pointer=pointer(new_node.path),
                    old=old_text,
                    new=new_text,
                ),
            )
        )

    def changed(
        self, key: str, old: Block, new: Block, described: Described, doc_type: str
    ) -> None:
        # The words that changed inside the value, as in any text: CJK per character.
        result = compare(Document(blocks=(old,), type=doc_type), Document(blocks=(new,)))
        self.removed += [(key, f) for f in result.removed]
        self.added += [(key, f) for f in result.added]
        self.hunks += [(key, h) for h in result.hunks]
        self.edits.append(
            (
                key,
                Edit(
                    op=CHANGED,
                    summary=described.sentence(CHANGED),
                    where=described.where,
                    pointer=pointer(new.path),
                    old=old.text,
                    new=new.text,
                ),
            )
        )


# ---------------------------------------------------------------------------
# Naming what changed


class _Namer:
    """Names nodes the way an API reference would, by the document's type."""

    def __init__(self, kind: str, before: _Tree, after: _Tree) -> None:
        self.kind = kind
        self.before = before
        self.after = after

    def removal(self, key: str) -> Described:
        return self._describe(key, self.before)

    def addition(self, key: str) -> Described:
        return self._describe(key, self.after)

    def change(self, key: str) -> Described:
        described = self._describe(key, self.after)
        if described.thing.startswith("`") and " " not in described.thing:
            # A bare name or pointer: say that its value changed.
            return Described(f"value of {described.thing}", described.owner, described.where)
        return described

    def rename(self, old_key: str, new_key: str) -> Described:
        described = self._describe(old_key, self.before)
        new_name = split_pointer(new_key)[-1].split(" (")[0]
        return Described(described.thing, described.owner, described.where, new_name)

    def _describe(self, key: str, tree: _Tree) -> Described:
        return describe(split_pointer(key), self.kind, tree.block(key), self._value)

    def _value(self, key: str) -> str | None:
        return self.after.value(key) or self.before.value(key)
