"""A page renamed with its bytes intact (301 to a new URL serving the same body) is
`moved`: the same-bytes shortcut must not hide the new address."""

from __future__ import annotations

import pytest

from monitor.analysis.events import Observation, WatchState, transition
from monitor.model import EventKind, Outcome

OLD, NEW = "https://d.example/zh/verify.html", "https://d.example/zh/verification.html"


@pytest.mark.parametrize("outcome", [Outcome.UNCHANGED, Outcome.NOT_MODIFIED, Outcome.OK])
def test_a_redirect_to_a_new_url_is_moved_whatever_the_bytes(outcome):
    state, _ = transition(WatchState(), Observation(1, Outcome.OK, "b", "t", OLD))
    state, events = transition(state, Observation(2, outcome, "b", "t", NEW))
    assert [e.kind for e in events] == [EventKind.MOVED]
    assert events[0].detail == {"from_url": OLD, "to_url": NEW}
    assert state.reference_url == NEW
    _, again = transition(state, Observation(3, outcome, "b", "t", NEW))
    assert again == []  # reported once
