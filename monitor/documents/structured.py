"""Structured documents: JSON and YAML (OpenAPI 3, Swagger 2, vendor API metadata) -> Document.

Pure functions. The parsed tree becomes one block per node, in a canonical order, so
that key order and formatting never count as changes: object keys are sorted, and a list
whose items have an identity is sorted by it. Each block's ``key`` is the node's
*identity path* (a JSON pointer whose list steps are identities where the list has them),
and its ``path`` the node's real location (with real list indices), from which the
JSON pointer of either version is read. The comparison (``monitor.analysis.structured``)
matches nodes by ``key`` and never by position.

A list's items have an identity when every item is an object with the same naming field
holding unique text (``name``, then ``in`` + ``name`` for OpenAPI parameters, ``id``,
``code``...), or when every item is a unique scalar (``enum``, ``required``, ``tags``):
such a list is a set. Any other list keeps its order and its items are keyed by index.

>>> doc = extract_structured('{"b": [2, 1], "a": {"x": "维族"}}', "json")
>>> for b in doc.blocks: print(b.kind, repr(b.text), b.key)
node 'a:' /a
field 'x: 维族' /a/x
node 'b:' /b
member '1' /b/1
member '2' /b/2
>>> doc.type
'json'
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..config import defaults
from .document import Block, Document
from .limits import SizeBudget
from .patterns import IgnoreRules, ignore_rules

# Document types this module produces.
JSON, YAML, OPENAPI, SWAGGER, ACS = "json", "yaml", "openapi", "swagger", "acs-api"
TYPES = (JSON, YAML, OPENAPI, SWAGGER, ACS)

# Block kinds: an object or list that holds more nodes, a scalar under a key, a scalar
# list item (a set member such as an enum value) and an empty object or list.
NODE, FIELD, MEMBER = "node", "field", "member"
KINDS = frozenset((NODE, FIELD, MEMBER))

# Fields that name a list's items, tried in this order; the first that every item has,
# as unique text, is the items' identity.
_IDENTITY_FIELDS = (
    "name",
    "Name",
    "id",
    "Id",
    "ID",
    "code",
    "Code",
    "errorCode",
    "key",
    "Key",
    "operationId",
    "url",
    "title",
)
_SCALARS = (str, int, float, bool, type(None))
_MAX_DEPTH = 200  # deeper than any real document; a guard against a crafted one


class StructuredError(ValueError):
    """The body is not valid JSON or YAML (the message says where)."""


def parse_structured(body: bytes | str, media: str) -> Any:
    """Parse a JSON or YAML body into plain Python data.

    YAML is read with the safe loader only (no object construction); its dates become
    ISO text, as they read in the document.

    >>> parse_structured(b'openapi: 3.0.0\\ninfo: {title: x, version: 2020-12-01}', "yaml")
    {'openapi': '3.0.0', 'info': {'title': 'x', 'version': '2020-12-01'}}
    >>> parse_structured(b'{"a": ', "json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    monitor.documents.structured.StructuredError: not valid JSON: Expecting value: line 1 ...
    """
    text = body.decode("utf-8-sig", errors="replace") if isinstance(body, bytes) else body
    if media == JSON:
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise StructuredError(f"not valid JSON: {error}") from None
    import yaml  # PyYAML loads with the first YAML document, not with every check

    from .yaml_nodes import AliasBomb, SelfReference, load_bounded

    try:
        # The safe loader only (the C one would be faster, but yields the same data).
        data = load_bounded(text, yaml.SafeLoader, defaults.STRUCTURED_MAX_ALIAS_NODES)
    except (yaml.YAMLError, RecursionError) as error:
        raise StructuredError(f"not valid YAML: {error}") from None
    except (AliasBomb, SelfReference) as error:  # a crafted page: refused, not expanded
        raise StructuredError(f"YAML not read: {error}") from None
    return _plain(data, 0)


def _plain(value: Any, depth: int) -> Any:
    """YAML data as JSON data: dates as text, keys as text."""
    if depth > _MAX_DEPTH:
        raise StructuredError(f"nested deeper than {_MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {_scalar_text(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def structured_type(data: Any, media: str) -> str:
    """OpenAPI 3, Swagger 2 or Alibaba Cloud API metadata by their keys; else json/yaml.

    >>> structured_type({"openapi": "3.1.0", "paths": {}}, "yaml")
    'openapi'
    >>> structured_type({"swagger": "2.0"}, "json"), structured_type({"a": 1}, "json")
    ('swagger', 'json')
    >>> structured_type({"version": "1.0", "info": {"style": "RPC"}, "apis": {}}, "json")
    'acs-api'
    """
    if isinstance(data, dict):
        if str(data.get("openapi", "")).startswith("3"):
            return OPENAPI
        if str(data.get("swagger", "")).startswith("2"):
            return SWAGGER
        info = data.get("info")
        if isinstance(data.get("apis"), dict) and isinstance(info, dict) and "style" in info:
            return ACS
    return media


def extract_structured(
    body: bytes | str, media: str = JSON, ignore: Sequence[str] = ()
) -> Document:
    """A JSON or YAML body as a Document of canonically ordered blocks.

    ``media`` is ``json`` or ``yaml`` (how to parse); the document's type says what was
    recognised (``openapi``, ``swagger``, ``acs-api``, or the media). ``ignore``
    patterns are removed from scalar values, as from any other document's text.
    """
    data = parse_structured(body, media)
    kind = structured_type(data, media)
    size = SizeBudget(source_chars=len(body))
    blocks = tuple(_Flattener(ignore_rules(ignore), size).nodes(data))  # bounded time and size
    return Document(title=_title(data, kind), blocks=blocks, type=kind)


def _title(data: Any, kind: str) -> str:
    if not isinstance(data, dict):
        return ""
    info = data.get("info")
    if not isinstance(info, dict):
        return ""
    if kind == ACS:
        parts = [info.get("product"), info.get("version")]
    else:
        parts = [info.get("title"), info.get("version")]
    return " ".join(_scalar_text(p) for p in parts if p is not None and p != "")


# ---------------------------------------------------------------------------
# Canonical flattening


def escape(segment: str) -> str:
    """One JSON-pointer step (RFC 6901: ``~`` -> ``~0``, ``/`` -> ``~1``).

    >>> escape("/face/detect"), unescape(escape("a~b/c"))
    ('~1face~1detect', 'a~b/c')
    """
    return segment.replace("~", "~0").replace("/", "~1")


def unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def pointer(segments: Sequence[str]) -> str:
    """A JSON pointer from its steps.

    >>> pointer(["paths", "/face/detect", "post"])
    '/paths/~1face~1detect/post'
    >>> pointer([])
    ''
    """
    return "".join("/" + escape(s) for s in segments)


def split_pointer(text: str) -> list[str]:
    """The steps of a JSON pointer.

    >>> split_pointer('/paths/~1face~1detect/post')
    ['paths', '/face/detect', 'post']
    """
    return [unescape(s) for s in text.split("/")[1:]] if text else []


def _scalar_text(value: Any) -> str:
    """A scalar as it reads: text as is, numbers, true/false/null as in JSON.

    >>> [_scalar_text(v) for v in ("维族", 1, 2.50, True, None, float("nan"))]
    ['维族', '1', '2.5', 'true', 'null', 'NaN']
    """
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class _Child:
    identity: str  # the step in the identity path
    real: str  # the step in the real path (a list index for list items)
    value: Any


def list_identities(items: Sequence[Any]) -> list[str] | None:
    """Each item's identity, or None when the list has none (it is then ordered).

    >>> list_identities([{"name": "a", "in": "query"}, {"name": "b", "in": "query"}])
    ['a', 'b']
    >>> list_identities([{"name": "a", "in": "query"}, {"name": "a", "in": "header"}])
    ['a (query)', 'a (header)']
    >>> list_identities(["male", "female"]), list_identities([1, 1]), list_identities([[1]])
    (['male', 'female'], None, None)
    """
    if not items:
        return []
    if all(isinstance(item, _SCALARS) for item in items):
        texts = [_scalar_text(item) for item in items]
        return texts if len(set(texts)) == len(texts) else None
    if not all(isinstance(item, dict) for item in items):
        return None
    for field in _IDENTITY_FIELDS:
        values = [item.get(field) for item in items]
        if all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
            texts = [_scalar_text(v) for v in values]
            if len(set(texts)) == len(texts):
                return texts
            if field == "name" and all(isinstance(item.get("in"), str) for item in items):
                # OpenAPI: "a unique parameter is defined by a combination of a name and
                # location", so the same name may appear in the query and a header.
                texts = [f"{t} ({item['in']})" for t, item in zip(texts, items, strict=True)]
                if len(set(texts)) == len(texts):
                    return texts
    return None


def _children(value: Any) -> list[_Child]:
    if isinstance(value, dict):
        return sorted(
            (_Child(str(k), str(k), v) for k, v in value.items()), key=lambda c: c.identity
        )
    identities = list_identities(value)
    if identities is None:
        return [_Child(str(i), str(i), v) for i, v in enumerate(value)]
    return sorted(
        (
            _Child(ident, str(i), v)
            for i, (ident, v) in enumerate(zip(identities, value, strict=True))
        ),
        key=lambda c: c.identity,
    )


class _Flattener:
    """Walks a tree depth-first in canonical order, one block per node."""

    def __init__(self, ignore: IgnoreRules | None, size: SizeBudget) -> None:
        self.ignore = ignore
        self.size = size  # each block's path and key are copies of the keys above it

    def nodes(self, data: Any) -> Iterator[Block]:
        if isinstance(data, dict | list):
            yield from self._walk(data, (), (), 0, 0)
        else:
            yield self._block(Block(FIELD, self._value(data), (), ""), 0)

    def _block(self, block: Block, path_chars: int) -> Block:
        self.size.spend(len(block.text) + path_chars + len(block.key))
        return block

    def _walk(
        self,
        value: Any,
        key: tuple[str, ...],
        real: tuple[str, ...],
        depth: int,
        chars: int,  # of ``real``
    ) -> Iterator[Block]:
        if depth > _MAX_DEPTH:
            raise StructuredError(f"nested deeper than {_MAX_DEPTH} levels")
        # A list of unique scalars is a set: its members read as themselves.
        is_set = isinstance(value, list) and all(isinstance(v, _SCALARS) for v in value)
        is_set = is_set and list_identities(value) is not None
        for child in _children(value):
            child_key, child_real = (*key, child.identity), (*real, child.real)
            child_chars = chars + len(child.real)
            ident = pointer(child_key)
            label = child.identity
            if isinstance(child.value, dict | list) and child.value:
                yield self._block(Block(NODE, f"{label}:", child_real, ident), child_chars)
                yield from self._walk(child.value, child_key, child_real, depth + 1, child_chars)
                continue
            if isinstance(child.value, dict | list):
                empty = "{}" if isinstance(child.value, dict) else "[]"
                text = f"{label}: {empty}"
                kind = FIELD
            elif is_set:
                text, kind = self._value(child.value), MEMBER
            elif isinstance(value, list):
                text, kind = f"[{label}] {self._value(child.value)}", MEMBER
            else:
                text, kind = f"{label}: {self._value(child.value)}", FIELD
            yield self._block(Block(kind, text, child_real, ident), child_chars)

    def _value(self, value: Any) -> str:
        text = _scalar_text(value)
        if self.ignore is not None:
            text = self.ignore.sub("", text)
        return text


def node_label(block: Block) -> str:
    """The name of the node a block stands for (its last identity step).

    >>> node_label(Block("member", "uygur", ("enum", "3"), "/a/enum/uygur"))
    'uygur'
    """
    steps = split_pointer(block.key)
    return steps[-1] if steps else ""
