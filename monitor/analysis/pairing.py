"""Pairing changed blocks before the token diff: moves, similar blocks, rewrites.

A block deleted in one place and inserted unchanged in another is a *move*, not a
removal plus an addition; a re-sorted and edited table row is paired with its other
version wherever it went, so only the edited cell is reported.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ..documents.document import Block, Document
from .tokens import tokenize

Region = tuple[list[int], list[int]]  # (old block indices, new block indices)


@dataclass(frozen=True, slots=True)
class Move:
    """A block that moved unchanged."""

    text: str
    from_path: tuple[str, ...]
    to_path: tuple[str, ...]

    @property
    def changed_section(self) -> bool:
        return self.from_path != self.to_path


def extract_moves(
    regions: list[Region],
    old: Document,
    new: Document,
    old_keys: list[str],
    new_keys: list[str],
) -> tuple[list[Move], list[Region]]:
    """Pair blocks deleted in one place and inserted unchanged in another."""
    inserted_at: dict[str, list[int]] = defaultdict(list)
    for _, inserted in regions:
        for j in inserted:
            inserted_at[new_keys[j]].append(j)
    moved_old: set[int] = set()
    moved_new: set[int] = set()
    moves: list[Move] = []
    for deleted, _ in regions:
        for i in deleted:
            candidates = inserted_at.get(old_keys[i])
            if candidates:
                # An identical block in the same section is the likeliest partner.
                same = [k for k in candidates if new.blocks[k].path == old.blocks[i].path]
                j = same[0] if same else candidates[0]
                candidates.remove(j)
                moved_old.add(i)
                moved_new.add(j)
                moves.append(Move(new.blocks[j].text, old.blocks[i].path, new.blocks[j].path))
    remaining = [
        ([i for i in d if i not in moved_old], [j for j in s if j not in moved_new])
        for d, s in regions
    ]
    return moves, [r for r in remaining if r[0] or r[1]]


_SIMILARITY = 0.5  # share of distinct words two versions of a block have in common
_COMMON_TOKEN = 50  # a token in more blocks than this says nothing about which is which
_CANDIDATES = 8  # blocks sharing the most rare words, scored exactly


def pair_similar(regions: list[Region], old: Sequence[Block], new: Sequence[Block]) -> list[Region]:
    """Pair each changed block with its most similar counterpart anywhere on the page.

    A re-sorted table whose rows were also edited puts the two versions of a row in
    different places; pairing them reports the edited cell, not two whole rows, and
    keeps each token diff small. Blocks with the same key pair first, whatever their
    similarity. Unpaired blocks stay in their regions.
    """
    deleted = [i for d, _ in regions for i in d]
    inserted = [j for _, s in regions for j in s]
    if not deleted or not inserted:
        return regions
    words = {j: _words(new[j].text) for j in inserted}
    index: dict[str, list[int]] = defaultdict(list)
    for j in inserted:
        for word in words[j]:
            index[word].append(j)
    pairs: dict[int, int] = {}
    taken: set[int] = set()
    # Blocks with the same key (a parameter table's row for one parameter) are versions
    # of each other, however much their text changed and wherever they sit now.
    keyed = {new[j].key: j for j in inserted if new[j].key}
    for i in deleted:
        j = keyed.get(old[i].key, -1) if old[i].key else -1
        if j >= 0 and j not in taken and new[j].kind == old[i].kind:
            pairs[i] = j
            taken.add(j)
    for i in deleted:
        if i in pairs:
            continue
        partner = _most_similar(old[i], _words(old[i].text), index, words, new, taken)
        if partner is not None:
            pairs[i] = partner
            taken.add(partner)
    if not pairs:
        return regions
    kept = [
        ([i for i in d if i not in pairs], [j for j in s if j not in taken]) for d, s in regions
    ]
    kept += [([i], [j]) for i, j in pairs.items()]
    kept = [r for r in kept if r[0] or r[1]]
    return sorted(kept, key=lambda r: (r[0][0] if r[0] else -1, r[1][0] if r[1] else -1))


def _words(text: str) -> frozenset[str]:
    return frozenset(t for t in tokenize(text) if not t.isspace())


def _most_similar(
    block: Block,
    mine: frozenset[str],
    index: dict[str, list[int]],
    words: dict[int, frozenset[str]],
    new: Sequence[Block],
    taken: set[int],
) -> int | None:
    shared: Counter[int] = Counter()
    for word in mine:
        holders = index.get(word, ())
        if len(holders) <= _COMMON_TOKEN:
            shared.update(holders)
    best, best_score = None, 0.0
    # The index finds candidates by their rare words; the score is the exact Jaccard.
    candidates = sorted(shared.items(), key=lambda item: (-item[1], item[0]))[:_CANDIDATES]
    for j, _ in candidates:
        if j in taken or new[j].kind != block.kind:
            continue
        score = len(mine & words[j]) / max(1, len(mine | words[j]))
        if score >= _SIMILARITY and score > best_score:
            best, best_score = j, score
    return best


def pair_in_order(regions: list[Region]) -> list[Region]:
    """Split a region with as many old as new blocks into one-to-one pairs.

    A rewritten section keeps its shape: diffing each block against its counterpart
    keeps every token diff small (diff-match-patch's bisect is quadratic in the worst
    case) and reports the rewrite block by block.
    """
    paired: list[Region] = []
    for deleted, inserted in regions:
        if len(deleted) == len(inserted) > 1:
            paired += [([i], [j]) for i, j in zip(deleted, inserted, strict=True)]
        else:
            paired.append((deleted, inserted))
    return paired
