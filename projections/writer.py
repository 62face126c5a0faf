"""Keeping the read models in step with the log: catch-up, rebuild, and the writer.

Every write of view rows happens in the same transaction as the move of the projection's
tracking position, which is a compare-and-set: a projection never says it has processed
what it has not written, and two writers never both apply the same stretch of the log.
"""

from __future__ import annotations

import gc
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.schema import CreateIndex, CreateTable

from lifecycle.domain.definitions import Definitions
from lifecycle.domain.derivation import SubjectHistory
from lifecycle.domain.facts import ACCOUNT, PERSON, Subject
from lifecycle.domain.replay import Replay
from lifecycle.store.eventlog import EventLog
from projections import tables
from projections.instants import naive_utc, sqlite_text
from projections.rows import Rows, Summary, rows_for, summarize, summary_rows

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: builds are not serialised
    fcntl = None  # type: ignore[assignment]

#: Advisory lock key held while creating the schema (the event store uses the same).
SCHEMA_LOCK = 0x6C6966656379

#: The definitions version a projection is marked with when it must be replayed.
STALE = "(views changed: replay)"

#: The projection's fixed name (never changes once deployed).
PROJECTION = "lifecycle.stages"
#: PostgreSQL advisory lock held by a build (rebuild or backfill) from start to swap.
BUILD_LOCK_KEY = 0x6C635F6275696C64  # "lc_build"
PAGE = 5_000
INSERT_CHUNK = 10_000
ID_CHUNK = 500
#: Rows from which COPY beats a pipelined INSERT on PostgreSQL (it costs more round trips).
COPY_FROM = 200
SUBJECT_CHUNK = 5_000
#: Connections that build the shadow tables' indexes at once (PostgreSQL), or threads
#: that sort for one index build (SQLite).
FINISH_WORKERS = 2


class ProjectionConflict(RuntimeError):
    """Another writer moved the projection's position first."""


@dataclass(frozen=True)
class Position:
    position: int
    definitions_version: str | None


def create_tables(engine: Engine) -> None:
    """Create the view tables if they are missing, safely from several processes at once."""
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
            return
        except (OperationalError, ProgrammingError, IntegrityError):
            # Another process created a table between the check and the create: the
            # next check sees it.
            if attempt == 3:
                raise


def read_position(conn: Connection, name: str = PROJECTION) -> Position:
    row = conn.execute(select(tables.positions.c.position,
                              tables.positions.c.definitions_version)
                       .where(tables.positions.c.name == name)).first()
    return Position(row[0], row[1]) if row else Position(0, None)


def _advance(conn: Connection, old: Position, new: int, version: str,
             name: str = PROJECTION) -> None:
    """Compare-and-set the tracking position, in the caller's transaction."""
    table = tables.positions
    if old.definitions_version is None and old.position == 0:
        existing = conn.execute(select(table.c.name).where(table.c.name == name)).first()
        if existing is None:
            conn.execute(insert(table).values(name=name, position=new,
                                              definitions_version=version))
            return
    result = conn.execute(
        update(table)
        .where(table.c.name == name, table.c.position == old.position)
        .values(position=new, definitions_version=version))
    if result.rowcount != 1:
        raise ProjectionConflict("the projection was moved by another writer")


def _insert_rows(conn: Connection, rows: Rows) -> None:
    """Bulk insert at the driver level: the rows are plain values already, so SQLAlchemy's
    per-row parameter processing (most of a rebuild's write time) is skipped."""
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    # The rows of a history share their instants (a stamp's time is also its steps',
    # moves' and intervals'): each distinct value is converted once per call.
    memos: dict[Any, _Memo] = {}
    for table, values in rows.items():
        if not values:
            continue
        columns = list(table.columns)
        statement = (f"INSERT INTO {quote(table.name)} "  # noqa: S608
                     f"({', '.join(quote(c.name) for c in columns)}) "
                     f"VALUES ({', '.join([mark] * len(columns))})")
        copying = conn.dialect.name == "postgresql" and len(values) >= COPY_FROM
        # Only datetime and (on SQLite) boolean columns need converting: find them once.
        convert = []
        for i, column in enumerate(columns):
            func = _bind(column, conn.dialect.name, copying)
            if func is not None:
                memo = memos.get(func) or memos.setdefault(func, _Memo(func))
                convert.append((i, memo.__getitem__))
        cells = _cells(values, [c.name for c in columns], convert)
        if copying:
            # COPY is PostgreSQL's bulk path; it runs on the same connection, so in the
            # same transaction as the tracking position.
            names = ", ".join(quote(c.name) for c in columns)
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
                for row in cells:
                    copy.write_row(row)
            continue
        for start in range(0, len(cells), INSERT_CHUNK):
            conn.exec_driver_sql(statement, cells[start:start + INSERT_CHUNK])


