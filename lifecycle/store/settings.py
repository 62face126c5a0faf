"""Turning a `--db` URL into an eventsourcing recorder: the one place that does it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment, get_topic
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from lifecycle.store.base import LedgerRecorder

#: Seconds to wait for a PostgreSQL connection before giving up.
CONNECT_TIMEOUT = 10

#: SQLite durability (docs/reliability.md). The journal is WAL (eventsourcing sets it on
#: the file); `synchronous = FULL` syncs the WAL at every commit, so a fact reported stored
#: survives a power cut too, not only a crash. Set here, once, for every connection: the
#: event store's (`SQLiteLedgerRecorder.append_transaction`) and the read models' engine
#: (`Ledger`'s connect hook), whatever the SQLite build's default.
SQLITE_SYNCHRONOUS = "FULL"


def sqlite_pragmas(cursor: Any) -> None:
    """Apply the ledger's per-connection SQLite settings through `cursor`."""
    cursor.execute(f"PRAGMA synchronous = {SQLITE_SYNCHRONOUS}")


class StoreURLError(ValueError):
    """A `--db` URL that names no store the ledger can use."""


def parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise StoreURLError(f"not a database URL: {redact(url)!r}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreURLError(
            f"unsupported database {parsed.get_backend_name()!r} in {redact(url)!r}: "
            "use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB")
    return parsed


def redact(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unreadable URL>"


def sqlalchemy_url(url: str) -> URL:
    """The URL SQLAlchemy should use for the read models (psycopg 3 on PostgreSQL)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return parsed


def eventsourcing_env(url: str) -> dict[str, str]:
    """eventsourcing's settings for the store named by `url`."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        from lifecycle.store.sqlite import SQLiteLedgerRecorder

        database = parsed.database or ""
        if not database or database == ":memory:":
            raise StoreURLError("the ledger needs a SQLite file: sqlite:///PATH")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(Path(database)),
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": get_topic(SQLiteLedgerRecorder),
        }
    from lifecycle.store.postgres import PostgresLedgerRecorder

    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parsed.database or "",
        "POSTGRES_HOST": parsed.host or "127.0.0.1",
        "POSTGRES_PORT": str(parsed.port or 5432),
        "POSTGRES_USER": parsed.username or "postgres",
        "POSTGRES_PASSWORD": parsed.password or "",
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "4",
        "POSTGRES_LOCK_TIMEOUT": "30",
        "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "APPLICATION_RECORDER_TOPIC": get_topic(PostgresLedgerRecorder),
    }


def check_reachable(url: str) -> None:
    """Fail fast, naming the store, when a PostgreSQL server cannot be reached.

    (eventsourcing's pool retries until its timeout and then says only that it
    "couldn't get a connection"; libpq's own message says why.)"""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    import psycopg  # here: a SQLite ledger never loads the PostgreSQL driver

    try:
        psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                        user=parsed.username or "postgres", password=parsed.password or "",
                        dbname=parsed.database or "", connect_timeout=CONNECT_TIMEOUT).close()
    except psycopg.OperationalError as exc:
        reason = str(exc).splitlines()[0].split(" failed: ")[-1].strip()
        raise StoreURLError(f"cannot connect to {redact(url)}: {reason}") from None


def open_recorder(url: str, create_tables: bool = True
                  ) -> tuple[LedgerRecorder, InfrastructureFactory]:
    """The ledger's event-store recorder for `url`, tables created if needed (and wanted:
    not on a read replica)."""
    check_reachable(url)
    env = Environment(name="LIFECYCLE", env={
        **eventsourcing_env(url), "CREATE_TABLE": "yes" if create_tables else "no"})
    factory = InfrastructureFactory.construct(env)
    recorder = factory.application_recorder()
    assert isinstance(recorder, LedgerRecorder)
    return recorder, factory
