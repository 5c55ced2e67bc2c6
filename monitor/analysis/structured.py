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

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..documents.document import Block, Document
from ..documents.structured import (
    ACS,
    FIELD,
    MEMBER,
    NODE,
    OPENAPI,
    SWAGGER,
    pointer,
    split_pointer,
)
from .compare import DELETE, INSERT, Comparison, Edit, Fragment, Hunk, compare

REMOVED, ADDED, CHANGED, RENAMED = "removed", "added", "changed", "renamed"
_METHODS = frozenset(("get", "put", "post", "delete", "options", "head", "patch", "trace"))
_API_TYPES = frozenset((OPENAPI, SWAGGER, ACS))
# Steps inside a schema that lead to nested schemas rather than name a property.
_SCHEMA_STEPS = frozenset(("allOf", "oneOf", "anyOf", "not", "additionalProperties"))


def is_structured(document: Document) -> bool:
    """True for documents whose blocks are keyed tree nodes (JSON, YAML, OpenAPI...)."""
    return document.type in ("json", "yaml", *_API_TYPES)


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


def compare_structured(old: Document, new: Document) -> Comparison:
    """What changed between two versions of a structured document, node by node."""
    before, after = _Tree.of(old), _Tree.of(new)
    removed = _topmost([k for k in before.by_key if k not in after.by_key])
    added = _topmost([k for k in after.by_key if k not in before.by_key])
    changed = [
        k for k in before.by_key if k in after.by_key and before.block(k).text != after.block(k).text
    ]
    renames = _renames(removed, added, before, after)
    kind = new.type if new.type in _API_TYPES else old.type
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

    def whole(self, op: str, key: str, tree: _Tree, described: _Described) -> None:
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
        self, old_key: str, new_key: str, before: _Tree, after: _Tree, described: _Described
    ) -> None:
        old_nodes, new_nodes = before.subtree(old_key), after.subtree(new_key)
        old_text = "\n".join(b.text for b in old_nodes)
        new_text = "\n".join(b.text for b in new_nodes)
        old_node, new_node = old_nodes[0], new_nodes[0]
        self.removed.append(
            (old_key, Fragment(old_text, old_node.path, old_node.kind, old_text))
        )
        self.added.append((new_key, Fragment(new_text, new_node.path, new_node.kind, new_text)))
        self.hunks.append(
            (old_key, Hunk(new_node.path, ((DELETE, old_text), (INSERT, new_text))))
        )
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
        self, key: str, old: Block, new: Block, described: _Described, doc_type: str
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


@dataclass(frozen=True)
class _Described:
    """A node in words: ``response property `uygur``` of ``DetectFace``."""

    thing: str  # "response property `uygur`", "`description` of request parameter `x`"
    owner: str  # the operation, schema or document part it belongs to ("" if none)
    where: str  # readable path
    new_name: str = ""  # for a rename

    def sentence(self, op: str) -> str:
        if op == RENAMED:
            owner = f" in {self.owner}" if self.owner else ""
            return f"{self.thing} renamed to `{self.new_name}`{owner}"
        if op == CHANGED:
            owner = f" in {self.owner}" if self.owner else ""
            return f"{self.thing}{owner} changed"
        preposition = "from" if op == REMOVED else "to"
        owner = f" {preposition} {self.owner}" if self.owner else ""
        return f"{self.thing} {op}{owner}"


class _Namer:
    """Names nodes the way an API reference would, by the document's type."""

    def __init__(self, kind: str, before: _Tree, after: _Tree) -> None:
        self.kind = kind
        self.before = before
        self.after = after

    def removal(self, key: str) -> _Described:
        return self._describe(key, self.before)

    def addition(self, key: str) -> _Described:
        return self._describe(key, self.after)

    def change(self, key: str) -> _Described:
        described = self._describe(key, self.after)
        if described.thing.startswith("`") and " " not in described.thing:
            # A bare name or pointer: say that its value changed.
            return _Described(f"value of {described.thing}", described.owner, described.where)
        return described

    def rename(self, old_key: str, new_key: str) -> _Described:
        described = self._describe(old_key, self.before)
        new_name = split_pointer(new_key)[-1].split(" (")[0]
        return _Described(described.thing, described.owner, described.where, new_name)

    def _describe(self, key: str, tree: _Tree) -> _Described:
        steps = split_pointer(key)
        where = ".".join(steps) if self.kind in _API_TYPES else pointer(tree.block(key).path)
        if self.kind in _API_TYPES:
            named = _api_node(steps, self.kind, lambda k: self._value(k))
            if named is not None:
                thing, owner = named
                return _Described(thing, owner, where)
        return _generic(steps, tree, where)

    def _value(self, key: str) -> str | None:
        return self.after.value(key) or self.before.value(key)


def _generic(steps: list[str], tree: _Tree, where: str) -> _Described:
    """Plain JSON/YAML: a set member by its value in its list, anything else by pointer."""
    block = tree.block(pointer(steps))
    if block.kind == MEMBER and not block.text.startswith("["):
        return _Described(f"value `{steps[-1]}`", f"`{pointer(block.path[:-1]) or '/'}`", where)
    return _Described(f"`{where}`", "", where)


