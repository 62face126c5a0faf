"""Keeping the read models in step with the log: catch-up, rebuild, and the writer.

Every write of view rows happens in the same transaction as the move of the projection's
tracking position, which is a compare-and-set: a projection never says it has processed
what it has not written, and two writers never both apply the same stretch of the log.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Table,
    delete,
    insert,
    inspect,
    select,
    text,
    update,
)

from lifecycle.definitions import Definitions
from lifecycle.derivation import SubjectHistory
from lifecycle.eventlog import EventLog
from lifecycle.facts import ACCOUNT, PERSON, Subject
from lifecycle.replay import Replay
from projections import tables
from projections.rows import Rows, rows_for

#: The projection's fixed name (never changes once deployed).
PROJECTION = "lifecycle.stages"
PAGE = 5_000
INSERT_CHUNK = 10_000
ID_CHUNK = 500
SUBJECT_CHUNK = 5_000


class ProjectionConflict(RuntimeError):
    """Another writer moved the projection's position first."""


@dataclass(frozen=True)
class Position:
    position: int
    definitions_version: str | None


def create_tables(engine: Engine) -> None:
    tables.metadata.create_all(engine)


def read_position(conn: Connection) -> Position:
    row = conn.execute(select(tables.positions.c.position,
                              tables.positions.c.definitions_version)
                       .where(tables.positions.c.name == PROJECTION)).first()
    return Position(row[0], row[1]) if row else Position(0, None)


def _advance(conn: Connection, old: Position, new: int, version: str) -> None:
    """Compare-and-set the tracking position, in the caller's transaction."""
    table = tables.positions
    if old.definitions_version is None and old.position == 0:
        existing = conn.execute(select(table.c.name).where(table.c.name == PROJECTION)).first()
        if existing is None:
            conn.execute(insert(table).values(name=PROJECTION, position=new,
                                              definitions_version=version))
            return
    result = conn.execute(
        update(table)
        .where(table.c.name == PROJECTION, table.c.position == old.position)
        .values(position=new, definitions_version=version))
    if result.rowcount != 1:
        raise ProjectionConflict("the projection was moved by another writer")


def _insert_rows(conn: Connection, rows: Rows) -> None:
    """Bulk insert at the driver level: the rows are plain values already, so SQLAlchemy's
    per-row parameter processing (most of a rebuild's write time) is skipped."""
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    for table, values in rows.items():
        if not values:
            continue
        columns = list(table.columns)
        convert = [_bind(column, conn.dialect.name) for column in columns]
        # Table and column names are the schema's own constants, never input.
        statement = (f"INSERT INTO {quote(table.name)} "  # noqa: S608
                     f"({', '.join(quote(c.name) for c in columns)}) "
                     f"VALUES ({', '.join([mark] * len(columns))})")
        names = [c.name for c in columns]
        for start in range(0, len(values), INSERT_CHUNK):
            conn.exec_driver_sql(statement, [
                tuple(f(row.get(n)) for f, n in zip(convert, names, strict=True))
                for row in values[start:start + INSERT_CHUNK]])


def _bind(column: Column, dialect: str) -> Callable[[Any], Any]:
    """How a value of `column` goes to the driver, matching what SQLAlchemy would send."""
    if isinstance(column.type, tables.UTCDateTime):
        if dialect == "sqlite":  # SQLAlchemy's SQLite format, so string order = time order
            return lambda v: None if v is None else \
                v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        return lambda v: None if v is None else v.astimezone(UTC).replace(tzinfo=None)
    if isinstance(column.type, Boolean) and dialect == "sqlite":
        return lambda v: None if v is None else int(v)
    return lambda v: v


def _delete_subjects(conn: Connection, subjects: Iterable[Subject]) -> None:
    by_type: dict[str, list[str]] = {PERSON: [], ACCOUNT: []}
    for subject in subjects:
        by_type[subject.type].append(subject.id)
    for kind, ids in by_type.items():
        for start in range(0, len(ids), ID_CHUNK):
            part = ids[start:start + ID_CHUNK]
            for table in tables.SUBJECT_TABLES:
                conn.execute(delete(table).where(table.c.subject_type == kind,
                                                 table.c.subject_id.in_(part)))
            if kind == PERSON:
                conn.execute(delete(tables.memberships)
                             .where(tables.memberships.c.person_id.in_(part)))
            else:
                conn.execute(delete(tables.flags).where(tables.flags.c.account_id.in_(part)))


