"""Progress on a terminal: the phases of a command's long work drawn on stderr with rich,
one row each (bar, percentage, done of total, facts/s, time taken and left), erased at the
end; after a long run, one line with each phase's time. Nothing in pipes, logs, CI or
with --quiet: the output of a command is the same byte for byte."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import click
from rich import filesize
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Column, Table
from rich.text import Text

from lifecycle.console.options import ledger_from
from lifecycle.domain.progress import FACTS, SILENT

#: A run longer than this (seconds) ends with a line giving each phase's time.
LONG = 10.0
#: Seconds between two updates sent to the display (advances in between are added up).
PUSH = 0.1
#: Columns the bar's line takes at most (on a wider terminal the bar does not stretch).
WIDE = 100


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
            self._bar = _Display(
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


class _Display(RichProgress):
    """Finished phases one line each (tick, name, count, rate, time taken), aligned; the
    running one on two lines: its name (and facts read, for a file), then its bar,
    percentage, count, rate, time taken and time left. Fits 80 columns."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.done_columns: list[ProgressColumn] = [
            _Status(), _Name(), _Count(), _Rate(), TimeElapsedColumn()]
        self.name_columns: list[ProgressColumn] = [_Status(), _Name(read=True)]
        self.bar_columns: list[ProgressColumn] = [
            TextColumn(" "), BarColumn(bar_width=None, table_column=Column(ratio=1)),
            TaskProgressColumn(), _Count(), _Rate(), TimeElapsedColumn(), _Left()]

    def get_renderables(self) -> Iterable[RenderableType]:
        finished = [t for t in self.tasks if t.stop_time is not None]
        if finished:
            yield _grid(finished, self.done_columns)
        for task in self.tasks:
            if task.stop_time is None:
                yield _grid([task], self.name_columns)
                yield _grid([task], self.bar_columns, width=min(self.console.width, WIDE))


def _grid(tasks: list[Task], columns: list[ProgressColumn], width: int | None = None
          ) -> Table:
    """`tasks` in `columns`; `width` wide (the bar taking what the rest leaves), if given."""
    table = Table.grid(*(c.get_table_column().copy() for c in columns), padding=(0, 1),
                       expand=width is not None)
    table.width = width
    for task in tasks:
        table.add_row(*(column(task) for column in columns))
    return table


class _Status(SpinnerColumn):
    """A spinner while the phase runs, a tick once the next one began."""

    def __init__(self) -> None:
        super().__init__(finished_text="[green]✓", table_column=Column(no_wrap=True))

    def render(self, task: Task) -> Any:
        return self.finished_text if task.stop_time is not None else super().render(task)


class _Name(ProgressColumn):
    """The phase's name (wrapped, never cut); with `read`, the facts read from a file."""

    def __init__(self, read: bool = False) -> None:
        super().__init__(table_column=Column(overflow="fold"))
        self.read = read

    def render(self, task: Task) -> Text:
        text = Text(task.description)
        if self.read and task.fields.get("unit") == "bytes":
            text.append(f": {task.fields.get('facts', 0):,} facts", style="progress.download")
        return text


class _Count(ProgressColumn):
    """`447,000/993,548 facts`; `68.2/220.7 MB` for a file (and its facts, once read);
    without a total (rare), what is done so far: never a `?`."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", FACTS)
        if unit != "bytes":
            done = f"{int(task.completed):,}"
            return Text(f"{done} {unit}" if task.total is None
                        else f"{done}/{int(task.total):,} {unit}")
        size = int(task.total if task.total is not None else task.completed)
        scale, suffix = filesize.pick_unit_and_suffix(
            size, ["bytes", "kB", "MB", "GB", "TB", "PB"], 1000)
        places = 0 if scale == 1 else 1
        done = f"{task.completed / scale:,.{places}f}"
        read = done if task.total is None else f"{done}/{task.total / scale:,.{places}f}"
        if task.stop_time is None:
            return Text(f"{read} {suffix}")
        return Text(f"{read} {suffix}, {task.fields.get('facts', 0):,} facts")


class _Rate(ProgressColumn):
    """Facts per second since the phase began; nothing for phases that handle no facts."""

    def render(self, task: Task) -> Text:
        facts, elapsed = task.fields.get("facts", 0), task.elapsed
        if not facts or not elapsed:
            return Text("")
        return Text(f"{facts / elapsed:,.0f} facts/s", style="progress.data.speed")


class _Left(ProgressColumn):
    """`ETA 0:40` while a phase with a total runs (not for tables, whose sizes differ too
    much for a time per table to mean anything)."""

    def render(self, task: Task) -> Text:
        left = task.time_remaining
        if task.stop_time is not None or task.total is None or left is None or \
                task.fields.get("unit") == "tables":
            return Text("")
        minutes, seconds = divmod(int(left), 60)
        hours, minutes = divmod(minutes, 60)
        return Text(f"ETA {hours}:{minutes:02d}:{seconds:02d}", style="progress.remaining")
