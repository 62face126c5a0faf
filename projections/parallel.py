"""Deriving and writing partitions of a replay (`projections/partitions.py`) into a
build's shadow tables, in this process or in worker processes, one partition at a time
each.

Workers are started fresh (`spawn`: nothing of the parent's connections or locks is
inherited), each with its own connection to the same database, and write their rows
themselves: on PostgreSQL the COPYs run side by side; on SQLite the writes take turns
under the database's one write lock while the other worker derives. Only counts come
back to the parent (the day summaries and rows per table). A worker whose parent died
stops at its next write, so a killed build leaves nothing running.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event

from lifecycle.domain.definitions import Definitions
from lifecycle.domain.facts import Subject
from lifecycle.domain.history import SubjectHistory
from lifecycle.domain.recorded import RecordedFact
from lifecycle.domain.replay import Replay
from lifecycle.store.codec import LedgerMapper
from projections import tables
from projections.bulk import insert_rows
from projections.partitions import read_spill
from projections.rows import Summary, rows_for, summarize

#: Subjects whose rows are written per transaction.
SUBJECT_CHUNK = 5_000

_BY_NAME = {table.name: table for table in tables.VIEW_TABLES}


@dataclass(frozen=True)
class Target:
    """What a worker needs to write a build's shadow tables: how to connect (a URL with
    its password, the driver's arguments, SQLite pragmas), the build's token, and what
    to derive under."""

    url: str
    connect_args: dict[str, Any]
    pragmas: tuple[str, ...]
    token: str
    definitions: Definitions
    known_at: datetime | None


@dataclass
class Built:
    """What a partition added: facts read, subjects written, rows per table (by name)
    and the day counts of its rows (summary table by name)."""

    facts: int = 0
    subjects: int = 0
    sizes: Counter[str] = field(default_factory=Counter)
    summary: Counter[tuple[str, tuple[Any, ...], str]] = field(default_factory=Counter)

    def add(self, other: Built) -> None:
        self.facts += other.facts
        self.subjects += other.subjects
        self.sizes.update(other.sizes)
        self.summary.update(other.summary)

    def day_counts(self) -> Summary:
        """The summary with its tables as Table objects again."""
        return Counter({(_BY_NAME[name], key, column): count
                        for (name, key, column), count in self.summary.items()})

    def table_sizes(self) -> Counter[Table]:
        return Counter({_BY_NAME[name]: count for name, count in self.sizes.items()})


def build_partition(engine: Engine, shadows: dict[Table, Table], definitions: Definitions,
                    known_at: datetime | None,
                    subjects: Iterable[tuple[Subject, Sequence[RecordedFact]]],
                    before_write: Callable[[], None] = lambda: None) -> Built:
    """Derive one partition's subjects (whole groups: see `projections/partitions.py`)
    and write their rows to the shadow tables, a chunk of subjects per transaction."""
    replay = Replay(definitions, known_at)
    built = Built()
    for subject, facts in subjects:
        replay.add(subject, facts)
        built.facts += len(facts)
    histories = list(replay.finish().values())
    del replay
    for start in range(0, len(histories), SUBJECT_CHUNK):
        before_write()
        _write(engine, shadows, histories[start:start + SUBJECT_CHUNK], built)
    built.subjects = len(histories)
    del histories
    gc.collect()  # the collector is paused during builds: one pass per partition
    return built


def _write(engine: Engine, shadows: dict[Table, Table], histories: list[SubjectHistory],
           built: Built) -> None:
    rows = rows_for(histories)
    with engine.begin() as conn:
        insert_rows(conn, {shadows[table]: values for table, values in rows.items()})
    built.sizes.update({table.name: len(values) for table, values in rows.items()})
    built.summary.update({(table.name, key, column): count
                          for (table, key, column), count in summarize(rows).items()})


def run_partitions(engine: Engine, shadows: dict[Table, Table], target: Target,
                   paths: Sequence[Path], sizes: Sequence[int], workers: int,
                   mapper: LedgerMapper, on_done: Callable[[Built], None]) -> Built:
    """Build every partition (its spill file in `paths`, its events in `sizes`): in this
    process when `workers` is 1, else in that many worker processes, biggest first.
    `on_done` hears of each partition as it is written."""
    total = Built()
    order = sorted(range(len(paths)), key=lambda i: -sizes[i])
    if workers <= 1 or len(paths) <= 1:
        for index in order:
            built = build_partition(engine, shadows, target.definitions, target.known_at,
                                    read_spill(paths[index], mapper))
            total.add(built)
            on_done(built)
        return total
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(paths)), mp_context=context,
                             initializer=_start_worker,
                             initargs=(target, os.getpid())) as pool:
        with _main_module_hidden():  # the workers start as the first tasks are handed out
            pending: set[Future[Built]] = {pool.submit(_build_in_worker, str(paths[i]))
                                           for i in order}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    built = future.result()
                    total.add(built)
                    on_done(built)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return total


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start workers without running the caller's main script again. `spawn` imports
    the parent's `__main__` in each new process (to find functions defined there); the
    workers need nothing of it, and a script without an `if __name__ == "__main__"`
    guard would run again in each (a second build waiting for the first one's lock)."""
    main = sys.modules.get("__main__")
    saved: dict[str, Any] = {name: main.__dict__[name] for name in ("__file__", "__spec__")
             if main is not None and name in main.__dict__}
    if main is None:
        yield
        return
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


# ---- in a worker process -----------------------------------------------------------------

_worker: dict[str, Any] = {}


def _start_worker(target: Target, parent: int) -> None:
    gc.disable()  # as in the parent's build (`rebuild._collector_paused`)
    engine = create_engine(target.url, connect_args=target.connect_args)
    if target.pragmas:
        def apply(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in target.pragmas:
                cursor.execute(pragma)
            cursor.close()
        event.listen(engine, "connect", apply)
    _worker.update(target=target, parent=parent, engine=engine, mapper=LedgerMapper(),
                   shadows=tables.shadow_tables(target.token))


def _parent_alive() -> None:
    """Stop at once if the build that started this worker died (SIGKILL included): its
    shadow tables are garbage, and the next build drops them."""
    if os.getppid() != _worker["parent"]:
        os._exit(1)


def _build_in_worker(path: str) -> Built:
    _parent_alive()
    target: Target = _worker["target"]
    return build_partition(_worker["engine"], _worker["shadows"], target.definitions,
                           target.known_at, read_spill(Path(path), _worker["mapper"]),
                           _parent_alive)
