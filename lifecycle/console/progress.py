"""Progress on a terminal: the phases of a command's long work drawn on stderr with rich,
one row each (bar, percentage, done of total, facts/s, time taken and left), erased at the
end; after a long run, one line with each phase's time. Nothing in pipes, logs, CI or
with --quiet: the output of a command is the same byte for byte."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click

from lifecycle.console.options import ledger_from
from lifecycle.domain.progress import FACTS, SILENT

if TYPE_CHECKING:  # rich is imported only when a terminal is drawn on (start-up time)
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

#: A run longer than this (seconds) ends with a line giving each phase's time.
LONG = 10.0
#: Seconds between two updates sent to the display (advances in between are added up).
PUSH = 0.1


def terminal_console() -> Console | None:
    """stderr as a rich console when a person watches it: a terminal, not CI, not dumb.

    Decided here rather than by rich, which takes FORCE_COLOR for a terminal (and would
    draw bars into CI logs)."""
    if os.environ.get("CI") or os.environ.get("TERM") == "dumb":
        return None
    try:
        if not sys.stderr.isatty():
            return None
    except (AttributeError, ValueError):  # replaced or closed stderr
        return None
    from rich.console import Console

    return Console(stderr=True, force_terminal=True)


@contextmanager
def showing_progress(ctx: click.Context) -> Iterator[Any]:
    """The command's ledger, its long work shown on the terminal while the block runs
    (unless `--quiet`); the display is gone before the command prints its result."""
    ledger = ledger_from(ctx)
    quiet = ctx.find_root().obj.get("quiet", False)
    with TerminalProgress(None if quiet else terminal_console()) as progress:
        ledger.progress = progress
        try:
            yield ledger
        finally:
            ledger.progress = SILENT


class TerminalProgress:
    """The progress protocol (`lifecycle.domain.progress`) drawn on `console`; does
    nothing when `console` is None. Use it as a context manager."""

    def __init__(self, console: Console | None, clock: Callable[[], float] = time.monotonic):
        self.console = console
        self.clock = clock
        self.times: dict[str, float] = {}  # seconds per phase, in the order they ran
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._name, self._unit = "", FACTS
        self._total: int | None = None
        self._done = self._facts = 0
        self._since = self._pushed = self._began = 0.0

    def __enter__(self) -> TerminalProgress:
        self._began = self.clock()
        return self

    def phase(self, name: str, total: int | None = None, unit: str = FACTS) -> None:
        if self.console is None:
            return
        now = self.clock()
        self._end_phase(now)
        if self._bar is None:
            from lifecycle.console.progress_display import Display

            self._bar = Display(
                console=self.console, transient=True, get_time=self.clock,
                # Never: stdout may be a pipe whose bytes must not change.
                redirect_stdout=False, redirect_stderr=False)
            self._bar.start()
        self._name, self._unit, self._total = name, unit, total
        self._done = self._facts = 0
        self._since = self._pushed = now
        self._task = self._bar.add_task(name[:1].upper() + name[1:], total=total, unit=unit,
                                        facts=0)
        self._bar.refresh()  # every phase is seen, however short

    def advance(self, done: int = 1, facts: int | None = None) -> None:
        if self._task is None:
            return
        self._done += done
        self._facts += done if facts is None and self._unit == FACTS else facts or 0
        now = self.clock()
        if now - self._pushed >= PUSH:
            self._push(now)

    def set_total(self, total: int) -> None:
        """The running phase's total, learnt after it began (a CRM says how many records
        a listing holds with its first page)."""
        if self._task is None or total == self._total:
            return
        self._total = total
        self._push(self.clock())

    def _push(self, now: float) -> None:
        assert self._bar is not None and self._task is not None
        if self._total is not None and self._done > self._total:
            self._total = self._done  # more arrived meanwhile (a concurrent writer)
        self._bar.update(self._task, completed=self._done, total=self._total,
                         facts=self._facts)
        self._pushed = now

    def _end_phase(self, now: float) -> None:
        if self._task is None:
            return
        assert self._bar is not None
        self._push(now)
        self._bar.stop_task(self._task)
        self.times[self._name] = self.times.get(self._name, 0.0) + now - self._since
        self._task = None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is None or self.console is None:
            return
        now = self.clock()
        self._end_phase(now)
        self._bar.refresh()
        self._bar.stop()
        if exc_type is None and now - self._began > LONG:
            self.console.print(timings(now - self._began, self.times), markup=False,
                               highlight=False)


def timings(seconds: float, phases: dict[str, float]) -> str:
    """`Done in 2m46s: reading f.jsonl 1m34s, deriving histories 40.2s, ...`"""
    return f"Done in {duration(seconds)}: " + ", ".join(
        f"{name} {duration(spent)}" for name, spent in phases.items()) + "."


def duration(seconds: float) -> str:
    """`8.2s`, `1m34s`, `1h02m`."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"
