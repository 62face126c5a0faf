"""Turning a `--db` URL into an eventsourcing recorder: the one place that does it."""

from __future__ import annotations

from pathlib import Path

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment, get_topic
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from lifecycle.store.base import LedgerRecorder


class StoreURLError(ValueError):
    """A `--db` URL that names no store the ledger can use."""


def parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
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
    except ArgumentError:
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
        "APPLICATION_RECORDER_TOPIC": get_topic(PostgresLedgerRecorder),
    }


def open_recorder(url: str) -> tuple[LedgerRecorder, InfrastructureFactory]:
    """The ledger's event-store recorder for `url`, tables created if needed."""
    env = Environment(name="LIFECYCLE", env=eventsourcing_env(url))
    factory = InfrastructureFactory.construct(env)
    recorder = factory.application_recorder()
    assert isinstance(recorder, LedgerRecorder)
    return recorder, factory
