"""Progress of long work as every layer reports it: a named phase with its total, then how
much of it is done. The console draws it on a terminal, the Python API hands it to a
callback, and by default nobody listens (`SILENT`). Pure: no IO, no rendering library."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

#: The unit rates are given in; a phase counted in another unit (bytes read, tables,
#: subjects) may say how many facts it has handled besides.
FACTS = "facts"


class Progress(Protocol):
    """What long work reports to. A phase lasts until the next one begins or the work ends."""

    def phase(self, name: str, total: int | None = None, unit: str = FACTS) -> None:
        """A phase named `name` begins: `total` units to do (None only when it cannot be
        known)."""

    def advance(self, done: int = 1, facts: int | None = None) -> None:
        """`done` more units of the phase are done, `facts` facts among them when the unit
        is not facts (the facts of the bytes read, ...)."""


class Silent:
    """Progress nobody watches."""

    def phase(self, name: str, total: int | None = None, unit: str = FACTS) -> None:
        pass

    def advance(self, done: int = 1, facts: int | None = None) -> None:
        pass


SILENT = Silent()


@dataclass(frozen=True)
class Labelled:
    """Another progress's phases, named `label: phase` (which replay, which side)."""

    inner: Progress
    label: str

    def phase(self, name: str, total: int | None = None, unit: str = FACTS) -> None:
        self.inner.phase(f"{self.label}: {name}", total, unit)

    def advance(self, done: int = 1, facts: int | None = None) -> None:
        self.inner.advance(done, facts)


@dataclass(frozen=True)
class Step:
    """Where a phase stands, as a callback receives it."""

    phase: str
    done: int
    total: int | None
    unit: str = FACTS
    #: Facts handled in the phase (equal to `done` when the unit is facts).
    facts: int = 0


class ToCallback:
    """Progress handed to `callback(step)` as `Step`s: when a phase begins (done 0), when
    it reaches its total, and in between at most every `interval` seconds."""

    def __init__(self, callback: Callable[[Step], object], interval: float = 0.2,
                 clock: Callable[[], float] = time.monotonic):
        self.callback = callback
        self.interval = interval
        self.clock = clock
        self._step: Step | None = None
        self._sent = 0.0

    def phase(self, name: str, total: int | None = None, unit: str = FACTS) -> None:
        self._step = Step(name, 0, total, unit, 0)
        self._send()

    def advance(self, done: int = 1, facts: int | None = None) -> None:
        step = self._step
        if step is None:
            return
        more = done if facts is None and step.unit == FACTS else facts or 0
        reached = step.total is not None and step.done < step.total <= step.done + done
        self._step = Step(step.phase, step.done + done, step.total, step.unit,
                          step.facts + more)
        if reached or self.clock() - self._sent >= self.interval:
            self._send()

    def _send(self) -> None:
        assert self._step is not None
        self._sent = self.clock()
        self.callback(self._step)


def as_progress(listener: Progress | Callable[[Step], object] | None) -> Progress:
    """A progress from what a caller gave: nothing (`SILENT`), an object with `phase` and
    `advance` (used as it is), or a function of a `Step` (called as it moves)."""
    if listener is None:
        return SILENT
    if hasattr(listener, "phase") and hasattr(listener, "advance"):
        return listener
    if callable(listener):
        return ToCallback(listener)
    raise TypeError(f"progress must be a function of a Step or have phase() and advance(), "
                    f"not {type(listener).__name__}")
