"""A rebuild: the whole log replayed into shadow tables beside the live views, indexed after
the load, then swapped in by one transaction (readers see the old views or the new ones)."""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, Table, delete, insert, inspect, select, text
from sqlalchemy.schema import CreateIndex, CreateTable

from lifecycle.domain.definitions import Definitions
from lifecycle.domain.progress import FACTS, SILENT, Progress
from lifecycle.store.eventlog import EventLog
from projections import tables
from projections.bulk import insert_rows
from projections.parallel import Built, Target, build_partition, run_partitions
from projections.partitions import log_events, partition_count, partition_of_streams, spill
from projections.positions import PROJECTION
from projections.rows import summary_rows

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: builds are not serialised
    fcntl = None  # type: ignore[assignment]


#: PostgreSQL advisory lock held by a build (rebuild or backfill) from start to swap.
BUILD_LOCK_KEY = 0x6C635F6275696C64  # "lc_build"

#: Connections that build the shadow tables' indexes at once (PostgreSQL), or threads
#: that sort for one index build (SQLite).
FINISH_WORKERS = 2

def default_workers() -> int:
    """Worker processes a build uses unless told: one per core."""
    return os.cpu_count() or 1


def rebuild(engine: Engine, log: EventLog, definitions: Definitions, upto: int | None = None,
            known_at: datetime | None = None, progress: Progress = SILENT,
            workers: int | None = None) -> int:
    """Replay the log up to `upto` (default: all of it) into fresh views, then swap.

    The new rows are written to shadow tables beside the live ones and swapped in by one
    transaction: readers see the old views or the new ones, never a mix; if the process
    dies first, the live views are untouched. A large log is replayed in partitions of
    whole groups of subjects (`projections/partitions.py`), so memory stays bounded, by
    `workers` processes (default: one per core; 1: in this process).
    """
    upto = log.position() if upto is None else upto
    workers = default_workers() if workers is None else max(1, workers)
    if engine.url.database in (None, "", ":memory:"):
        workers = 1  # a private in-memory database: nobody else can write to it
    with build_lock(engine):
        # Builds hold the lock from their first shadow table to the swap, and it dies with
        # its holder: shadow tables seen now were left by a build that was killed.
        drop_shadows(engine)
        _build(engine, log, definitions, upto, known_at, workers, progress)
    return upto


def _build(engine: Engine, log: EventLog, definitions: Definitions, upto: int,
           known_at: datetime | None, workers: int, progress: Progress) -> None:
    token = uuid.uuid4().hex[:8]
    shadows = tables.shadow_tables(token)
    facts = facts_upto(log, upto)
    count = partition_count(facts, workers)
    try:
        # The secondary indexes come after the rows: one sort each instead of an index
        # update per row (most of the insert time otherwise). So does the primary key on
        # PostgreSQL, which can add it to a filled table (under the name it had).
        keys: dict[Table, str] = {}
        with engine.begin() as conn:
            for shadow in shadows.values():
                conn.execute(CreateTable(shadow))
                if conn.dialect.name == "postgresql":
                    keys[shadow] = _drop_primary_key(conn, shadow)
        with _collector_paused():
            built = _fill(engine, log, shadows, definitions, upto, known_at, facts, count,
                          workers, token, progress)
        with engine.begin() as conn:
            insert_rows(conn, {shadows[table]: rows
                                for table, rows in summary_rows(built.day_counts()).items()})
        sizes = built.table_sizes()
        _finish_shadows(engine, [shadows[table] for table, _ in sizes.most_common()]
                        + [s for t, s in shadows.items() if t not in sizes], keys, progress)
        progress.phase("swapping in", len(shadows), "tables")
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                # pysqlite runs DDL outside any transaction unless one was begun, which
                # would commit each DROP and RENAME on its own: begin it, so the swap
                # commits whole or not at all.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            # Lock the tracking rows first, as catch-up does (its compare-and-set is its
            # first statement): the two then queue instead of deadlocking on PostgreSQL.
            conn.execute(select(tables.positions.c.name).with_for_update())
            quote = conn.dialect.identifier_preparer.quote
            for live, shadow in shadows.items():
                conn.execute(text(f"DROP TABLE {quote(live.name)}"))
                conn.execute(text(
                    f"ALTER TABLE {quote(shadow.name)} RENAME TO {quote(live.name)}"))
                progress.advance()
            # Every subject is now derived up to `position`: the whole projection and any
            # partition workers resume from there.
            names = set(conn.scalars(select(tables.positions.c.name))) or {PROJECTION}
            conn.execute(delete(tables.positions))
            conn.execute(insert(tables.positions), [
                {"name": name, "position": upto,
                 "definitions_version": definitions.version} for name in sorted(names)])
    except BaseException:
        _clean_up(engine, token)
        raise


