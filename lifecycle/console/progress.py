"""Progress for long work: a bar with rate on a terminal, nothing in pipes."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress


class Progress:
    """Counts rows; shows them on stderr when stderr is a terminal."""

    def __init__(self, label: str, total_bytes: int | None = None):
        self.console = Console(stderr=True)
        self.enabled = self.console.is_terminal
        self.label = label
        self._bar: RichProgress | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            self._bar = RichProgress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TaskProgressColumn(show_speed=True), TextColumn("rows/s"),
                TimeElapsedColumn(), console=self.console, transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=None)
        return self

    def update(self, done: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)
