"""One timeline of a page from our captures and the archive's: where its text changed.

Pure. A watch's good captures (ours and imported ones) are ordered by the time the page
looked like that (the archive's timestamp for an imported copy, our fetch time for our
own) and grouped into *runs* of equal text. Each boundary between two runs is one
change, from the last capture of the old text to the first of the new one: the
tightest interval the evidence allows.

Our own checks already raised an event at every boundary between two of our captures;
those stay as they are. A boundary with an archived copy on either side gets an event
*derived from archived copies*. When a later import puts a copy inside an interval that
a derived event spanned, that event no longer describes one change between neighbours:
it is superseded (kept, as evidence is never deleted, but no longer listed) and the
new, narrower boundaries get their own events.

>>> from datetime import UTC
>>> t = lambda day: datetime(2021, 1, day, tzinfo=UTC)
>>> points = [Point(1, t(1), "A", True), Point(2, t(2), "A", True),
...           Point(3, t(3), "B", True), Point(9, t(9), "B", False)]
>>> [(b.before.capture, b.after.capture) for b in boundaries(points)]
[(2, 3)]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise


@dataclass(frozen=True)
class Point:
    """A good capture on the timeline."""

    capture: int
    at: datetime  # when the page looked like this
    text_sha: str
    archived: bool


@dataclass(frozen=True)
class Boundary:
    """Two neighbouring captures with different text: one change between them."""

    before: Point
    after: Point

    @property
    def derived(self) -> bool:
        """True when an archived copy is on either side (ours alone already has events)."""
        return self.before.archived or self.after.archived


@dataclass(frozen=True)
class Existing:
    """A change event already stored: its ends, whether derived, and their texts."""

    change_id: int
    from_capture: int | None
    to_capture: int
    derived: bool


def ordered(points: Iterable[Point]) -> list[Point]:
    """By page time; our capture before an archived one of the same second; then id."""
    return sorted(points, key=lambda p: (p.at, p.archived, p.capture))


def boundaries(points: Iterable[Point]) -> list[Boundary]:
    """Every change of text along the timeline (see the module docstring)."""
    line = ordered(points)
    return [
        Boundary(before, after)
        for before, after in pairwise(line)
        if before.text_sha != after.text_sha
    ]


@dataclass(frozen=True)
class Plan:
    """What to write: new derived events, and derived events no longer between neighbours."""

    create: tuple[Boundary, ...]
    supersede: tuple[int, ...]


def plan(points: Sequence[Point], existing: Sequence[Existing]) -> Plan:
    """Derived events to add and to supersede so that the stored events match the timeline.

    A boundary is already covered by an event ending at its later capture that starts
    from a capture with the same text as the boundary's earlier one (our own check's
    event does, whichever capture of the old text it started from).

    >>> from datetime import UTC
    >>> t = lambda day: datetime(2021, 1, day, tzinfo=UTC)
    >>> a, c = Point(1, t(1), "A", True), Point(3, t(3), "C", True)
    >>> old = Existing(7, 1, 3, True)
    >>> plan([a, c], [old]).create, plan([a, c], [old]).supersede
    ((), ())
    >>> b = Point(2, t(2), "B", True)
    >>> p = plan([a, b, c], [old])
    >>> [(x.before.capture, x.after.capture) for x in p.create], p.supersede
    ([(1, 2), (2, 3)], (7,))
    """
    text = {p.capture: p.text_sha for p in points}
    edges = boundaries(points)
    current = {(b.before.capture, b.after.capture) for b in edges if b.derived}
    supersede = tuple(
        e.change_id for e in existing if e.derived and (e.from_capture, e.to_capture) not in current
    )
    live = [e for e in existing if e.change_id not in supersede]
    create = []
    for edge in edges:
        if not edge.derived:
            continue
        covered = any(
            e.to_capture == edge.after.capture
            and e.from_capture is not None
            and text.get(e.from_capture) == edge.before.text_sha
            for e in live
        )
        if not covered:
            create.append(edge)
    return Plan(tuple(create), supersede)
