"""The SQLAlchemy engines of the read models: the store's own (its pragmas on SQLite), and
a scratch copy's for replays that are thrown away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from lifecycle.store.settings import read_models_engine_args, sqlite_pragmas


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, read_only: bool = False) -> None:
    cursor = dbapi_connection.cursor()
    # Durability and the lock timeout: the same settings as the event store's.
    sqlite_pragmas(cursor, read_only)
    cursor.close()


def _sqlite_read_only_pragmas(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record, read_only=True)


def _scratch_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """A scratch copy is private and thrown away: no journal, no syncing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode = OFF")
    cursor.execute("PRAGMA synchronous = OFF")
    cursor.execute("PRAGMA busy_timeout = 600000")
    cursor.close()


def read_models_engine(url: str, read_only: bool) -> Engine:
    """The engine of the store's read models (`url` as the user gave it)."""
    sa_url, connect_args = read_models_engine_args(url, read_only)
    if sa_url.get_backend_name() == "sqlite":
        engine = create_engine(sa_url, connect_args=connect_args)
        event.listen(engine, "connect",
                     _sqlite_read_only_pragmas if read_only else _sqlite_pragmas)
        return engine
    return create_engine(sa_url, pool_size=2, max_overflow=2, connect_args=connect_args)


def scratch_engine(path: Path | str | None) -> Engine:
    """A one-connection SQLite engine for a scratch copy: in memory, or the file `path`."""
    engine = create_engine(f"sqlite:///{path}" if path else "sqlite://",
                           poolclass=StaticPool, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _scratch_pragmas)
    return engine