def write_all(engine: Engine, histories: Iterable[SubjectHistory], position: int,
              definitions: Definitions) -> None:
    """Replace every view row and reset the position (a rebuild).

    The new rows are written to shadow tables beside the live ones, a chunk per
    transaction, and swapped in by one transaction: readers see the old views or the new
    ones, never a mix; if the process dies first, the live views are untouched.
    """
    token = uuid.uuid4().hex[:8]
    shadows = tables.shadow_tables(token)
    try:
        for shadow in shadows.values():
            shadow.create(engine)
        batch: list[SubjectHistory] = []
        for history in histories:
            batch.append(history)
            if len(batch) >= SUBJECT_CHUNK:
                _insert_shadow(engine, shadows, batch)
                batch = []
        _insert_shadow(engine, shadows, batch)
        with engine.begin() as conn:
            quote = conn.dialect.identifier_preparer.quote
            for live, shadow in shadows.items():
                conn.execute(text(f"DROP TABLE {quote(live.name)}"))
                conn.execute(text(
                    f"ALTER TABLE {quote(shadow.name)} RENAME TO {quote(live.name)}"))
            conn.execute(delete(tables.positions).where(tables.positions.c.name == PROJECTION))
            conn.execute(insert(tables.positions).values(
                name=PROJECTION, position=position, definitions_version=definitions.version))
    except BaseException:
        drop_shadows(engine, token)
        raise


def _insert_shadow(engine: Engine, shadows: dict[Table, Table],
                   histories: list[SubjectHistory]) -> None:
    rows = rows_for(histories)
    with engine.begin() as conn:
        _insert_rows(conn, {shadows[table]: values for table, values in rows.items()})


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
    replay = Replay(definitions, known_at)
    for subject, facts in log.all_subject_facts(upto):
        replay.add(subject, facts)
    write_all(engine, replay.finish().values(), upto, definitions)
    return upto


def catch_up(engine: Engine, log: EventLog, definitions: Definitions) -> int:
    """Bring the views up to the end of the log; returns how many events were applied."""
    applied = 0
    with engine.connect() as conn:
        at = read_position(conn)
    end = log.position()
    if at.definitions_version not in (None, definitions.version) or end - at.position > max(
            at.position, PAGE):
        # New definitions, or more to apply than is already applied: a replay is cheaper.
        rebuild(engine, log, definitions, upto=end)
        return end - at.position
    while True:
        notes = log.recorder.notifications_after(at.position, PAGE)
        if not notes:
            return applied
        upto = notes[-1].id
        if any(log.mapper.is_definitions(n) for n in notes):
            rebuild(engine, log, definitions)
            return applied + len(notes)
        streams = sorted({n.originator_id for n in notes}, key=str)  # type: ignore[arg-type]
        _apply(engine, log, definitions, at, upto, streams)
        applied += len(notes)
        at = Position(upto, definitions.version)


def _apply(engine: Engine, log: EventLog, definitions: Definitions, at: Position, upto: int,
           streams: Sequence) -> None:
    """Re-derive the subjects whose streams changed, and the accounts they roll up to."""
    facts = log.subject_facts(streams, upto)
    changed = set(facts)
    persons = [s.id for s in changed if s.type == PERSON]
    replay = Replay(definitions)
    for subject, subject_facts in facts.items():
        replay.add(subject, subject_facts)
    accounts = {s.id for s in changed if s.type == ACCOUNT}
    with engine.connect() as conn:
        if definitions.account_rollup != "none":
            accounts |= _linked_accounts(conn, persons)
            accounts |= {link.account_id for pid in persons
                         for link in replay.persons[pid].memberships}
        members = linked_persons(conn, accounts) - set(persons)
    loaded = set(facts)
    more = [Subject(PERSON, pid).stream_id for pid in sorted(members)]
    more += [Subject(ACCOUNT, aid).stream_id for aid in sorted(accounts)
             if Subject(ACCOUNT, aid) not in loaded]
    for subject, subject_facts in log.subject_facts(more, upto).items():
        replay.add(subject, subject_facts)
    histories = replay.finish(accounts)
    targets = changed | {Subject(ACCOUNT, aid) for aid in accounts}
    rows = rows_for(h for s, h in histories.items() if s in targets)
    with engine.begin() as conn:
        _advance(conn, at, upto, definitions.version)
        _delete_subjects(conn, targets)
        _insert_rows(conn, rows)


def _linked_accounts(conn: Connection, persons: Sequence[str]) -> set[str]:
    found: set[str] = set()
    m = tables.memberships
    for start in range(0, len(persons), ID_CHUNK):
        part = persons[start:start + ID_CHUNK]
        found |= set(conn.scalars(select(m.c.account_id).where(m.c.person_id.in_(part))))
    return found


def linked_persons(conn: Connection, accounts: Iterable[str]) -> set[str]:
    ids = sorted(accounts)
    found: set[str] = set()
    m = tables.memberships
    for start in range(0, len(ids), ID_CHUNK):
        part = ids[start:start + ID_CHUNK]
        found |= set(conn.scalars(select(m.c.person_id).where(m.c.account_id.in_(part))))
    return found
