"""Comparison: two Documents -> the exact wording removed and added.

Pure functions on top of diff-match-patch, in two passes so that huge pages stay fast:

1. Blocks (paragraphs, rows, items...) are diffed as whole units. Blocks deleted in one
   place and inserted unchanged in another are *moves*, not removals plus additions.
2. Within each region of changed blocks, the text is split into tokens (a whole word in
   space-separated scripts; one character in Chinese/Japanese; one punctuation mark)
   and the token sequences are diffed, so reported wording never cuts a word in half.

Tokens are compared on their NFKC form, so full-width/half-width variants are equal.
The work is bounded by a time budget; past it, regions are reported whole (coarser but
still correct wording) and ``fallback`` is set so the record says so.

>>> from monitor.documents.document import Block, Document
>>> old = Document(blocks=(Block("text", "是否戴眼镜、是否微笑、是否是维族"),))
>>> new = Document(blocks=(Block("text", "是否戴眼镜、是否微笑"),))
>>> [f.text for f in compare(old, new).removed]
['、是否是维族']
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from diff_match_patch import diff_match_patch

from ..documents.document import Block, Document
from ..documents.textnorm import compare_key
from .comparison import Comparison, Edit, Fragment, Hunk
from .pairing import Region, extract_moves, pair_in_order, pair_similar
from .tokens import SEPARATOR, tokenize

DELETE, EQUAL, INSERT = -1, 0, 1
__all__ = ["DELETE", "EQUAL", "INSERT", "Comparison", "Edit", "Fragment", "Hunk", "compare"]
CONTEXT_CHARS = 40
DEFAULT_BUDGET_SECONDS = 5.0


class _Budget:
    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.exhausted = False

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def run(self, dmp: diff_match_patch, a: str, b: str, cap: float) -> list[tuple[int, str]]:
        """diff_main within the budget; notes when the diff had to give up early."""
        timeout = max(0.001, min(cap, self.remaining()))
        dmp.Diff_Timeout = timeout
        started = time.monotonic()
        diffs = dmp.diff_main(a, b, False)
        if time.monotonic() - started >= timeout:
            self.exhausted = True  # diff_main returned a coarse (still valid) diff
        return diffs


class _TooManyDistinct(Exception):
    """More distinct tokens (or blocks) in one region than there are characters."""


class _Encoder:
    """Maps hashable keys to single characters so diff-match-patch can diff sequences.

    Ordinary keys map to CJK ideographs (letters to the diff's word-boundary heuristics),
    whitespace to a real space or newline, so its semantic clean-up behaves sensibly.
    Past the ideographs and the private planes come planes 3-13 (mostly unassigned): a region
    of a table of IDs can hold more than 212,000 distinct words. Past those too, the
    region is reported whole (``_TooManyDistinct``), as when the time budget runs out.
    """

    _RANGES = (
        (0x4E00, 0x9FFF),
        (0x20000, 0x2A6DF),
        (0x2A700, 0x2EBE0),
        (0xF0000, 0x10FFFD),
        (0x30000, 0xDFFFF),
    )

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self._tokens: dict[str, str] = {}  # token -> character, skipping compare_key
        self._next = self._characters()

    @classmethod
    def _characters(cls) -> Iterator[str]:
        for low, high in cls._RANGES:
            for code in range(low, high + 1):
                yield chr(code)

    def char(self, key: str) -> str:
        code = self.codes.get(key)
        if code is None:
            code = next(self._next, "")
            if not code:
                raise _TooManyDistinct
            self.codes[key] = code
        return code

    def token(self, token: str) -> str:
        code = self._tokens.get(token)
        if code is None:
            if token == SEPARATOR:
                code = "\n"
            elif token.isspace():
                code = " "
            else:
                code = self.char(compare_key(token))
            self._tokens[token] = code
        return code


def compare(
    old: Document, new: Document, budget_seconds: float = DEFAULT_BUDGET_SECONDS
) -> Comparison:
    """The wording removed and added between two versions of a page."""
    budget = _Budget(budget_seconds)
    dmp = diff_match_patch()
    old_keys = [compare_key(b.text) for b in old.blocks]
    new_keys = [compare_key(b.text) for b in new.blocks]
    regions = _block_regions(dmp, budget, old_keys, new_keys)
    moves, regions = extract_moves(regions, old, new, old_keys, new_keys)
    regions = pair_in_order(pair_similar(regions, old.blocks, new.blocks))
    result = _Accumulator()
    for deleted, inserted in regions:
        _compare_region(
            dmp, budget, _Side(old.blocks, deleted), _Side(new.blocks, inserted), result
        )
    return Comparison(
        removed=tuple(f for _, f in sorted(result.removed, key=lambda p: p[0])),
        added=tuple(f for _, f in sorted(result.added, key=lambda p: p[0])),
        moved=tuple(moves),
        hunks=tuple(result.hunks),
        fallback=budget.exhausted,
    )


def _block_regions(
    dmp: diff_match_patch, budget: _Budget, old_keys: list[str], new_keys: list[str]
) -> list[Region]:
    """Regions of changed blocks: (old indices, new indices) between unchanged blocks.

    Blocks that occur exactly once in each version and keep their relative order are
    anchored first (as in patience diff); diff-match-patch only runs on the gaps
    between anchors, so a huge page with scattered edits is many small diffs.
    """
    regions: list[Region] = []
    previous_old = previous_new = -1
    for anchor_old, anchor_new in [*_anchors(old_keys, new_keys), (len(old_keys), len(new_keys))]:
        gap_old = range(previous_old + 1, anchor_old)
        gap_new = range(previous_new + 1, anchor_new)
        if gap_old or gap_new:
            regions += _gap_regions(dmp, budget, old_keys, new_keys, gap_old, gap_new)
        previous_old, previous_new = anchor_old, anchor_new
    return regions


def _anchors(old_keys: list[str], new_keys: list[str]) -> list[tuple[int, int]]:
    """Unique-in-both blocks, longest run in the same order (longest increasing subsequence)."""
    old_count = Counter(old_keys)
    new_at = {}
    for j, key in enumerate(new_keys):
        new_at[key] = -1 if key in new_at else j
    pairs = [
        (i, new_at[key])
        for i, key in enumerate(old_keys)
        if old_count[key] == 1 and new_at.get(key, -1) >= 0
    ]
    # Patience sorting: tails[k] is the pair ending the best increasing run of length k+1.
    tails: list[int] = []
    tail_pairs: list[int] = []
    back: list[int] = []
    for index, (_, j) in enumerate(pairs):
        k = bisect.bisect_left(tails, j)
        back.append(tail_pairs[k - 1] if k else -1)
        if k == len(tails):
            tails.append(j)
            tail_pairs.append(index)
        else:
            tails[k] = j
            tail_pairs[k] = index
    chain: list[tuple[int, int]] = []
    index = tail_pairs[-1] if tail_pairs else -1
    while index >= 0:
        chain.append(pairs[index])
        index = back[index]
    return chain[::-1]


def _gap_regions(
    dmp: diff_match_patch,
    budget: _Budget,
    old_keys: list[str],
    new_keys: list[str],
    gap_old: range,
    gap_new: range,
) -> list[Region]:
    if not gap_old or not gap_new:
        return [(list(gap_old), list(gap_new))]
    encoder = _Encoder()
    try:
        a = "".join([encoder.char(old_keys[i]) for i in gap_old])
        b = "".join([encoder.char(new_keys[j]) for j in gap_new])
    except _TooManyDistinct:
        budget.exhausted = True  # the gap is one region: coarser, never less
        return [(list(gap_old), list(gap_new))]
    diffs = budget.run(dmp, a, b, cap=max(budget.remaining() / 2, 0.05))
    regions: list[Region] = []
    i, j = gap_old.start, gap_new.start
    current: Region = ([], [])
    for op, chars in diffs:
        n = len(chars)
        if op == EQUAL:
            if current[0] or current[1]:
                regions.append(current)
                current = ([], [])
            i, j = i + n, j + n
        elif op == DELETE:
            current[0].extend(range(i, i + n))
            i += n
        else:
            current[1].extend(range(j, j + n))
            j += n
    if current[0] or current[1]:
        regions.append(current)
    return regions


Ordered = tuple[tuple[int, int], Fragment]  # ((block index in page, token), fragment)


@dataclass
class _Accumulator:
    removed: list[Ordered] = field(default_factory=list)
    added: list[Ordered] = field(default_factory=list)
    hunks: list[Hunk] = field(default_factory=list)


@dataclass
class _Side:
    """The tokens of some of a page's blocks, each token knowing the block it came from."""

    page: Sequence[Block]
    indices: list[int]  # which of the page's blocks, in order
    blocks: list[Block] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)  # block index per token, -1 = separator
    spans: list[tuple[int, int]] = field(default_factory=list)  # token range of each block

    def __post_init__(self) -> None:
        self.blocks = [self.page[k] for k in self.indices]
        for index, block in enumerate(self.blocks):
            if index:
                self.tokens.append(SEPARATOR)
                self.owner.append(-1)
            words = tokenize(block.text)
            self.spans.append((len(self.tokens), len(self.tokens) + len(words)))
            self.tokens.extend(words)
            self.owner.extend([index] * len(words))


