"""Language versions of one document: which term groups each mentions, and what one
version has that its counterpart lacks. Pure functions, no I/O.

A *term group* is one concept across languages and scripts (``uyghur: [维族, 维吾尔,
Uyghur, Uighur, Uygur]``). A group is *present* in a text when any of its terms occurs
(matched like watched terms: folded case, width and Chinese variants, see flag.py). A
*gap* is a group present in some versions and absent in others:

>>> groups = TermGroups({"uyghur": ("维族", "Uyghur", "Uygur")})
>>> presence = {"zh": groups.present("是否是维族：uygur"), "en": groups.present("gender, age")}
>>> presence["zh"]
{'uyghur': {'维族': 1, 'Uygur': 1}}
>>> [g.to_dict() for g in find_gaps(presence, ["zh", "en"]).values()]
[{'group': 'uyghur', 'present_in': ['zh'], 'absent_in': ['en']}]

The *structural difference* matches sections and table rows across languages by what
translation leaves alone: parameter names, API action names, code identifiers. A
heading such as 返回参数 / Response parameters carries none and is never claimed
missing; a table row whose first cell is ``uygur`` in the Chinese version and that no
row of the English version starts with is reported as a row the English lacks.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..documents.document import CELL_SEPARATOR, Block, Document
from ..documents.textnorm import fold
from .flag import count_terms

# ---------------------------------------------------------------------------
# Term groups


@dataclass(frozen=True)
class TermGroups:
    """Named groups of terms; a term belongs to at most one group (by its folded form).

    >>> TermGroups({"uyghur": ("维族", "Uyghur")}).group_of("維族")
    'uyghur'
    """

    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        index: dict[str, str] = {}
        for name, terms in self.groups.items():
            for term in terms:
                index.setdefault(fold(term), name)
        object.__setattr__(self, "_index", index)

    def __bool__(self) -> bool:
        return bool(self.groups)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.groups)

    @property
    def terms(self) -> tuple[str, ...]:
        """Every term of every group, in declaration order."""
        return tuple(dict.fromkeys(t for terms in self.groups.values() for t in terms))

    def group_of(self, term: str) -> str | None:
        index: dict[str, str] = self._index  # type: ignore[attr-defined]
        return index.get(fold(term))

    def present(self, text: str) -> dict[str, dict[str, int]]:
        """The groups a text mentions, each with the counts of its terms that occur.

        >>> TermGroups({"g": ("维族", "Uyghur")}).present("維族 and UYGHUR and 维族")
        {'g': {'维族': 2, 'Uyghur': 1}}
        """
        counts = count_terms(text, self.terms) if self.groups else {}
        found: dict[str, dict[str, int]] = {}
        for name, terms in self.groups.items():
            hits = {t: counts.get(t, 0) for t in terms if counts.get(t, 0)}
            if hits:
                found[name] = hits
        return found


# ---------------------------------------------------------------------------
# Gaps


class GapState:
    """States of a ``locale_gap`` event (the event's ``detail.state``)."""

    OPEN = "open"  # a group became present in some versions and absent in others
    CLOSED = "closed"  # every version now mentions it, or none does
    CHANGED = "changed"  # still a gap, but other versions have it (three or more versions)


@dataclass(frozen=True)
class Gap:
    """A term group present in some versions of a document and absent in the others."""

    group: str
    present_in: tuple[str, ...]
    absent_in: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "present_in": list(self.present_in),
            "absent_in": list(self.absent_in),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Gap:
        return cls(data["group"], tuple(data["present_in"]), tuple(data["absent_in"]))


@dataclass(frozen=True)
class GapChange:
    """One transition of a gap: what a ``locale_gap`` event reports."""

    state: str  # GapState
    gap: Gap  # for CLOSED: the gap as it was before it closed

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, **self.gap.to_dict()}


def find_gaps(
    presence: Mapping[str, Mapping[str, object]], versions: Sequence[str]
) -> dict[str, Gap]:
    """Gaps among versions, given the groups each version mentions.

    ``presence`` maps a version to the groups present in it (any mapping keyed by
    group); versions missing from it (never captured) are left out: absence is only
    claimed for a version whose text is known.

    >>> find_gaps({"zh": {"g": 1}, "en": {}, "ja": {"g": 2}}, ["zh", "en", "ja"])["g"].absent_in
    ('en',)
    >>> find_gaps({"zh": {"g": 1}}, ["zh", "en"])
    {}
    """
    known = [v for v in versions if v in presence]
    if len(known) < 2:
        return {}
    groups = dict.fromkeys(g for v in known for g in presence[v])
    gaps = {}
    for group in groups:
        present = tuple(v for v in known if group in presence[v])
        absent = tuple(v for v in known if group not in presence[v])
        if present and absent:
            gaps[group] = Gap(group, present, absent)
    return gaps


