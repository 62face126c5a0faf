"""The rows `lifecycle.console.progress` draws with rich: finished phases one line each,
the running one as its name and its bar. A module of its own so that rich is imported
only when a terminal is drawn on (commands in pipes, scripts and CI never load it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich import filesize
from rich.console import RenderableType
from rich.progress import (
    BarColumn,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Column, Table
from rich.text import Text

from lifecycle.domain.progress import FACTS

#: Columns the bar's line takes at most (on a wider terminal the bar does not stretch).
WIDE = 100


class Display(RichProgress):
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
