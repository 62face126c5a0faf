"""The progress protocol's pieces (lifecycle.domain.progress): no listener, labelled phases,
and the callback the Python API hands steps to."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifecycle.domain.progress import (
    SILENT,
    Labelled,
    Progress,
    Step,
    ToCallback,
    as_progress,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_callback_hears_a_phase_begin_move_and_complete() -> None:
    steps: list[Step] = []
    clock = Clock()
    progress = ToCallback(steps.append, interval=1.0, clock=clock)
    progress.phase("reading f.jsonl", 300, "bytes")
    progress.advance(100, facts=2)        # too soon after the start: not sent
    clock.now = 1.5
    progress.advance(100, facts=2)        # an interval later: sent
    progress.advance(100, facts=1)        # the total is reached: sent at once
    progress.phase("deriving histories", 5)
    progress.advance(5)
    assert steps == [
        Step("reading f.jsonl", 0, 300, "bytes", 0),
        Step("reading f.jsonl", 200, 300, "bytes", 4),
        Step("reading f.jsonl", 300, 300, "bytes", 5),
        Step("deriving histories", 0, 5, "facts", 0),
        Step("deriving histories", 5, 5, "facts", 5),
    ]


def test_advancing_before_any_phase_is_ignored() -> None:
    steps: list[Step] = []
    ToCallback(steps.append).advance(3)
    assert steps == []


@given(st.integers(min_value=0, max_value=50),
       st.lists(st.integers(min_value=0, max_value=20), max_size=30))
def test_a_phase_is_heard_reaching_its_total_once_and_never_going_back(
        total: int, advances: list[int]) -> None:
    steps: list[Step] = []
    progress = ToCallback(steps.append, interval=3600.0, clock=Clock())
    progress.phase("projecting", total)
    for done in advances:
        progress.advance(done)
    dones = [s.done for s in steps]
    assert dones == sorted(dones) and dones[0] == 0
    assert all(s.facts == s.done for s in steps)
    reached = [s for s in steps if s.total is not None and 0 < s.total <= s.done]
    assert len(reached) == (1 if 0 < total <= sum(advances) else 0)


def test_labelled_names_the_phases_of_a_replay() -> None:
    steps: list[Step] = []
    progress = Labelled(ToCallback(steps.append, interval=0.0), "fresh replay")
    progress.phase("deriving histories", 2)
    progress.advance(2)
    assert [(s.phase, s.done) for s in steps] == [("fresh replay: deriving histories", 0),
                                                  ("fresh replay: deriving histories", 2)]


def test_what_a_caller_may_give() -> None:
    class Mine:
        def phase(self, name: str, total: int | None = None, unit: str = "facts") -> None:
            pass

        def advance(self, done: int = 1, facts: int | None = None) -> None:
            pass

    mine = Mine()
    assert as_progress(None) is SILENT
    assert as_progress(mine) is mine
    assert isinstance(as_progress(print), ToCallback)
    with pytest.raises(TypeError, match="progress must be a function of a Step"):
        as_progress(42)  # type: ignore[arg-type]
    quiet: Progress = SILENT
    quiet.phase("anything", 1)
    quiet.advance()
