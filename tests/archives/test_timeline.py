"""The timeline of our captures and archived copies: tables of captures and expected plans."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.archives.reading import Reading, Rules, check_copy, read_copy
from monitor.archives.timeline import Existing, Point, boundaries, plan
from monitor.documents.html import extract_html
from monitor.model import Outcome


def at(day: int) -> datetime:
    return datetime(2021, 1, day, tzinfo=UTC)


def points(spec: str) -> list[Point]:
    """'1A* 2B 7:3A': capture id (= day unless 'id:day'), text letter, * = archived."""
    found = []
    for item in spec.split():
        archived = item.endswith("*")
        core = item.rstrip("*")
        ident, _, day = core[:-1].partition(":")
        found.append(Point(int(ident), at(int(day or ident)), core[-1], archived))
    return found


@pytest.mark.parametrize(
    ("timeline", "existing", "create", "supersede"),
    [
        # archived history only: one event per change of text, from the last copy of the old
        ("1A* 2A* 3B* 4A*", [], [(2, 3), (3, 4)], []),
        # our own events stand; an archived copy between our captures adds derived ones
        ("1A 2C* 3B", [Existing(9, 1, 3, False)], [(1, 2), (2, 3)], []),
        # an archived copy with the old text inside our interval: our event covers it
        ("1A 2A* 3B", [Existing(9, 1, 3, False)], [], []),
        # a derived event whose interval gets a third text: superseded, two new ones
        ("1A* 2C* 3B*", [Existing(9, 1, 3, True)], [(1, 2), (2, 3)], [9]),
        # already planned: nothing to do (a re-run)
        ("1A* 2B*", [Existing(9, 1, 2, True)], [], []),
        # a first live check compared with the archive's latest copy covers that boundary
        ("1A* 2B", [Existing(9, 1, 2, False)], [], []),
        # same second: ours sorts before the archive's copy
        ("6:5B* 5:5A", [], [(5, 6)], []),
    ],
)
def test_plans(
    timeline: str,
    existing: list[Existing],
    create: list[tuple[int, int]],
    supersede: list[int],
) -> None:
    result = plan(points(timeline), existing)
    assert [(b.before.capture, b.after.capture) for b in result.create] == create
    assert list(result.supersede) == supersede


def test_boundaries_ignore_unchanged_runs() -> None:
    assert boundaries(points("1A 2A 3A* 4A")) == []


PAGE = "<html><head><title>t</title></head><body><main><p>{}</p></main></body></html>"


def reading(text: str) -> Reading:
    body = PAGE.format(text).encode()
    return read_copy(
        "https://x/", 200, (("content-type", "text/html"),), body, at(1), Rules(select="main")
    )


@pytest.mark.parametrize(
    ("ours_sha", "ours_text", "copy_sha", "copy_text", "expected"),
    [
        (
            "s1",
            "人脸属性：是否是维族",
            "s1",
            "人脸属性：是否是维族",
            (True, True, "byte-identical"),
        ),
        (
            "s1",
            "人脸属性：是否是维族",
            "s2",
            "人脸属性：是否是维族",
            (False, True, "text is the same"),
        ),
        ("s1", "人脸属性：是否是维族", "s2", "人脸属性", (False, False, "ours has")),
        ("s1", "人脸属性", "s2", "人脸属性：是否是维族", (False, False, "the archive's has")),
    ],
)
def test_copy_checks(
    ours_sha: str,
    ours_text: str,
    copy_sha: str,
    copy_text: str,
    expected: tuple[bool, bool, str],
) -> None:
    ours = extract_html(PAGE.format(ours_text), "main")
    result = check_copy(ours_sha, ours, copy_sha, reading(copy_text))
    assert (result.sha256_matches, result.text_matches) == expected[:2]
    assert expected[2] in result.note


def test_an_unreadable_copy_has_no_text_verdict() -> None:
    blocked = Reading(Outcome.BLOCKED, "HTTP 403: access refused")
    result = check_copy("s1", extract_html(PAGE.format("x")), "s2", blocked)
    assert result.text_matches is None and "403" in result.note


def test_the_replay_toolbar_is_refused() -> None:
    body = PAGE.format("x").replace("<body>", '<body><div id="wm-ipp-base">toolbar</div>')
    result = read_copy("https://x/", 200, (), body.encode(), at(1), Rules())
    assert result.outcome == Outcome.ERROR and result.document is None


def test_archived_structured_documents_are_read_like_live_ones() -> None:
    body = b'{"paths": {"/face/detect": {"post": {"description": "uygur: is it Uyghur"}}}}'
    result = read_copy(
        "https://x/api.json",
        200,
        (("content-type", "application/json"),),
        body,
        at(1),
        Rules(select="main"),
    )
    assert result.outcome == Outcome.OK and result.document is not None
    assert "is it Uyghur" in result.document.text
    broken = read_copy(
        "https://x/api.json",
        200,
        (("content-type", "application/json"),),
        b'{"paths": ',
        at(1),
        Rules(),
    )
    assert broken.outcome == Outcome.ERROR and broken.document is None