class _Memo(dict[Any, Any]):
    """`func` of each value, computed once (None stays None)."""

    def __init__(self, func: Callable[[Any], Any]):
        super().__init__({None: None})
        self.func = func

    def __missing__(self, value: Any) -> Any:
        result = self[value] = self.func(value)
        return result


def _cells(rows: list[dict[str, Any]], names: list[str],
           convert: list[tuple[int, Callable[[Any], Any]]]) -> list[tuple[Any, ...]]:
    """`rows` as tuples of the driver's values in the order of `names`, each converted
    column by column (`convert`: index, function): loops the interpreter runs in C."""
    if not rows:
        return []
    pick = itemgetter(*names)
    if len(names) == 1:
        columns: list[Iterable[Any]] = [[pick(row) for row in rows]]
    else:
        columns = list(zip(*map(pick, rows), strict=True))
    for index, func in convert:
        columns[index] = map(func, columns[index])
    return list(zip(*columns, strict=True))


def _bind(column: Column, dialect: str, copying: bool = False
          ) -> Callable[[Any], Any] | None:
    """How a value of `column` goes to the driver, as SQLAlchemy would send it (None: as
    it is). Never called with None.

    COPY (`copying`) sends every value as text anyway: an instant goes as the text of its
    naive UTC value, made once per distinct value, which PostgreSQL reads back exactly
    (half the time of psycopg formatting each datetime cell)."""
    if isinstance(column.type, tables.UTCDateTime):
        return sqlite_text if dialect == "sqlite" or copying else naive_utc
    if isinstance(column.type, Boolean) and dialect == "sqlite":
        return int
    return None


def _subject_chunks(subjects: Iterable[Subject]) -> Iterator[dict[str, list[str]]]:
    """`subjects` in chunks of at most ID_CHUNK ids, each as {type: ids}."""
    ordered = sorted(subjects, key=lambda s: (s.type, s.id))
    for start in range(0, len(ordered), ID_CHUNK):
        chunk: dict[str, list[str]] = {}
        for subject in ordered[start:start + ID_CHUNK]:
            chunk.setdefault(subject.type, []).append(subject.id)
        yield chunk


def _of(table: Table, chunk: dict[str, list[str]]) -> Any:
    """The rows of `table` for the subjects of `chunk`: one condition for both types, so
    a person and its account cost one statement, each branch on the primary key."""
    return or_(*(and_(table.c.subject_type == kind, table.c.subject_id.in_(ids))
                 for kind, ids in chunk.items()))


def _delete_subjects(conn: Connection, subjects: Iterable[Subject]) -> None:
    for chunk in _subject_chunks(subjects):
        for table in tables.SUBJECT_TABLES:
            conn.execute(delete(table).where(_of(table, chunk)))
        if chunk.get(PERSON):
            conn.execute(delete(tables.memberships)
                         .where(tables.memberships.c.person_id.in_(chunk[PERSON])))
        if chunk.get(ACCOUNT):
            conn.execute(delete(tables.flags)
                         .where(tables.flags.c.account_id.in_(chunk[ACCOUNT])))


