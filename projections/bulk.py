"""Writing view rows fast: driver-level inserts (COPY on PostgreSQL), deleting a set of
subjects' rows, and keeping the day summaries by adding and subtracting counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from typing import Any

from sqlalchemy import Boolean, Column, Connection, Table, and_, bindparam, delete, or_, select

from lifecycle.domain.facts import ACCOUNT, OPPORTUNITY, PERSON, Subject
from projections import tables
from projections.instants import naive_utc, sqlite_text
from projections.rows import Rows, Summary, summary_rows

INSERT_CHUNK = 10_000

ID_CHUNK = 500

#: Rows from which COPY beats a pipelined INSERT on PostgreSQL (it costs more round trips).
COPY_FROM = 200

def insert_rows(conn: Connection, rows: Rows) -> None:
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

def delete_subjects(conn: Connection, subjects: Iterable[Subject]) -> None:
    for chunk in _subject_chunks(subjects):
        for table in tables.SUBJECT_TABLES:
            conn.execute(delete(table).where(_of(table, chunk)))
        if chunk.get(PERSON):
            conn.execute(delete(tables.memberships)
                         .where(tables.memberships.c.person_id.in_(chunk[PERSON])))
        if chunk.get(OPPORTUNITY):
            links = tables.opportunity_links
            conn.execute(delete(links).where(links.c.opportunity_id.in_(chunk[OPPORTUNITY])))
        if chunk.get(ACCOUNT):
            conn.execute(delete(tables.flags)
                         .where(tables.flags.c.account_id.in_(chunk[ACCOUNT])))

def stored_details(conn: Connection, subjects: Iterable[Subject]) -> Rows:
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

def add_summary(conn: Connection, counts: Summary) -> None:
    """Add `counts` (negative for rows gone) to the summary tables; rows that fall to
    nothing are deleted, so the tables equal what a rebuild writes."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
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