def _compare_region(
    dmp: diff_match_patch, budget: _Budget, old: _Side, new: _Side, out: _Accumulator
) -> None:
    path = (new.blocks or old.blocks)[0].path
    ops = None
    if old.blocks and new.blocks:
        ops = _token_ops(dmp, budget, old, new) if budget.remaining() > 0 else None
        budget.exhausted = budget.exhausted or ops is None
    if ops is None:  # one side only, or no time (or characters) left: the region whole
        ops = [(DELETE, len(old.tokens)), (INSERT, len(new.tokens))]
    segments: list[tuple[int, str]] = []
    i = j = 0
    for op, n in ops:
        if n == 0:
            continue
        if op == EQUAL:
            segments.append((EQUAL, _display(new.tokens[j : j + n])))
            i, j = i + n, j + n
        elif op == DELETE:
            segments.append((DELETE, _display(old.tokens[i : i + n])))
            out.removed.extend(_fragments(old, i, i + n))
            i += n
        else:
            segments.append((INSERT, _display(new.tokens[j : j + n])))
            out.added.extend(_fragments(new, j, j + n))
            j += n
    out.hunks.append(Hunk(path, tuple(segments)))


def _token_ops(
    dmp: diff_match_patch, budget: _Budget, old: _Side, new: _Side
) -> list[tuple[int, int]] | None:
    """The token diff of a region as (operation, token count); None past the characters."""
    encoder = _Encoder()
    try:
        a = "".join([encoder.token(t) for t in old.tokens])
        b = "".join([encoder.token(t) for t in new.tokens])
    except _TooManyDistinct:
        return None
    diffs = _single_change(a, b)
    if diffs is None:
        diffs = budget.run(dmp, a, b, cap=max(budget.remaining() / 4, 0.05))
        dmp.diff_cleanupSemantic(diffs)
    else:
        dmp.diff_cleanupSemanticLossless(diffs)  # slide the edit to a word/line boundary
    return [(op, len(chars)) for op, chars in diffs]


