"""A rebuild: the whole log replayed into shadow tables beside the live views, indexed after
the load, then swapped in by one transaction (readers see the old views or the new ones)."""

from __future__ import annotations

import gc
import uuid
from collections import Counter
from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, Table, delete, insert, inspect, select, text
from sqlalchemy.schema import CreateIndex, CreateTable

from lifecycle.domain.definitions import Definitions
from lifecycle.domain.history import SubjectHistory
from lifecycle.domain.progress import FACTS, SILENT, Progress
from lifecycle.domain.replay import Replay
from lifecycle.store.eventlog import EventLog
from projections import tables
from projections.bulk import insert_rows
from projections.dependencies import entangled
from projections.positions import PROJECTION
from projections.rows import Summary, rows_for, summarize, summary_rows

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: builds are not serialised
    fcntl = None  # type: ignore[assignment]


#: PostgreSQL advisory lock held by a build (rebuild or backfill) from start to swap.
BUILD_LOCK_KEY = 0x6C635F6275696C64  # "lc_build"

SUBJECT_CHUNK = 5_000

#: Connections that build the shadow tables' indexes at once (PostgreSQL), or threads
#: that sort for one index build (SQLite).
FINISH_WORKERS = 2

def write_all(engine: Engine, histories: Collection[SubjectHistory], position: int,
              definitions: Definitions, progress: Progress = SILENT) -> None:
    """Replace every view row and reset the position (a rebuild).

    The new rows are written to shadow tables beside the live ones, a chunk per
    transaction, and swapped in by one transaction: readers see the old views or the new
    ones, never a mix; if the process dies first, the live views are untouched.
    """
    with build_lock(engine):
        # Builds hold the lock from their first shadow table to the swap, and it dies with
        # its holder: shadow tables seen now were left by a build that was killed.
        drop_shadows(engine)
        _write_all(engine, histories, position, definitions, progress)

def _write_all(engine: Engine, histories: Collection[SubjectHistory], position: int,
               definitions: Definitions, progress: Progress) -> None:
    token = uuid.uuid4().hex[:8]
    shadows = tables.shadow_tables(token)
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
        batch: list[SubjectHistory] = []
        summary: Summary = Counter()
        sizes: Counter[Table] = Counter()
        progress.phase("writing projections", len(histories), "subjects")
        for history in histories:
            batch.append(history)
            if len(batch) >= SUBJECT_CHUNK:
                summary += _insert_shadow(engine, shadows, batch, sizes)
                progress.advance(len(batch))
                batch = []
        summary += _insert_shadow(engine, shadows, batch, sizes)
        progress.advance(len(batch))
        with engine.begin() as conn:
            insert_rows(conn, {shadows[table]: rows
                                for table, rows in summary_rows(summary).items()})
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
                {"name": name, "position": position,
                 "definitions_version": definitions.version} for name in sorted(names)])
    except BaseException:
        _clean_up(engine, token)
        raise

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

def _insert_shadow(engine: Engine, shadows: dict[Table, Table],
                   histories: list[SubjectHistory], sizes: Counter[Table]) -> Summary:
    """Write the rows of `histories` to the shadow tables (counting them in `sizes`);
    returns their day counts."""
    rows = rows_for(histories)
    with engine.begin() as conn:
        insert_rows(conn, {shadows[table]: values for table, values in rows.items()})
    sizes.update({table: len(values) for table, values in rows.items()})
    return summarize(rows)

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

def rebuild(engine: Engine, log: EventLog, definitions: Definitions, upto: int | None = None,
            known_at: datetime | None = None, progress: Progress = SILENT) -> int:
    """Replay the log up to `upto` (default: all of it) into fresh views, then swap."""
    upto = log.position() if upto is None else upto
    with _collector_paused():
        # Persons in a merge or holding a role wait for the rest; others derive at once.
        replay = Replay(definitions, known_at, entangled(log.recorder).__contains__)
        progress.phase("deriving histories", facts_upto(log, upto), FACTS)
        for subject, facts in log.all_subject_facts(upto):
            replay.add(subject, facts)
            progress.advance(len(facts))
        write_all(engine, replay.finish(progress=progress).values(), upto, definitions,
                  progress)
    return upto

def facts_upto(log: EventLog, upto: int) -> int:
    """How many facts the log holds up to position `upto`: every event less the published
    definitions (exact when nothing was appended after `upto`, as when it is the end)."""
    return log.recorder.count_events() - len(log.definitions_history(upto))

@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration (as it was, after).

    A replay keeps every history until the write: millions of objects, none of them in
    reference cycles, which the collector's full passes walk again and again as the heap
    grows (about a quarter of a rebuild's time). Reference counting still frees what is
    dropped; cycles made meanwhile are collected once it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
