"""The ledger's recorder on SQLite (eventsourcing.sqlite, extended)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from lifecycle.store.base import (
    AppendTx,
    IndexRow,
    LedgerRecorder,
    Link,
    StreamEvent,
    chunks,
)
from lifecycle.store.settings import sqlite_pragmas

#: A rowid table, so that rows are appended in insertion order and only the primary key's
#: index takes the random order of event ids: a batch of random keys dirties far fewer
#: pages than in a WITHOUT ROWID table, which keeps whole rows in key order (a store made
#: before this keeps its WITHOUT ROWID table, which reads and writes the same).
INDEX_TABLE = (
    "CREATE TABLE IF NOT EXISTS fact_index ("
    "event_id TEXT PRIMARY KEY, "
    "content_hash TEXT NOT NULL, "
    "subject_type TEXT NOT NULL, "
    "subject_id TEXT NOT NULL, "
    "fact_type TEXT NOT NULL, "
    "retracts TEXT UNIQUE, "
    "link_account TEXT)"
)
LINK_INDEX = ("CREATE INDEX IF NOT EXISTS fact_index_links ON fact_index "
              "(link_account, subject_id) WHERE link_account IS NOT NULL")
#: The other way round: a person's accounts (every catch-up of a person asks).
PERSON_LINK_INDEX = ("CREATE INDEX IF NOT EXISTS fact_index_person_links ON fact_index "
                     "(subject_id, link_account) WHERE link_account IS NOT NULL")
#: How far `lifecycle sync` has read each CRM object (an opaque value per cursor name).
CURSOR_TABLE = ("CREATE TABLE IF NOT EXISTS sync_cursors ("
                "name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL)")
SAVE_CURSOR = ("INSERT INTO sync_cursors (name, value, updated_at) "
               "VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) "
               "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
               "updated_at = excluded.updated_at")


def _row(values: sqlite3.Row) -> IndexRow:
    return IndexRow(
        UUID(values["event_id"]), values["content_hash"], values["subject_type"],
        values["subject_id"], values["fact_type"],
        UUID(values["retracts"]) if values["retracts"] else None, values["link_account"])


class _SQLiteAppend(AppendTx):
    def __init__(self, cursor: sqlite3.Cursor | SQLiteCursor, insert_events: str):
        self.c = cursor
        self.insert_events_statement = insert_events

    def lookup(self, event_ids: Sequence[UUID]) -> dict[UUID, IndexRow]:
        found: dict[UUID, IndexRow] = {}
        for part in chunks(list(event_ids)):
            marks = ",".join("?" * len(part))
            self.c.execute(
                f"SELECT * FROM fact_index WHERE event_id IN ({marks})",  # noqa: S608
                [e.hex for e in part])
            for values in self.c.fetchall():
                row = _row(values)
                found[row.event_id] = row
        return found

    def retracted(self, event_ids: Sequence[UUID]) -> dict[UUID, UUID]:
        found: dict[UUID, UUID] = {}
        for part in chunks(list(event_ids)):
            marks = ",".join("?" * len(part))
            self.c.execute(
                f"SELECT event_id, retracts FROM fact_index WHERE retracts IN ({marks})",  # noqa: S608
                [e.hex for e in part])
            found.update({UUID(r["retracts"]): UUID(r["event_id"]) for r in self.c.fetchall()})
        return found

    def merges_of(self, subject_type: str, alias_ids: Sequence[str]
                  ) -> list[tuple[str, str, UUID]]:
        found: list[tuple[str, str, UUID]] = []
        for part in chunks(sorted(alias_ids)):
            marks = ",".join("?" * len(part))
            self.c.execute(
                "SELECT link_account, subject_id, event_id FROM fact_index "  # noqa: S608
                f"WHERE fact_type = 'merged' AND subject_type = ? AND link_account IN ({marks})",
                [subject_type, *part])
            found += [(r[0], r[1], UUID(r[2])) for r in self.c.fetchall()]
        return found

    def last_events(self, stream_ids: Sequence[UUID]) -> dict[UUID, StoredEvent]:
        found: dict[UUID, StoredEvent] = {}
        for part in chunks(list(stream_ids)):
            marks = ",".join("?" * len(part))
            self.c.execute(
                "SELECT e.originator_id, e.originator_version, e.topic, e.state "  # noqa: S608
                "FROM stored_events e JOIN (SELECT originator_id, MAX(originator_version) AS v "
                f"FROM stored_events WHERE originator_id IN ({marks}) GROUP BY originator_id) m "
                "ON e.originator_id = m.originator_id AND e.originator_version = m.v",
                [s.hex for s in part])
            for r in self.c.fetchall():
                found[UUID(r[0])] = StoredEvent(UUID(r[0]), r[1], r[2], r[3])
        return found

    def insert(self, rows: Sequence[IndexRow], events: Sequence[StoredEvent]) -> None:
        self.c.executemany(
            "INSERT INTO fact_index VALUES (?,?,?,?,?,?,?)",
            [(r.event_id.hex, r.content_hash, r.subject_type, r.subject_id, r.fact_type,
              r.retracts.hex if r.retracts else None, r.link_account) for r in rows])
        self.c.executemany(
            self.insert_events_statement,
            [(e.originator_id.hex if isinstance(e.originator_id, UUID) else e.originator_id,
              e.originator_version, e.topic, e.state) for e in events])

    def save_cursor(self, name: str, value: str) -> None:
        self.c.execute(SAVE_CURSOR, (name, value))


class SQLiteLedgerRecorder(SQLiteApplicationRecorder, LedgerRecorder):
    dialect = "sqlite"

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), INDEX_TABLE, LINK_INDEX,
                PERSON_LINK_INDEX, CURSOR_TABLE]

    @contextmanager
    def append_transaction(self) -> Iterator[AppendTx]:
        datastore: SQLiteDatastore = self.datastore
        with datastore.get_connection(commit=True) as conn, conn.cursor() as c:
            sqlite_pragmas(c)  # durability, set before the transaction (settings.py)
            # Take the write lock before reading, so that what we read stays true
            # until we commit (a deferred BEGIN would let another writer in between).
            c.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteAppend(c, self.insert_events_statement)
            except sqlite3.IntegrityError as exc:
                conn.rollback()
                raise IntegrityError(exc) from exc
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def _select(self, where: str, params: Sequence[str]) -> list[StreamEvent]:
        statement = (
            "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM stored_events {where} ORDER BY originator_id, originator_version")
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [StreamEvent(r[0], StoredEvent(UUID(r[1]), r[2], r[3], r[4]))
                    for r in c.fetchall()]

    def select_streams(self, stream_ids: Sequence[UUID]) -> list[StreamEvent]:
        found: list[StreamEvent] = []
        for part in chunks(list(stream_ids)):
            marks = ",".join("?" * len(part))
            found += self._select(f"WHERE originator_id IN ({marks})", [s.hex for s in part])
        return found

    def select_all_streams(self) -> Iterator[StreamEvent]:
        after: tuple[str, int] = ("", 0)
        while True:
            page = self._select_page(after)
            if not page:
                return
            yield from page
            last = page[-1].event
            after = (last.originator_id.hex, last.originator_version)  # type: ignore[union-attr]

    def _select_page(self, after: tuple[str, int], size: int = 20_000) -> list[StreamEvent]:
        statement = (
            "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
            "WHERE (originator_id, originator_version) > (?, ?) "
            "ORDER BY originator_id, originator_version LIMIT ?")
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, (*after, size))
            rows = c.fetchall()
        # A stream's events come together: one UUID per stream, not per event.
        page: list[StreamEvent] = []
        text: str | None = None
        stream = UUID(int=0)
        for rowid, originator, version, topic, state in rows:
            if originator != text:
                text, stream = originator, UUID(originator)
            page.append(StreamEvent(rowid, StoredEvent(stream, version, topic, state)))
        return page

    def count_events(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT COUNT(*) FROM stored_events")
            return int(c.fetchone()[0])

    def index_rows(self, event_ids: Sequence[UUID]) -> dict[UUID, IndexRow]:
        with self.datastore.transaction(commit=False) as c:
            return _SQLiteAppend(c, self.insert_events_statement).lookup(event_ids)

    def read_cursor(self, name: str) -> str | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT value FROM sync_cursors WHERE name = ?", (name,))
            row = c.fetchone()
        return None if row is None else str(row[0])

    def count_index(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT COUNT(*) FROM fact_index")
            return int(c.fetchone()[0])

    def _links(self, where: str, ids: Sequence[str], fact_types: Sequence[str],
               extra: str = "", extra_args: Sequence[str] = ()) -> set[Link]:
        found: set[Link] = set()
        types = ",".join("?" * len(fact_types))
        with self.datastore.transaction(commit=False) as c:
            for part in chunks(sorted(ids)):
                marks = ",".join("?" * len(part))
                # Placeholders and fixed column names only.
                query = (
                    "SELECT DISTINCT fact_type, subject_type, subject_id, link_account "  # noqa: S608
                    f"FROM fact_index WHERE link_account IS NOT NULL AND {where} IN "
                    f"({marks}) AND fact_type IN ({types}){extra}")
                c.execute(query, [*part, *fact_types, *extra_args])
                found.update(Link(*row) for row in c.fetchall())
        return found

    def links_of(self, fact_types: Sequence[str], subject_type: str,
                 subject_ids: Sequence[str]) -> set[Link]:
        return self._links("subject_id", subject_ids, fact_types, " AND subject_type = ?",
                           [subject_type])

    def all_links(self, fact_types: Sequence[str]) -> Iterator[Link]:
        types = ",".join("?" * len(fact_types))
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT fact_type, subject_type, subject_id, link_account "  # noqa: S608
                      f"FROM fact_index WHERE fact_type IN ({types}) "
                      "AND link_account IS NOT NULL", list(fact_types))
            rows = c.fetchall()
        return (Link(*row) for row in rows)

    def links_to(self, fact_types: Sequence[str], linked_ids: Sequence[str]) -> set[Link]:
        return self._links("link_account", linked_ids, fact_types)
