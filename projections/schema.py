"""The read models' schema: created once, safely from several processes at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, inspect, text, update
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from projections import tables

#: Advisory lock key held while creating the schema (the event store uses the same).
SCHEMA_LOCK = 0x6C6966656379

#: The definitions version a projection is marked with when it must be replayed.
STALE = "(views changed: replay)"

def create_tables(engine: Engine) -> set[str]:
    """Create the view tables if they are missing, safely from several processes at once;
    returns the names of the tables that were there before."""
    for attempt in (1, 2, 3):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": SCHEMA_LOCK})
                existing = set(inspect(conn).get_table_names())
                tables.metadata.create_all(conn)
                if tables.positions.name in existing and any(
                        t.name not in existing for t in tables.VIEW_TABLES):
                    # A view this version added is empty in a store projected before it:
                    # mark the projection stale, so the next catch-up replays the log.
                    conn.execute(update(tables.positions).values(definitions_version=STALE))
            return existing
        except (OperationalError, ProgrammingError, IntegrityError):
            # Another process created a table between the check and the create: the
            # next check sees it.
            if attempt == 3:
                raise
    raise AssertionError("unreachable")  # pragma: no cover

@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that reads one consistent state of the views however many queries it
    runs, so that what a report prints and the definitions it names come from the same
    moment. On SQLite, one read transaction (the WAL keeps its snapshot while a swap
    commits). On PostgreSQL, a REPEATABLE READ transaction that first locks the view tables
    against a swap (ACCESS SHARE, in the order a swap drops them: a swap waits for the
    reader, a reader for a swap, and neither for catch-ups)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            quote = conn.dialect.identifier_preparer.quote
            names = ", ".join(quote(t.name) for t in tables.VIEW_TABLES)
            conn.execute(text(f"LOCK TABLE {names} IN ACCESS SHARE MODE"))
        else:
            conn.exec_driver_sql("BEGIN")  # deferred: the snapshot is the first read's
        try:
            yield conn
        finally:
            conn.rollback()

@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads. On PostgreSQL it runs in autocommit, which spares the
    BEGIN and ROLLBACK round trips of a transaction that only reads."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


#: Free pages, as a share of the file, from which a SQLite store gives them back: a
#: rebuild swaps in new tables and frees the old ones' pages, about 40% of the file.
RECLAIM_SHARE = 0.2
#: SQLite's `auto_vacuum` modes.
AUTO_VACUUM_NONE, AUTO_VACUUM_INCREMENTAL = 0, 2


def reclaim_free_pages(engine: Engine, convert: bool = False) -> int:
    """Give a SQLite file's free pages back to the file system when they are more than
    RECLAIM_SHARE of it (after a rebuild's swap); returns how many were given back.

    A store made by this release has `auto_vacuum = INCREMENTAL`: `PRAGMA
    incremental_vacuum` moves the pages in use into the free ones and truncates the file.
    An older store has no such mode; with `convert` (an explicit `lifecycle rebuild`, which
    takes long anyway) it is switched to it by one `VACUUM`, which rewrites the file (a
    copy of it is needed on disk meanwhile), so that later rebuilds reclaim by themselves.
    PostgreSQL reuses its free space itself (autovacuum): nothing to do."""
    if engine.dialect.name != "sqlite":
        return 0
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        free = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar() or 0)
        if not free or free < pages * RECLAIM_SHARE:
            return 0
        mode = int(conn.exec_driver_sql("PRAGMA auto_vacuum").scalar() or 0)
        if mode == AUTO_VACUUM_INCREMENTAL:
            # It frees one page a step, and the driver's execute steps once: run it as a
            # script, which steps every statement to its end.
            driver = conn.connection.driver_connection
            driver.executescript("PRAGMA incremental_vacuum;")  # type: ignore[union-attr]
        elif convert and mode == AUTO_VACUUM_NONE:
            conn.exec_driver_sql(f"PRAGMA auto_vacuum = {AUTO_VACUUM_INCREMENTAL}")
            conn.exec_driver_sql("VACUUM")
        else:
            return 0
        return free - int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