def gap_changes(before: Mapping[str, Gap], after: Mapping[str, Gap]) -> list[GapChange]:
    """The transitions between two sets of gaps, in group order (opened first seen).

    >>> g = Gap("uyghur", ("zh",), ("en",))
    >>> [c.state for c in gap_changes({}, {"uyghur": g})], gap_changes({"uyghur": g}, {"uyghur": g})
    (['open'], [])
    >>> gap_changes({"uyghur": g}, {})[0].to_dict()
    {'state': 'closed', 'group': 'uyghur', 'present_in': ['zh'], 'absent_in': ['en']}
    """
    changes = []
    for group in dict.fromkeys([*before, *after]):
        old, new = before.get(group), after.get(group)
        if old is None and new is not None:
            changes.append(GapChange(GapState.OPEN, new))
        elif old is not None and new is None:
            changes.append(GapChange(GapState.CLOSED, old))
        elif old is not None and new is not None and old != new:
            changes.append(GapChange(GapState.CHANGED, new))
    return changes


# ---------------------------------------------------------------------------
# Page-by-page mapping of two sites


def map_url(url: str, source: str, target: str) -> str | None:
    """The counterpart of a URL under a mapping such as ``/zh/`` -> ``/en/``.

    The first occurrence of ``source`` is replaced; a URL without it has no counterpart.

    >>> map_url("https://docs.example.com/zh/face/detect.html", "/zh/", "/en/")
    'https://docs.example.com/en/face/detect.html'
    >>> map_url("https://docs.example.com/ja/face.html", "/zh/", "/en/") is None
    True
    """
    if source not in url:
        return None
    return url.replace(source, target, 1)


def pair_pages(
    first: Iterable[str], second: Iterable[str], source: str, target: str
) -> list[tuple[str, str]]:
    """Pages of the first site paired with their counterparts in the second.

    >>> pair_pages(["https://x/zh/a", "https://x/zh/b"], ["https://x/en/a"], "/zh/", "/en/")
    [('https://x/zh/a', 'https://x/en/a')]
    """
    targets = set(second)
    pairs = []
    for url in first:
        mapped = map_url(url, source, target)
        if mapped is not None and mapped in targets:
            pairs.append((url, mapped))
    return pairs


# ---------------------------------------------------------------------------
# Structure: sections and rows matched by language-independent identifiers

# A code-shaped token: snake_case, camelCase/PascalCase with an inner capital, with a
# digit, dotted or slashed paths (faces.age, /green/face/detect), kebab-case.
_TOKEN = re.compile(r"(?<![\w$/.-])/?[A-Za-z_$][\w$]*(?:[./:-]+[\w$]+)*")
_CAMEL = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2}[a-z]")
_LOWER_WORD = re.compile(r"[a-z][a-z0-9]+")
_JSON_KEY = re.compile(r'"([A-Za-z_$][\w$.-]*)"\s*:')
_HEX_ID = re.compile(r"[0-9A-Fa-f-]{8,}")  # request ids, hashes: values, not names


def code_shaped(token: str) -> bool:
    """True for tokens that translation leaves alone because they are code.

    >>> [code_shaped(t) for t in ["face_field", "DetectFace", "faces.age", "/green/face/detect",
    ...                           "v2", "Parameter", "age", "x"]]
    [True, True, True, True, True, False, False, False]
    """
    if len(token) < 2 or _HEX_ID.fullmatch(token):
        return False
    return (
        "_" in token
        or token.startswith("/")
        or any(c in token for c in ".:-/")
        or any(c.isdigit() for c in token)
        or _CAMEL.search(token) is not None
    )


def identifiers(text: str) -> tuple[str, ...]:
    """The code-shaped tokens of a text, in order, without repeats.

    >>> identifiers("DetectFace 人脸检测 (face_field=age,gender) Response parameters")
    ('DetectFace', 'face_field')
    """
    return tuple(dict.fromkeys(t for t in _TOKEN.findall(text) if code_shaped(t)))


def _row_key(block: Block, shared: frozenset[str]) -> str | None:
    """A table row's identifier: its first cell, when that cell is one name.

    A lowercase word (``age``, ``uygur``) counts: parameter names are lowercase or
    code-shaped, while header cells of English tables are capitalised words
    (``Parameter``, ``Type``). A capitalised word counts when the other version uses it
    too (``Action``, ``Version``).
    """
    first = block.text.split(CELL_SEPARATOR, 1)[0].strip()
    if not first or not first.isascii() or not _TOKEN.fullmatch(first):
        return None
    if code_shaped(first) or _LOWER_WORD.fullmatch(first) or first in shared:
        return first
    return None


@dataclass(frozen=True)
class Part:
    """A section or table row of one version, with where it sits."""

    kind: str  # "section" or "row"
    key: str  # the identifier it is matched by
    text: str
    path: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "text": self.text, "path": list(self.path)}