def _api_node(
    steps: list[str], kind: str, value: Callable[[str], str | None]
) -> tuple[str, str] | None:
    """(thing, owner) for a node of an OpenAPI/Swagger document or API metadata."""
    if len(steps) >= 2 and steps[0] == "paths":
        return _path_node(steps, kind, value)
    if kind == ACS and len(steps) >= 2 and steps[0] == "apis":
        api = steps[1]
        return _operation_node(steps[2:], api, kind) or ("API", f"`{api}`")
    if len(steps) >= 3 and steps[:2] in (["components", "schemas"], ["components", "parameters"]):
        owner = f"schema `{steps[2]}`" if steps[1] == "schemas" else f"parameter `{steps[2]}`"
        if len(steps) == 3:
            return owner, ""
        return _schema_node(steps[3:], "property"), owner
    if len(steps) >= 2 and steps[0] == "definitions":
        owner = f"definition `{steps[1]}`"
        if len(steps) == 2:
            return owner, ""
        return _schema_node(steps[2:], "property"), owner
    return None


def _path_node(
    steps: list[str], kind: str, value: Callable[[str], str | None]
) -> tuple[str, str] | None:
    path = steps[1]
    if len(steps) == 2:
        return f"path `{path}`", ""
    method = steps[2]
    if method not in _METHODS:
        # Path-level parameters apply to every operation of the path.
        return _operation_node(steps[2:], "", kind, owner=f"path `{path}`")
    operation = value(pointer(["paths", path, method, "operationId"]))
    owner = operation or f"{method.upper()} {path}"
    if len(steps) == 3:
        return f"operation `{owner}`", ""
    return _operation_node(steps[3:], owner, kind)


def _operation_node(
    steps: list[str], operation: str, kind: str, owner: str = ""
) -> tuple[str, str] | None:
    """A node inside one operation: parameters, request body, responses."""
    owner = owner or operation
    if not steps:
        return None
    head = steps[0]
    if head == "parameters" and len(steps) >= 2:
        name = steps[1].split(" (")[0]
        parameter = f"request parameter `{name}`"
        rest = steps[2:]
        if not rest:
            return parameter, owner
        if rest[0] == "schema":
            # Swagger 2 body parameters and vendor metadata keep a schema per parameter.
            inner = _schema_node(rest[1:], "request property", subject=parameter)
            return inner, owner
        return _attribute(rest, parameter), owner
    if head == "requestBody":
        rest = _after_schema(steps[1:])
        if rest is None:
            return _attribute(steps[1:], "request body"), owner
        return _schema_node(rest, "request property"), owner
    if head == "responses" and len(steps) >= 2:
        code = steps[1]
        response = f"response `{code}`"
        rest = _after_schema(steps[2:])
        if rest is None:
            if len(steps) == 2:
                return response, owner
            return _attribute(steps[2:], response), owner
        return _schema_node(rest, "response property", subject=response), owner
    noun = "API" if kind == ACS else "operation"
    subject = f"{noun} `{operation}`" if operation else owner
    return _attribute(steps, subject), ""


def _after_schema(steps: list[str]) -> list[str] | None:
    """The steps after ``schema`` (``content/<type>/schema`` in OpenAPI 3), if any."""
    if "schema" in steps:
        return steps[steps.index("schema") + 1 :]
    return None


def _schema_node(steps: list[str], noun: str, subject: str = "") -> str:
    """A node inside a schema: a (nested) property, an enum value or an attribute.

    >>> _schema_node(["properties", "faces", "items", "properties", "uygur"], "response property")
    'response property `faces[].uygur`'
    >>> _schema_node(["properties", "race", "enum", "uygur"], "response property")
    'enum value `uygur` of response property `race`'
    >>> _schema_node(["properties", "age", "description"], "property")
    '`description` of property `age`'
    """
    names: list[str] = []
    index = 0
    while index < len(steps):
        step = steps[index]
        if step == "properties" and index + 1 < len(steps):
            names.append(steps[index + 1])
            index += 2
        elif step == "items":
            if names:
                names[-1] += "[]"
            index += 1
        elif step in _SCHEMA_STEPS:
            index += 2 if step in ("allOf", "oneOf", "anyOf") else 1
        else:
            break
    subject_text = f"{noun} `{'.'.join(names)}`" if names else (subject or "schema")
    rest = steps[index:]
    if not rest:
        return subject_text
    if rest[0] == "enum" and len(rest) == 2:
        return f"enum value `{rest[1]}` of {subject_text}"
    if rest[0] == "required" and len(rest) == 2:
        return f"required mark of `{rest[1]}` in {subject_text}"
    return _attribute(rest, subject_text)


def _attribute(rest: list[str], subject: str) -> str:
    if rest[0] == "enum" and len(rest) == 2:
        return f"enum value `{rest[1]}` of {subject}"
    return f"`{'.'.join(rest)}` of {subject}"