def _stored_details(conn: Connection, subjects: Iterable[Subject]) -> Rows:
    """The interval and move rows now stored for `subjects` (the columns the summaries
    count)."""
    i, m = tables.intervals, tables.moves
    found: Rows = {i: [], m: []}
    for chunk in _subject_chunks(subjects):
        result = conn.execute(select(i.c.subject_type, i.c.stage, i.c.entered_at,
                                     i.c.exited_at).where(_of(i, chunk)))
        found[i] += [{"subject_type": kind, "stage": stage, "entered_at": entered,
                      "exited_at": exited} for kind, stage, entered, exited in result]
        result = conn.execute(select(m.c.subject_type, m.c.occurred_at, m.c.from_stage,
                                     m.c.to_stage, m.c.direction).where(_of(m, chunk)))
        found[m] += [{"subject_type": kind, "occurred_at": at, "from_stage": before,
                      "to_stage": after, "direction": direction}
                     for kind, at, before, after, direction in result]
    return found


def _add_summary(conn: Connection, counts: Summary) -> None:
    """Add `counts` (negative for rows gone) to the summary tables; rows that fall to
    nothing are deleted, so the tables equal what a rebuild writes."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    returning = conn.dialect.insert_executemany_returning
    for table, rows in summary_rows(counts).items():
        keys = [c for c in table.columns if c.primary_key]
        values = [c for c in table.columns if not c.primary_key]
        changes = [row for row in rows if any(row[c.name] for c in values)]
        if not changes:
            continue
        statement = upsert(table)
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={c.name: c + statement.excluded[c.name] for c in values})
        if returning:  # the new counts come back: only rows now at zero need a delete
            result = conn.execute(statement.returning(*keys, *values), changes)
            emptied = [dict(row._mapping) for row in result
                       if not any(row._mapping[c.name] for c in values)]
        else:
            conn.execute(statement, changes)
            emptied = changes
        if emptied:
            conn.execute(delete(table).where(
                *(c == bindparam(f"k_{c.name}") for c in keys), *(c == 0 for c in values)),
                [{f"k_{c.name}": row[c.name] for c in keys} for row in emptied])


def write_all(engine: Engine, histories: Iterable[SubjectHistory], position: int,
              definitions: Definitions) -> None:
    """Replace every view row and reset the position (a rebuild).

    The new rows are written to shadow tables beside the live ones, a chunk per
    transaction, and swapped in by one transaction: readers see the old views or the new
    ones, never a mix; if the process dies first, the live views are untouched.
    """
    with build_lock(engine):
        # Builds hold the lock from their first shadow table to the swap, and it dies with
        # its holder: shadow tables seen now were left by a build that was killed.
        drop_shadows(engine)
        _write_all(engine, histories, position, definitions)


def _write_all(engine: Engine, histories: Iterable[SubjectHistory], position: int,
               definitions: Definitions) -> None:
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
        for history in histories:
            batch.append(history)
            if len(batch) >= SUBJECT_CHUNK:
                summary += _insert_shadow(engine, shadows, batch, sizes)
                batch = []
        summary += _insert_shadow(engine, shadows, batch, sizes)
        with engine.begin() as conn:
            _insert_rows(conn, {shadows[table]: rows
                                for table, rows in summary_rows(summary).items()})
        _finish_shadows(engine, [shadows[table] for table, _ in sizes.most_common()]
                        + [s for t, s in shadows.items() if t not in sizes], keys)
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
            # Every subject is now derived up to `position`: the whole projection and any
            # partition workers resume from there.
            names = set(conn.scalars(select(tables.positions.c.name))) or {PROJECTION}
            conn.execute(delete(tables.positions))
            conn.execute(insert(tables.positions), [
                {"name": name, "position": position,
                 "definitions_version": definitions.version} for name in sorted(names)])
    except BaseException:
        drop_shadows(engine, token)
        raise


def _drop_primary_key(conn: Connection, table: Table) -> str:
    """Drop the primary key of the new, empty `table`; returns its name, to add it back."""
    name = conn.scalar(text("SELECT conname FROM pg_constraint "
                            "WHERE conrelid = to_regclass(:table) AND contype = 'p'"),
                       {"table": conn.dialect.identifier_preparer.quote(table.name)})
    assert name is not None, f"{table.name} has no primary key"
    quote = conn.dialect.identifier_preparer.quote
    conn.execute(text(f"ALTER TABLE {quote(table.name)} DROP CONSTRAINT {quote(name)}"))
    return str(name)


def _finish_shadows(engine: Engine, shadows: list[Table], keys: dict[Table, str]) -> None:
    """Build the filled shadow tables' indexes (biggest tables first): the primary keys
    dropped before the load (`keys`, on PostgreSQL), then the secondary indexes.

    On PostgreSQL each table is then vacuumed and analysed: tables filled by COPY have no
    visibility map or statistics until autovacuum comes by, and both survive the rename,
    so reports get index-only scans from the swap on. The server does this work, on two
    connections at once: a table's indexes and vacuum in one, while another table's are
    built in the other. SQLite has one writer: there, one transaction builds them all,
    each index's sort allowed a helper thread (`PRAGMA threads`, as it was after).
    """
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            threads = conn.exec_driver_sql("PRAGMA threads").scalar()
            conn.exec_driver_sql(f"PRAGMA threads = {FINISH_WORKERS}")
            try:
                for shadow in shadows:
                    _create_indexes(conn, shadow)
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
            for future in started:
                future.result()
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
        _insert_rows(conn, {shadows[table]: values for table, values in rows.items()})
    sizes.update({table: len(values) for table, values in rows.items()})
    return summarize(rows)


@contextmanager
def build_lock(engine: Engine) -> Iterator[None]:
    """One build at a time per store, held by a lock the system releases when its holder
    dies (SIGKILL included): a PostgreSQL session advisory lock, or an flock on a file
    beside the SQLite database (in-memory scratch databases are private: no lock)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": BUILD_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": BUILD_LOCK_KEY})
        return
    database = engine.url.database
    if fcntl is None or not database or database == ":memory:" or database.startswith(
            "file:"):
        yield
        return
    with open(f"{database}-build.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
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
            known_at: datetime | None = None) -> int:
    """Replay the log up to `upto` (default: all of it) into fresh views, then swap."""
    upto = log.position() if upto is None else upto
    with _collector_paused():
        replay = Replay(definitions, known_at)
        for subject, facts in log.all_subject_facts(upto):
            replay.add(subject, facts)
        write_all(engine, replay.finish().values(), upto, definitions)
    return upto


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