def _fill(engine: Engine, log: EventLog, shadows: dict[Table, Table],
          definitions: Definitions, upto: int, known_at: datetime | None, facts: int,
          count: int, workers: int, token: str, progress: Progress) -> Built:
    """Derive every subject and write its rows to the shadow tables: the log read once
    (and, in partitions, spilled to a private folder), then each partition derived."""
    def done(built: Built) -> None:
        progress.advance(built.facts, built.facts)

    progress.phase("reading the log", facts, FACTS)
    if count == 1:  # a small log: one partition, straight from the log
        subjects = []
        for subject, subject_facts in log.all_subject_facts(upto):
            subjects.append((subject, subject_facts))
            progress.advance(len(subject_facts), len(subject_facts))
        progress.phase("deriving histories", facts, FACTS)
        built = build_partition(engine, shadows, definitions, known_at, subjects)
        done(built)
        return built
    joined = partition_of_streams(log.recorder, count)
    spilled = spill(log_events(log.recorder, upto), joined, count,
                    lambda: progress.advance(1, 1))
    del joined
    try:
        progress.phase("deriving histories", sum(spilled.sizes), FACTS)
        target = _target(engine, token, definitions, known_at)
        return run_partitions(engine, shadows, target,
                              [spilled.path(i) for i in range(count)], spilled.sizes,
                              workers, log.mapper, done)
    finally:
        spilled.close()


def _target(engine: Engine, token: str, definitions: Definitions,
            known_at: datetime | None) -> Target:
    """How a worker process writes to the same database as `engine`, with its settings."""
    pragmas: tuple[str, ...] = ()
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar()
            busy = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
            journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        # Workers wait their turn for the write lock, however long another one's takes.
        pragmas = (f"PRAGMA busy_timeout = {max(int(busy or 0), 600_000)}",
                   f"PRAGMA synchronous = {int(synchronous or 0)}")
        if str(journal).lower() == "off":  # a scratch copy, private and thrown away
            pragmas += ("PRAGMA journal_mode = OFF",)
    return Target(engine.url.render_as_string(hide_password=False), {}, pragmas, token,
                  definitions, known_at)


def _clean_up(engine: Engine, token: str) -> None:
    """Drop a failed build's shadow tables now. The failure may be what prevents it (a
    full disk): then make room by emptying SQLite's write-ahead log into the database
    and try again; if that fails too, the next open of the store drops them
    (`drop_dead_shadows`). The build's own error is the one that is raised, never this."""
    for attempt in (1, 2):
        try:
            if attempt == 2 and engine.dialect.name == "sqlite":
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            drop_shadows(engine, token)
            return
        except Exception:
            continue

def drop_dead_shadows(engine: Engine) -> bool:
    """Drop the shadow tables of builds that died or failed, unless a build is running
    (its lock is taken); returns whether they are gone. A failure (the disk still full)
    leaves them for the next call: this is tidying up, never a reason to fail."""
    try:
        with build_lock(engine, wait=False) as held:
            if held:
                drop_shadows(engine)
            return held
    except Exception:
        return False

def _drop_primary_key(conn: Connection, table: Table) -> str:
    """Drop the primary key of the new, empty `table`; returns its name, to add it back."""
    name = conn.scalar(text("SELECT conname FROM pg_constraint "
                            "WHERE conrelid = to_regclass(:table) AND contype = 'p'"),
                       {"table": conn.dialect.identifier_preparer.quote(table.name)})
    assert name is not None, f"{table.name} has no primary key"
    quote = conn.dialect.identifier_preparer.quote
    conn.execute(text(f"ALTER TABLE {quote(table.name)} DROP CONSTRAINT {quote(name)}"))
    return str(name)