@dataclass(frozen=True)
class Structure:
    """The identifiable parts of one version of a document."""

    parts: tuple[Part, ...]  # sections and rows, in reading order
    code_identifiers: frozenset[str]
    unidentified_sections: int  # headings with no identifier: never compared
    unidentified_rows: int

    @property
    def sections(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if p.kind == "section")

    @property
    def rows(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if p.kind == "row")


def _tokens(document: Document) -> frozenset[str]:
    return frozenset(_TOKEN.findall(document.text))


def structure(document: Document, shared: frozenset[str] = frozenset()) -> Structure:
    """Sections (by identifiers in their heading) and rows (by their first cell).

    ``shared``: tokens the counterpart also uses, which count as identifiers even when
    they look like plain words.

    >>> doc = Document("", (Block("heading", "返回参数", ("返回参数",)),
    ...                     Block("row", "uygur | Integer | 是否是维族", ("返回参数",)),
    ...                     Block("heading", "DetectFace", ("DetectFace",))))
    >>> s = structure(doc)
    >>> [p.key for p in s.sections], [p.key for p in s.rows], s.unidentified_sections
    (['DetectFace'], ['uygur'], 1)
    """
    parts: list[Part] = []
    code: set[str] = set()
    no_id_sections = no_id_rows = 0
    for block in document.blocks:
        if block.kind == "heading":
            keys = [t for t in _TOKEN.findall(block.text) if code_shaped(t) or t in shared]
            if keys:
                parts.append(Part("section", keys[0], block.text, block.path))
            else:
                no_id_sections += 1
        elif block.kind == "row":
            key = _row_key(block, shared)
            if key is None:
                no_id_rows += 1
            else:
                parts.append(Part("row", key, block.text, block.path))
        if block.kind == "code":
            code.update(_JSON_KEY.findall(block.text))
        code.update(identifiers(block.text))
    return Structure(tuple(parts), frozenset(code), no_id_sections, no_id_rows)


@dataclass(frozen=True)
class StructuralDifference:
    """What each of two versions has that the other lacks."""

    only_in_first: tuple[Part, ...]
    only_in_second: tuple[Part, ...]
    identifiers_only_in_first: tuple[str, ...]
    identifiers_only_in_second: tuple[str, ...]
    matched: int  # sections and rows found in both
    unidentified: tuple[int, int]  # parts of each version with nothing to match them by

    @property
    def differs(self) -> bool:
        return bool(
            self.only_in_first
            or self.only_in_second
            or self.identifiers_only_in_first
            or self.identifiers_only_in_second
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "only_in_first": [p.to_dict() for p in self.only_in_first],
            "only_in_second": [p.to_dict() for p in self.only_in_second],
            "identifiers_only_in_first": list(self.identifiers_only_in_first),
            "identifiers_only_in_second": list(self.identifiers_only_in_second),
            "matched": self.matched,
            "unidentified": {"first": self.unidentified[0], "second": self.unidentified[1]},
        }


def _unmatched(mine: Sequence[Part], theirs: Sequence[Part]) -> tuple[list[Part], int]:
    """Parts without a counterpart (as a multiset: two ``age`` rows need two)."""
    available = Counter((p.kind, p.key) for p in theirs)
    left, matched = [], 0
    for part in mine:
        if available[(part.kind, part.key)] > 0:
            available[(part.kind, part.key)] -= 1
            matched += 1
        else:
            left.append(part)
    return left, matched


def structural_difference(first: Document, second: Document) -> StructuralDifference:
    """Sections, rows and code identifiers one version has and the other lacks.

    >>> zh = Document("", (Block("heading", "返回参数", ("返回参数",)),
    ...                    Block("row", "gender | String | 性别", ("返回参数",)),
    ...                    Block("row", "uygur | Integer | 是否是维族", ("返回参数",))))
    >>> en = Document("", (Block("heading", "Response parameters", ("Response parameters",)),
    ...                    Block("row", "Parameter | Type | Description", ("Response parameters",)),
    ...                    Block("row", "gender | String | The gender", ("Response parameters",))))
    >>> d = structural_difference(zh, en)
    >>> [p.key for p in d.only_in_first], [p.key for p in d.only_in_second], d.matched
    (['uygur'], [], 1)
    """
    shared = _tokens(first) & _tokens(second)
    a, b = structure(first, shared), structure(second, shared)
    only_a, matched_a = _unmatched(a.parts, b.parts)
    only_b, _ = _unmatched(b.parts, a.parts)
    # Identifiers already reported through a row or section are not repeated.
    reported = {p.key for p in [*only_a, *only_b]}
    ids_a = sorted(i for i in a.code_identifiers - b.code_identifiers - reported if i not in shared)
    ids_b = sorted(i for i in b.code_identifiers - a.code_identifiers - reported if i not in shared)
    return StructuralDifference(
        tuple(only_a),
        tuple(only_b),
        tuple(ids_a),
        tuple(ids_b),
        matched_a,
        (
            a.unidentified_sections + a.unidentified_rows,
            b.unidentified_sections + b.unidentified_rows,
        ),
    )