def _single_change(a: str, b: str) -> list[tuple[int, str]] | None:
    """The diff of two token strings that differ in one place only, else None.

    Most edited blocks change in one spot; for them the minimal diff is known once the
    common ends are trimmed, and diff-match-patch's general machinery is skipped.

    >>> _single_change("abXcd", "abYZcd")
    [(0, 'ab'), (-1, 'X'), (1, 'YZ'), (0, 'cd')]
    >>> _single_change("abXcd", "abcXd") is None  # the middles share a token
    True
    """
    limit = min(len(a), len(b))
    prefix = 0
    while prefix < limit and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    old_middle, new_middle = a[prefix : len(a) - suffix], b[prefix : len(b) - suffix]
    if set(old_middle) & set(new_middle):
        return None
    diffs = [
        (EQUAL, a[:prefix]),
        (DELETE, old_middle),
        (INSERT, new_middle),
        (EQUAL, a[len(a) - suffix :]),
    ]
    return [d for d in diffs if d[1]]


def _display(tokens: list[str]) -> str:
    return "".join("\n" if t == SEPARATOR else t for t in tokens)


def _fragments(side: _Side, start: int, end: int) -> Iterator[Ordered]:
    """Runs of changed tokens in [start, end), split at block boundaries."""
    run_start = start
    for k in range(start, end + 1):
        if k == end or side.owner[k] == -1:
            fragment = _fragment(side, run_start, k)
            if fragment is not None:
                yield fragment
            run_start = k + 1


def _fragment(side: _Side, start: int, end: int) -> Ordered | None:
    # Trim whitespace tokens so a fragment starts and ends on wording.
    while start < end and side.tokens[start].isspace():
        start += 1
    while end > start and side.tokens[end - 1].isspace():
        end -= 1
    if start >= end:
        return None
    index = side.owner[start]
    block = side.blocks[index]
    first, last = side.spans[index]
    before = "".join(side.tokens[first:start])[-CONTEXT_CHARS:]
    after = "".join(side.tokens[end:last])[:CONTEXT_CHARS]
    fragment = Fragment(
        text="".join(side.tokens[start:end]),
        path=block.path,
        kind=block.kind,
        block=block.text,
        before=before,
        after=after,
        page=block.page,
    )
    return (side.indices[index], start), fragment