def _finish_shadows(engine: Engine, shadows: list[Table], keys: dict[Table, str],
                    progress: Progress = SILENT) -> None:
    """Build the filled shadow tables' indexes (biggest tables first): the primary keys
    dropped before the load (`keys`, on PostgreSQL), then the secondary indexes.

    On PostgreSQL each table is then vacuumed and analysed: tables filled by COPY have no
    visibility map or statistics until autovacuum comes by, and both survive the rename,
    so reports get index-only scans from the swap on. The server does this work, on two
    connections at once: a table's indexes and vacuum in one, while another table's are
    built in the other. SQLite has one writer: there, one transaction builds them all,
    each index's sort allowed a helper thread (`PRAGMA threads`, as it was after).
    """
    progress.phase("building indexes", len(shadows), "tables")
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            threads = conn.exec_driver_sql("PRAGMA threads").scalar()
            conn.exec_driver_sql(f"PRAGMA threads = {FINISH_WORKERS}")
            try:
                for shadow in shadows:
                    _create_indexes(conn, shadow)
                    progress.advance()
            finally:
                conn.exec_driver_sql(f"PRAGMA threads = {int(threads or 0)}")
        return

    def finish(shadow: Table) -> None:
        with engine.begin() as conn:
            quote = conn.dialect.identifier_preparer.quote
            if shadow in keys:
                columns = ", ".join(quote(c.name) for c in shadow.primary_key.columns)
                conn.execute(text(f"ALTER TABLE {quote(shadow.name)} ADD CONSTRAINT "
                                  f"{quote(keys[shadow])} PRIMARY KEY ({columns})"))
            _create_indexes(conn, shadow)
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            quote = conn.dialect.identifier_preparer.quote
            conn.execute(text(f"VACUUM (ANALYZE) {quote(shadow.name)}"))

    with ThreadPoolExecutor(max_workers=FINISH_WORKERS) as pool:
        started = [pool.submit(finish, shadow) for shadow in shadows]
        try:
            for future in started:  # biggest first: advancing in order is about right
                future.result()
                progress.advance()
        except BaseException:
            for future in started:  # what has not begun never will; the rest is waited for
                future.cancel()
            raise

def _create_indexes(conn: Connection, table: Table) -> None:
    """The secondary indexes `projections/tables.py` declares for `table`, by name."""
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        conn.execute(CreateIndex(index))

@contextmanager
def build_lock(engine: Engine, wait: bool = True) -> Iterator[bool]:
    """One build at a time per store, held by a lock the system releases when its holder
    dies (SIGKILL included): a PostgreSQL session advisory lock, or an flock on a file
    beside the SQLite database (in-memory scratch databases are private: no lock).
    Yields whether it is held (always, when `wait`)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            take = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
            held = conn.execute(text(f"SELECT {take}(:key)"), {"key": BUILD_LOCK_KEY}
                                ).scalar() is not False
            try:
                yield held
            finally:
                if held:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"),
                                 {"key": BUILD_LOCK_KEY})
        return
    database = engine.url.database
    if fcntl is None or not database or database == ":memory:" or database.startswith(
            "file:"):
        yield True
        return
    with open(f"{database}-build.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

def drop_shadows(engine: Engine, token: str | None = None) -> None:
    """Drop shadow tables left by a build (all of them when no token is given)."""
    prefix = f"lc_next_{token}_" if token else "lc_next_"
    with engine.begin() as conn:
        quote = conn.dialect.identifier_preparer.quote
        for name in inspect(conn).get_table_names():
            if name.startswith(prefix):
                conn.execute(text(f"DROP TABLE IF EXISTS {quote(name)}"))

def facts_upto(log: EventLog, upto: int) -> int:
    """How many facts the log holds up to position `upto`: every event less the published
    definitions (exact when nothing was appended after `upto`, as when it is the end)."""
    return log.recorder.count_events() - len(log.definitions_history(upto))

@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration (as it was, after).

    A replay keeps a partition's histories until they are written: many objects, none of
    them in reference cycles, which the collector's full passes walk again and again as
    the heap grows (about a quarter of a rebuild's time). Reference counting frees what is
    dropped; each partition ends with one collection (`build_partition`)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
