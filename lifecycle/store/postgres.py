"""The ledger's recorder on PostgreSQL (eventsourcing.postgres, extended)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from lifecycle.store.base import AppendTx, IndexRow, LedgerRecorder, Link, StreamEvent
from lifecycle.store.logchain import ChainRow, ChainTail, chain_all

INDEX_TABLE = (
    "CREATE TABLE IF NOT EXISTS {schema}.fact_index ("
    "event_id uuid PRIMARY KEY, "
    "content_hash text NOT NULL, "
    "subject_type text NOT NULL, "
    "subject_id text NOT NULL, "
    "fact_type text NOT NULL, "
    "retracts uuid UNIQUE, "
    "link_account text)"
)
LINK_INDEX = ("CREATE INDEX IF NOT EXISTS fact_index_links ON {schema}.fact_index "
              "(link_account, subject_id) WHERE link_account IS NOT NULL")
#: The other way round: a person's accounts (every catch-up of a person asks).
PERSON_LINK_INDEX = ("CREATE INDEX IF NOT EXISTS fact_index_person_links ON "
                     "{schema}.fact_index (subject_id, link_account) "
                     "WHERE link_account IS NOT NULL")
#: How far `lifecycle sync` has read each CRM object (an opaque value per cursor name).
CURSOR_TABLE = ("CREATE TABLE IF NOT EXISTS {schema}.sync_cursors ("
                "name text PRIMARY KEY, value text NOT NULL, "
                "updated_at timestamptz NOT NULL DEFAULT now())")
#: The log chain (logchain.py), appended in entry order. Created with its rows in one
#: transaction (`ensure_log_chain`), never by `IF NOT EXISTS` on its own.
CHAIN_TABLE = ("CREATE TABLE {schema}.log_chain (entry bigint PRIMARY KEY, "
               "event_id uuid NOT NULL, hash text NOT NULL, seal text)")


#: Advisory lock key held while creating the schema (any constant the ledger owns).
SCHEMA_LOCK = 0x6C6966656379  # "lifecy"


def _row(values: dict[str, Any]) -> IndexRow:
    return IndexRow(values["event_id"], values["content_hash"], values["subject_type"],
                    values["subject_id"], values["fact_type"], values["retracts"],
                    values["link_account"])


class _PostgresAppend(AppendTx):
    def __init__(self, recorder: PostgresLedgerRecorder, cursor: psycopg.Cursor[Any]):
        self.recorder = recorder
        self.c = cursor
        self.table = recorder.table
        self.chain = ChainTail(self._chain_head, recorder.chain_key)

    def _chain_head(self) -> tuple[int, str] | None:
        self.c.execute(SQL("SELECT entry, hash FROM {}.log_chain ORDER BY entry DESC LIMIT 1")
                       .format(Identifier(self.recorder.schema)))
        row = self.c.fetchone()
        return (int(row["entry"]), str(row["hash"])) if row else None

    def copy_chain(self, links: Sequence[ChainRow]) -> None:
        with self.c.copy(SQL("COPY {}.log_chain (entry, event_id, hash, seal) FROM STDIN")
                         .format(Identifier(self.recorder.schema))) as copy:
            for link in links:
                copy.write_row((link.entry, link.event_id, link.hash, link.seal))

    def lookup(self, event_ids: Sequence[UUID]) -> dict[UUID, IndexRow]:
        self.c.execute(
            SQL("SELECT * FROM {}.fact_index WHERE event_id = ANY(%s)").format(
                Identifier(self.recorder.schema)), [list(event_ids)])
        return {row.event_id: row for row in map(_row, self.c.fetchall())}

    def retracted(self, event_ids: Sequence[UUID]) -> dict[UUID, UUID]:
        self.c.execute(
            SQL("SELECT event_id, retracts FROM {}.fact_index WHERE retracts = ANY(%s)").format(
                Identifier(self.recorder.schema)), [list(event_ids)])
        return {r["retracts"]: r["event_id"] for r in self.c.fetchall()}

    def merges_of(self, subject_type: str, alias_ids: Sequence[str]
                  ) -> list[tuple[str, str, UUID]]:
        self.c.execute(
            SQL("SELECT link_account, subject_id, event_id FROM {}.fact_index WHERE "
                "fact_type = 'merged' AND subject_type = %s AND link_account = ANY(%s)").format(
                Identifier(self.recorder.schema)), [subject_type, list(alias_ids)])
        return [(r["link_account"], r["subject_id"], r["event_id"]) for r in self.c.fetchall()]

    def last_events(self, stream_ids: Sequence[UUID]) -> dict[UUID, StoredEvent]:
        self.c.execute(
            SQL("SELECT DISTINCT ON (originator_id) originator_id, originator_version, topic, "
                "state FROM {} WHERE originator_id = ANY(%s) "
                "ORDER BY originator_id, originator_version DESC").format(self.table),
            [list(stream_ids)])
        return {r["originator_id"]: StoredEvent(r["originator_id"], r["originator_version"],
                                                r["topic"], bytes(r["state"]))
                for r in self.c.fetchall()}

    def insert(self, rows: Sequence[IndexRow], events: Sequence[StoredEvent]) -> None:
        # COPY, not executemany: a batch is one stream of rows instead of a statement per
        # row (3.5 s of 7 s per 100k facts went to the two INSERTs). A duplicate key fails
        # the COPY as it would an INSERT, so the caller's reclassify-and-retry is unchanged.
        with self.c.copy(SQL(
                "COPY {}.fact_index (event_id, content_hash, subject_type, subject_id, "
                "fact_type, retracts, link_account) FROM STDIN").format(
                    Identifier(self.recorder.schema))) as copy:
            for r in rows:
                copy.write_row((r.event_id, r.content_hash, r.subject_type, r.subject_id,
                                r.fact_type, r.retracts, r.link_account))
        self.recorder._notify_channel(self.c)
        with self.c.copy(SQL(
                "COPY {} (originator_id, originator_version, topic, state) FROM STDIN"
                ).format(self.table)) as copy:
            for e in events:
                copy.write_row((e.originator_id, e.originator_version, e.topic, e.state))
        self.copy_chain(self.chain.extend([r.event_id for r in rows], events))

    def save_cursor(self, name: str, value: str) -> None:
        self.c.execute(SQL(
            "INSERT INTO {}.sync_cursors (name, value) VALUES (%s, %s) ON CONFLICT (name) "
            "DO UPDATE SET value = excluded.value, updated_at = now()").format(
                Identifier(self.recorder.schema)), [name, value])


class PostgresLedgerRecorder(PostgresApplicationRecorder, LedgerRecorder):
    dialect = "postgresql"

    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.schema = self.datastore.schema
        self.table = SQL("{}.{}").format(Identifier(self.schema),
                                         Identifier(self.events_table_name))
        for statement in (INDEX_TABLE, LINK_INDEX, PERSON_LINK_INDEX, CURSOR_TABLE):
            self.sql_create_statements.append(
                SQL(statement).format(schema=Identifier(self.schema)))

    @contextmanager
    def _reading(self) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor for one read. eventsourcing's connections are in autocommit mode, so a
        single statement is its own snapshot: no BEGIN and ROLLBACK round trips."""
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            yield cursor

    def create_table(self) -> None:
        # eventsourcing creates its types, tables and insert function with statements
        # PostgreSQL refuses to run twice at once ("tuple concurrently updated"): two
        # processes opening a new store together take turns.
        # Most opens find everything in place: then nothing is created at all, which also
        # keeps an open from racing a killed process's session still creating them.
        if self._schema_exists():
            return
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", [SCHEMA_LOCK])
            try:
                super().create_table()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", [SCHEMA_LOCK])

    def _schema_exists(self) -> bool:
        names = [self.events_table_name, "fact_index", "fact_index_links",
                 "fact_index_person_links", "sync_cursors"]
        with self._reading() as c:
            c.execute("SELECT bool_and(to_regclass(format('%%I.%%I', %s::text, n)) IS NOT NULL) "
                      "AS ok FROM unnest(%s::text[]) AS n", [self.schema, names])
            row = c.fetchone()
        return bool(row and row["ok"])

    @contextmanager
    def append_transaction(self) -> Iterator[AppendTx]:
        try:
            with self.datastore.transaction(commit=True) as curs:
                # The same EXCLUSIVE lock eventsourcing takes to insert: writers queue, so
                # notification ids commit in order and readers never pass over a gap
                # that fills in later. Taken first, so what we read stays true.
                self._lock_table(curs)
                yield _PostgresAppend(self, curs)
        except psycopg.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    def _select(self, where: SQL, params: Sequence[Any], limit: int | None = None
                ) -> list[StreamEvent]:
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {} {} ORDER BY originator_id, originator_version").format(self.table, where)
        if limit is not None:
            statement += SQL(" LIMIT {}").format(limit)
        with self._reading() as c:
            c.execute(statement, params)
            return [StreamEvent(r["notification_id"], StoredEvent(
                r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"])))
                for r in c.fetchall()]

    def select_streams(self, stream_ids: Sequence[UUID]) -> list[StreamEvent]:
        return self._select(SQL("WHERE originator_id = ANY(%s)"), [list(stream_ids)])

    def select_all_streams(self) -> Iterator[StreamEvent]:
        after: tuple[Any, int] = (UUID(int=0), -1)
        while True:
            page = self._select(SQL("WHERE (originator_id, originator_version) > (%s, %s)"),
                                after, limit=20_000)
            if not page:
                return
            yield from page
            last = page[-1].event
            after = (last.originator_id, last.originator_version)

    def index_rows(self, event_ids: Sequence[UUID]) -> dict[UUID, IndexRow]:
        with self._reading() as c:
            return _PostgresAppend(self, c).lookup(event_ids)

    def read_cursor(self, name: str) -> str | None:
        with self._reading() as c:
            c.execute(SQL("SELECT value FROM {}.sync_cursors WHERE name = %s").format(
                Identifier(self.schema)), [name])
            row = c.fetchone()
        return None if row is None else str(row["value"])

    def count_index(self) -> int:
        with self._reading() as c:
            c.execute(SQL("SELECT COUNT(*) AS n FROM {}.fact_index").format(
                Identifier(self.schema)))
            row = c.fetchone()
            assert row is not None
            return int(row["n"])

    def _links(self, where: str, ids: Sequence[str], fact_types: Sequence[str],
               subject_type: str | None = None) -> set[Link]:
        with self._reading() as c:
            c.execute(SQL("SELECT DISTINCT fact_type, subject_type, subject_id, link_account "
                          "FROM {}.fact_index WHERE link_account IS NOT NULL AND {} = ANY(%s) "
                          "AND fact_type = ANY(%s) AND (%s::text IS NULL OR subject_type = %s)"
                          ).format(Identifier(self.schema), Identifier(where)),
                      [list(ids), list(fact_types), subject_type, subject_type])
            return {Link(r["fact_type"], r["subject_type"], r["subject_id"], r["link_account"])
                    for r in c.fetchall()}

    def links_of(self, fact_types: Sequence[str], subject_type: str,
                 subject_ids: Sequence[str]) -> set[Link]:
        return self._links("subject_id", subject_ids, fact_types, subject_type)

    def all_links(self, fact_types: Sequence[str]) -> Iterator[Link]:
        with self._reading() as c:
            c.execute(SQL("SELECT fact_type, subject_type, subject_id, link_account FROM "
                          "{}.fact_index WHERE fact_type = ANY(%s) AND link_account IS NOT NULL"
                          ).format(Identifier(self.schema)), [list(fact_types)])
            rows = c.fetchall()
        return (Link(r["fact_type"], r["subject_type"], r["subject_id"], r["link_account"])
                for r in rows)

    def links_to(self, fact_types: Sequence[str], linked_ids: Sequence[str]) -> set[Link]:
        return self._links("link_account", linked_ids, fact_types)

    def count_events(self) -> int:
        with self._reading() as c:
            c.execute(SQL("SELECT COUNT(*) AS n FROM {}").format(self.table))
            row = c.fetchone()
            assert row is not None
            return int(row["n"])

    # ---- the log chain and the server's own check ----------------------------------------

    def has_log_chain(self) -> bool:
        with self._reading() as c:
            return _has_chain(c, self.schema)

    def ensure_log_chain(self, event_id_of: Callable[[StoredEvent], UUID | None]) -> bool:
        if self.has_log_chain():
            return False
        with self.append_transaction() as tx:  # the events table locked: nobody appends
            assert isinstance(tx, _PostgresAppend)
            if _has_chain(tx.c, self.schema):  # another process made it meanwhile
                return False
            tx.c.execute(SQL(CHAIN_TABLE).format(schema=Identifier(self.schema)))
            links = chain_all(self._whole_log(tx.c, event_id_of))
            tx.copy_chain(list(links))
        return True

    def _whole_log(self, c: psycopg.Cursor[Any],
                   event_id_of: Callable[[StoredEvent], UUID | None]
                   ) -> Iterator[tuple[UUID, StoredEvent]]:
        after = 0
        while page := self._log_page(c, after, 5_000):
            for item in page:
                yield event_id_of(item.event) or UUID(int=0), item.event
            after = page[-1].seq

    def _log_page(self, c: psycopg.Cursor[Any], after: int, limit: int) -> list[StreamEvent]:
        c.execute(SQL("SELECT notification_id, originator_id, originator_version, topic, "
                      "state FROM {} WHERE notification_id > %s ORDER BY notification_id "
                      "LIMIT %s").format(self.table), [after, limit])
        return [StreamEvent(r["notification_id"], StoredEvent(
            r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"])))
            for r in c.fetchall()]

    def select_log(self, after: int, limit: int) -> list[StreamEvent]:
        with self._reading() as c:
            return self._log_page(c, after, limit)

    def log_bounds(self) -> tuple[int, int]:
        with self._reading() as c:  # one statement: one snapshot
            c.execute(SQL("SELECT (SELECT MAX(notification_id) FROM {}) AS last, "
                          "(SELECT MAX(entry) FROM {}.log_chain) AS entry").format(
                self.table, Identifier(self.schema)))
            row = c.fetchone()
            assert row is not None
            return int(row["last"] or 0), int(row["entry"] or 0)

    def select_chain(self, after: int, limit: int) -> list[ChainRow]:
        with self._reading() as c:
            c.execute(SQL("SELECT entry, event_id, hash, seal FROM {}.log_chain "
                          "WHERE entry > %s ORDER BY entry LIMIT %s").format(
                Identifier(self.schema)), [after, limit])
            return [ChainRow(int(r["entry"]), r["event_id"], r["hash"], r["seal"])
                    for r in c.fetchall()]

    def check_storage(self) -> tuple[list[str], list[str]]:
        """PostgreSQL's amcheck, where the database has it: every B-tree index checked
        against its table (`bt_index_check` with `heapallindexed`), every table's pages
        (`verify_heapam`)."""
        with self._reading() as c:
            c.execute("SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n "
                      "ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'")
            row = c.fetchone()
            if row is None:
                return [], ["PostgreSQL's own check skipped: the amcheck extension is not "
                            "installed in this database (`CREATE EXTENSION amcheck;` as a "
                            "superuser lets verify run it)"]
            try:
                return _amcheck(c, row["schema"]), []
            except psycopg.errors.InsufficientPrivilege as exc:
                return [], [f"PostgreSQL's own check skipped: {str(exc).splitlines()[0]}"]


def _has_chain(c: psycopg.Cursor[Any], schema: str) -> bool:
    c.execute("SELECT to_regclass(format('%%I.log_chain', %s::text)) IS NOT NULL AS ok",
              [schema])
    row = c.fetchone()
    return bool(row and row["ok"])


_USER_RELATIONS = ("FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
                   "AND n.nspname NOT LIKE 'pg\\_%%' AND c.relpersistence = 'p' ")


def _amcheck(c: psycopg.Cursor[Any], schema: str) -> list[str]:
    problems: list[str] = []
    c.execute("SELECT c.oid::regclass::text AS name " + _USER_RELATIONS +  # noqa: S608
              "AND c.relkind = 'i' AND c.relam = (SELECT oid FROM pg_am WHERE amname = "
              "'btree') AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indexrelid = c.oid "
              "AND i.indisvalid AND i.indisready) ORDER BY 1")
    for (name,) in [tuple(r.values()) for r in c.fetchall()]:
        try:
            c.execute(SQL("SELECT {}.bt_index_check(%s::regclass, true)").format(
                Identifier(schema)), [name])
        except psycopg.errors.InsufficientPrivilege:
            raise
        except psycopg.Error as exc:
            problems.append(f"PostgreSQL's amcheck: index {name}: "
                            f"{str(exc).splitlines()[0]}")
    c.execute("SELECT c.oid::regclass::text AS name " + _USER_RELATIONS +
              "AND c.relkind = 'r' ORDER BY 1")
    for (name,) in [tuple(r.values()) for r in c.fetchall()]:
        try:
            c.execute(SQL("SELECT blkno, offnum, msg FROM {}.verify_heapam(%s::regclass)")
                      .format(Identifier(schema)), [name])
        except psycopg.errors.UndefinedFunction:
            break  # amcheck before 1.3: indexes only
        except psycopg.errors.InsufficientPrivilege:
            raise
        except psycopg.Error as exc:
            problems.append(f"PostgreSQL's amcheck: table {name}: "
                            f"{str(exc).splitlines()[0]}")
            continue
        problems += [f"PostgreSQL's amcheck: table {name}, page {r['blkno']}, item "
                     f"{r['offnum']}: {r['msg']}" for r in c.fetchall()[:20]]
    if problems:
        problems.append("  the database is damaged: keep a copy (pg_dump may fail on "
                        "damaged pages), then REINDEX damaged indexes; damaged tables need "
                        "a backup")
    return problems
