"""The ledger's recorder on SQLite (eventsourcing.sqlite, extended)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
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
from lifecycle.store.logchain import ChainRow, ChainTail, chain_all
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
#: The log chain (logchain.py): a rowid table, appended in entry order. Created with its
#: rows in one transaction (`ensure_log_chain`), never by `IF NOT EXISTS` on its own.
CHAIN_TABLE = ("CREATE TABLE log_chain (entry INTEGER PRIMARY KEY, event_id TEXT NOT NULL, "
               "hash TEXT NOT NULL, seal TEXT)")
INSERT_CHAIN = "INSERT INTO log_chain (entry, event_id, hash, seal) VALUES (?,?,?,?)"


def _stream(text: str) -> UUID | str:
    try:
        return UUID(text)
    except (TypeError, ValueError):
        return str(text)


def _row(values: sqlite3.Row) -> IndexRow:
    return IndexRow(
        UUID(values["event_id"]), values["content_hash"], values["subject_type"],
        values["subject_id"], values["fact_type"],
        UUID(values["retracts"]) if values["retracts"] else None, values["link_account"])


class _SQLiteAppend(AppendTx):
    def __init__(self, cursor: sqlite3.Cursor | SQLiteCursor, insert_events: str,
                 key: bytes | None = None):
        self.c = cursor
        self.insert_events_statement = insert_events
        self.chain = ChainTail(self._chain_head, key)

    def _chain_head(self) -> tuple[int, str] | None:
        self.c.execute("SELECT entry, hash FROM log_chain ORDER BY entry DESC LIMIT 1")
        row = self.c.fetchone()
        return (int(row[0]), str(row[1])) if row else None

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
        # In key order: the batch's entries go into the key's index as one ordered pass
        # instead of one random descent each (the table's rows are in no order anyone reads).
        self.c.executemany(
            "INSERT INTO fact_index VALUES (?,?,?,?,?,?,?)",
            sorted((r.event_id.hex, r.content_hash, r.subject_type, r.subject_id, r.fact_type,
                    r.retracts.hex if r.retracts else None, r.link_account) for r in rows))
        self.c.executemany(
            self.insert_events_statement,
            [(e.originator_id.hex if isinstance(e.originator_id, UUID) else e.originator_id,
              e.originator_version, e.topic, e.state) for e in events])
        self.c.executemany(INSERT_CHAIN, [
            (link.entry, link.event_id.hex, link.hash, link.seal)
            for link in self.chain.extend([r.event_id for r in rows], events)])

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
                yield _SQLiteAppend(c, self.insert_events_statement, self.chain_key)
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

    # ---- the log chain and the file's own check ----------------------------------------

    def has_log_chain(self) -> bool:
        with self.datastore.transaction(commit=False) as c:
            return _has_chain(c)

    def ensure_log_chain(self, event_id_of: Callable[[StoredEvent], UUID | None]) -> bool:
        if self.has_log_chain():
            return False
        with self.append_transaction() as tx:
            assert isinstance(tx, _SQLiteAppend)
            c = tx.c
            if _has_chain(c):  # another process made it meanwhile
                return False
            c.execute(CHAIN_TABLE)
            rows: list[tuple[Any, ...]] = []
            for link in chain_all(self._whole_log(c, event_id_of)):
                rows.append((link.entry, link.event_id.hex, link.hash, None))
                if len(rows) >= 5_000:
                    c.executemany(INSERT_CHAIN, rows)
                    rows = []
            c.executemany(INSERT_CHAIN, rows)
        return True

    def _whole_log(self, c: sqlite3.Cursor | SQLiteCursor,
                   event_id_of: Callable[[StoredEvent], UUID | None]
                   ) -> Iterator[tuple[UUID, StoredEvent]]:
        after = 0
        while True:
            c.execute(self._log_statement, (after, 5_000))
            page = [StreamEvent(r[0], StoredEvent(_stream(r[1]), r[2], r[3], r[4]))
                    for r in c.fetchall()]
            if not page:
                return
            for item in page:
                yield event_id_of(item.event) or UUID(int=0), item.event
            after = page[-1].seq

    @property
    def _log_statement(self) -> str:
        return ("SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608
                f"FROM {self.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?")

    def select_log(self, after: int, limit: int) -> list[StreamEvent]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self._log_statement, (after, limit))
            return [StreamEvent(r[0], StoredEvent(_stream(r[1]), r[2], r[3], r[4]))
                    for r in c.fetchall()]

    def log_bounds(self) -> tuple[int, int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT (SELECT MAX(rowid) FROM {self.events_table_name}), "  # noqa: S608
                      "(SELECT MAX(entry) FROM log_chain)")
            last, entry = c.fetchone()
            return int(last or 0), int(entry or 0)

    def select_chain(self, after: int, limit: int) -> list[ChainRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT entry, event_id, hash, seal FROM log_chain WHERE entry > ? "
                      "ORDER BY entry LIMIT ?", (after, limit))
            return [ChainRow(int(r[0]), _uuid(r[1]), str(r[2]), r[3]) for r in c.fetchall()]

    def check_storage(self) -> tuple[list[str], list[str]]:
        """SQLite's `PRAGMA integrity_check`: pages, records, and that every index holds
        exactly its table's rows (`quick_check` would skip that last part)."""
        try:
            with self.datastore.transaction(commit=False) as c:
                c.execute("PRAGMA integrity_check(20)")
                lines = [str(r[0]) for r in c.fetchall()]
        except sqlite3.DatabaseError as exc:
            lines = [str(exc)]
        if lines == ["ok"]:
            return [], []
        return [f"SQLite's integrity check: {line}" for line in lines] + [
            "  the database file is damaged: copy it aside first; `REINDEX` rebuilds damaged "
            "indexes from their tables, damaged tables need a backup"], []


def _has_chain(c: sqlite3.Cursor | SQLiteCursor) -> bool:
    c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'log_chain'")
    return c.fetchone() is not None


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except (TypeError, ValueError):
        return UUID(int=0)
