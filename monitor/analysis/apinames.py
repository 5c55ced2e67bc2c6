"""Naming a node of an API description the way its reference would.

``response property `faces[].uygur``` of ``DetectFace``; ``enum value `uygur` of request
parameter `Type```; ``definition `Face```. Pure functions on a node's identity steps
(see ``monitor.documents.structured``), for OpenAPI 3, Swagger 2 and Alibaba Cloud API
metadata; :func:`describe` falls back to JSON pointers for any other document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..documents.document import Block
from ..documents.structured import ACS, MEMBER, OPENAPI, SWAGGER, pointer

REMOVED, ADDED, CHANGED, RENAMED = "removed", "added", "changed", "renamed"
API_TYPES = frozenset((OPENAPI, SWAGGER, ACS))
_METHODS = frozenset(("get", "put", "post", "delete", "options", "head", "patch", "trace"))
# Steps inside a schema that lead to nested schemas rather than name a property.
_SCHEMA_STEPS = frozenset(("allOf", "oneOf", "anyOf", "not", "additionalProperties"))


@dataclass(frozen=True)
class Described:
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


def describe(
    steps: list[str], kind: str, block: Block, value: Callable[[str], str | None]
) -> Described:
    """A node in words, given its identity steps, its block and a way to read values."""
    if kind in API_TYPES:
        where = ".".join(steps)
        named = _api_node(steps, kind, value)
        if named is not None:
            return Described(named[0], named[1], where)
        return Described(f"`{where}`", "", where)
    where = pointer(block.path)
    if block.kind == MEMBER and not block.text.startswith("["):
        # A set member (an enum-like list's value), named by itself within its list.
        return Described(f"value `{steps[-1]}`", f"`{pointer(block.path[:-1]) or '/'}`", where)
    return Described(f"`{where}`", "", where)


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
        body = _after_schema(steps[1:])
        if body is None:
            return _attribute(steps[1:], "request body"), owner
        return _schema_node(body, "request property"), owner
    if head == "responses" and len(steps) >= 2:
        code = steps[1]
        response = f"response `{code}`"
        schema = _after_schema(steps[2:])
        if schema is None:
            if len(steps) == 2:
                return response, owner
            return _attribute(steps[2:], response), owner
        return _schema_node(schema, "response property", subject=response), owner
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
