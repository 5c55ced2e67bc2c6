"""Watched terms: count occurrences before and after, flag the ones that fell or rose.

Matching is on folded text (NFKC, case-folded, traditional Chinese folded to
simplified), so 維族 matches 维族 and ＵＹＧＨＵＲ matches Uyghur. A term is a substring
match, so it works in Chinese without spaces; a term that starts with a Latin letter or
digit must also start a word, so "race" does not count "trace" or "embrace" (while
"races" and "racial" still count: inflections are wanted).

>>> [f.to_dict() for f in flag_terms("是否戴眼镜、是否是維族", "是否戴眼镜", ["维族", "眼镜"])]
[{'term': '维族', 'direction': 'removed', 'before': 1, 'after': 0}]

A term that belongs to a term group (one concept across languages and scripts, the
watchlist's ``term_groups``) is flagged with its group as well:

>>> groups = (("uyghur", ("维族", "Uyghur")),)
>>> [f.to_dict() for f in flag_terms("是否是维族", "", ["维族"], groups)]
[{'term': '维族', 'direction': 'removed', 'before': 1, 'after': 0, 'group': 'uyghur'}]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..documents.textnorm import fold

REMOVED, ADDED = "removed", "added"
# Letters and digits of space-separated scripts (after case folding).
_WORD_CHAR = re.compile("[0-9a-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]")


def _occurrences(folded: str, term: str) -> Iterator[int]:
    """Start offsets of a folded term; a Latin/Cyrillic/Greek term must start a word.

    A literal search plus a look at one character: a regex lookbehind would stop
    Python's fast literal search and cost ~20x more on long pages.
    """
    word_start = bool(_WORD_CHAR.match(term))
    at = folded.find(term)
    while at != -1:
        if not (word_start and at and _WORD_CHAR.match(folded[at - 1])):
            yield at
        at = folded.find(term, at + len(term))


def occurs(folded: str, term: str) -> bool:
    """True when a folded term occurs in folded text by the rule above (search uses it).

    >>> occurs(fold("Trace races"), "race"), occurs(fold("embrace"), "race")
    (True, False)
    """
    return next(_occurrences(folded, term), None) is not None


@dataclass(frozen=True, slots=True)
class Flag:
    term: str
    direction: str  # "removed" (count fell) or "added" (count rose)
    before: int
    after: int
    group: str | None = None  # the term group the term belongs to, if any

    def to_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "term": self.term,
            "direction": self.direction,
            "before": self.before,
            "after": self.after,
        }
        if self.group is not None:  # a field added for term groups; none renamed
            found["group"] = self.group
        return found


TermGroupPairs = tuple[tuple[str, tuple[str, ...]], ...]  # ((group, (term, ...)), ...)


@lru_cache(maxsize=64)
def group_index(groups: TermGroupPairs) -> dict[str, str]:
    """Folded term -> its group (the first group a term is declared in).

    >>> group_index((("uyghur", ("维族", "Uyghur")),))["uyghur"]
    'uyghur'
    """
    index: dict[str, str] = {}
    for name, terms in groups:
        for term in terms:
            index.setdefault(fold(term), name)
    return index


def count_terms(text: str, terms: Iterable[str]) -> dict[str, int]:
    """Occurrences of each term in a text (non-overlapping, folded).

    >>> count_terms("Uyghur, UYGHUR and ｕｙｇｈｕｒ", ["uyghur"])
    {'uyghur': 3}
    >>> count_terms("race, races; trace, embrace", ["race"])
    {'race': 2}
    """
    folded = fold(text)
    return {term: sum(1 for _ in _occurrences(folded, fold(term))) for term in terms if fold(term)}


def flag_terms(
    old_text: str, new_text: str, terms: Sequence[str], groups: TermGroupPairs = ()
) -> list[Flag]:
    """Flags for every watched term whose count changed between two texts.

    >>> flag_terms("a\\nUyghur\\nb", "b\\na", ["uyghur", "a"])
    [Flag(term='uyghur', direction='removed', before=1, after=0, group=None)]
    """
    if not terms or not _counts_may_differ(old_text, new_text, terms):
        return []
    before, after = count_terms(old_text, terms), count_terms(new_text, terms)
    index = group_index(groups) if groups else {}
    flags = []
    for term, was in before.items():
        now = after[term]
        if now != was:
            group = index.get(fold(term)) if index else None
            flags.append(Flag(term, REMOVED if now < was else ADDED, was, now, group))
    return flags


def _counts_may_differ(old_text: str, new_text: str, terms: Sequence[str]) -> bool:
    """False when no term's count can differ: the cheap test before folding whole pages.

    A term without a line break cannot span lines, and folding does not cross one
    (NFKC, case folding and OpenCC's phrases all stop at it), so a count is the sum of
    its counts per line and lines both texts have cancel out. Only the lines one text
    has and the other lacks are folded here; most edits touch a few of hundreds.
    """
    if any("\n" in fold(term) for term in terms):
        return True
    old_lines, new_lines = Counter(old_text.split("\n")), Counter(new_text.split("\n"))
    removed = "\n".join((old_lines - new_lines).elements())
    added = "\n".join((new_lines - old_lines).elements())
    return count_terms(removed, terms) != count_terms(added, terms)


def find_terms(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans of watched terms in ``text``, for marking them in a report.

    Folds character by character so that spans map back onto the original text.

    >>> find_terms("是否是維族，Uyghur", ["维族", "uyghur"])
    [(3, 5), (6, 12)]
    """
    folded_chars = [fold(ch) for ch in text]
    starts = []
    position = 0
    for piece in folded_chars:
        starts.append(position)
        position += len(piece)
    folded = "".join(folded_chars)
    index_of = {start: i for i, start in enumerate(starts)}
    spans: list[tuple[int, int]] = []
    for term in {fold(t) for t in terms if fold(t)}:
        for at in _occurrences(folded, term):
            end = at + len(term)
            if at in index_of and (end in index_of or end == len(folded)):
                spans.append((index_of[at], index_of.get(end, len(text))))
    return _merge(sorted(spans))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