@dataclass(frozen=True)
class Partition:
    """Worker `index` of `count`: it derives and writes only its own subjects."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not (self.count >= 1 and 0 <= self.index < self.count):
            raise ValueError(f"partition {self.index}/{self.count}: need 0 <= i < n")

    @property
    def name(self) -> str:
        return f"{PROJECTION}#{self.index}/{self.count}"

    def owns(self, subject: Subject) -> bool:
        return subject.stream_id.int % self.count == self.index


def partitions(conn: Connection) -> list[Partition]:
    """The partitions registered by workers (none: the projection is kept inline)."""
    return partitions_of(conn.scalars(select(tables.positions.c.name)))


def partitions_of(names: Iterable[str]) -> list[Partition]:
    found = []
    for name in names:
        if name.startswith(f"{PROJECTION}#"):
            index, count = name.split("#", 1)[1].split("/")
            found.append(Partition(int(index), int(count)))
    return sorted(found, key=lambda p: p.index)


class PartitionMismatch(ValueError):
    """Workers already share the subjects among another number of partitions."""


def register(engine: Engine, partition: Partition) -> None:
    """Hand the projection to partitioned workers: every partition starts where the inline
    projection stood, and the inline writer stops (its position row goes), in one
    transaction, so no subject ever has two writers."""
    with engine.begin() as conn:
        existing = partitions(conn)
        if existing:
            if existing[0].count != partition.count:
                raise PartitionMismatch(
                    f"workers here use {existing[0].count} partitions, not {partition.count}")
            return
        at = read_position(conn)
        conn.execute(delete(tables.positions).where(tables.positions.c.name == PROJECTION))
        conn.execute(insert(tables.positions), [
            {"name": Partition(i, partition.count).name, "position": at.position,
             "definitions_version": at.definitions_version}
            for i in range(partition.count)])


def unregister(engine: Engine) -> None:
    """Hand the projection back to inline catch-up, from the least advanced partition."""
    with engine.begin() as conn:
        parts = partitions(conn)
        if not parts:
            return
        least = min((read_position(conn, p.name) for p in parts), key=lambda p: p.position)
        conn.execute(delete(tables.positions))
        conn.execute(insert(tables.positions).values(
            name=PROJECTION, position=least.position,
            definitions_version=least.definitions_version))


def catch_up(engine: Engine, log: EventLog, definitions: Definitions,
             partition: Partition | None = None, at: Position | None = None) -> int:
    """Bring the views up to the end of the log; returns how many events were applied.

    With a partition, only that partition's subjects are written, under its own position.
    `at` is the position if the caller has just read it.
    """
    name = partition.name if partition else PROJECTION
    applied = 0
    if at is None:
        with reading(engine) as conn:
            at = read_position(conn, name)
    if at.definitions_version not in (None, definitions.version):
        return _replay(engine, log, definitions, at)
    while True:
        notes = log.recorder.notifications_after(at.position, PAGE)
        if not notes:
            return applied
        if partition is None and not applied and len(notes) == PAGE and \
                log.position() - at.position > max(at.position, PAGE):
            # More to apply than is already applied: a replay is cheaper.
            return _replay(engine, log, definitions, at)
        upto = notes[-1].id
        if any(log.mapper.is_definitions(n) for n in notes):
            rebuild(engine, log, definitions)
            return applied + len(notes)
        streams = sorted({n.originator_id for n in notes}, key=str)  # type: ignore[arg-type]
        _apply(engine, log, definitions, at, upto, streams, partition)
        applied += len(notes)
        at = Position(upto, definitions.version)


def _replay(engine: Engine, log: EventLog, definitions: Definitions, at: Position) -> int:
    end = log.position()
    rebuild(engine, log, definitions, upto=end)
    return end - at.position


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads. On PostgreSQL it runs in autocommit, which spares the
    BEGIN and ROLLBACK round trips of a transaction that only reads."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def read_positions(conn: Connection) -> dict[str, Position]:
    """Every tracking row: the inline projection's or the partitions'."""
    p = tables.positions
    return {name: Position(position, version) for name, position, version in conn.execute(
        select(p.c.name, p.c.position, p.c.definitions_version))}


def _apply(engine: Engine, log: EventLog, definitions: Definitions, at: Position, upto: int,
           streams: Sequence, partition: Partition | None) -> None:
    """Re-derive the subjects whose streams changed, and the accounts they roll up to.

    Who belongs to which account is read from the log's own index, never from the views,
    so a worker never depends on what another worker has written yet.
    """
    facts = log.subject_facts(streams, upto)
    changed = set(facts)
    persons = sorted(s.id for s in changed if s.type == PERSON)
    accounts = {s.id for s in changed if s.type == ACCOUNT}
    if definitions.account_rollup != "none" and persons:
        accounts |= log.recorder.linked_accounts(persons)
    if partition is not None:
        accounts = {a for a in accounts if partition.owns(Subject(ACCOUNT, a))}
    members = log.recorder.linked_persons(sorted(accounts)) if accounts else set()
    more = [Subject(PERSON, pid).stream_id for pid in sorted(members - set(persons))]
    more += [Subject(ACCOUNT, aid).stream_id for aid in sorted(accounts)
             if Subject(ACCOUNT, aid) not in changed]
    replay = Replay(definitions)
    for subject, subject_facts in facts.items():
        replay.add(subject, subject_facts)
    for subject, subject_facts in log.subject_facts(more, upto).items():
        replay.add(subject, subject_facts)
    histories = replay.finish(accounts)
    targets = changed | {Subject(ACCOUNT, aid) for aid in accounts}
    if partition is not None:
        targets = {s for s in targets if partition.owns(s)}
    rows = rows_for(h for s, h in histories.items() if s in targets)
    with engine.begin() as conn:
        _advance(conn, at, upto, definitions.version, partition.name if partition else PROJECTION)
        summary = summarize(rows)
        summary.subtract(summarize(_stored_details(conn, targets)))
        _delete_subjects(conn, targets)
        _insert_rows(conn, rows)
        _add_summary(conn, summary)
