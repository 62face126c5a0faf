"""Turning a `--db` URL into an eventsourcing recorder: the one place that does it.

A store opened read-only (`--read-only`) cannot be written through any connection the
ledger makes: SQLite files are opened with `mode=ro` (and `PRAGMA query_only`), PostgreSQL
sessions start with `default_transaction_read_only = on`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment, get_topic
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from lifecycle.store.base import LedgerRecorder

#: Seconds to wait for a PostgreSQL connection before giving up.
CONNECT_TIMEOUT = 10

#: Seconds a write waits for another writer's lock before it fails with `Error:`.
LOCK_TIMEOUT = 30

#: SQLite durability (docs/reliability.md). The journal is WAL (eventsourcing sets it on
#: the file); `synchronous = FULL` syncs the WAL at every commit, so a fact reported stored
#: survives a power cut too, not only a crash. Set here, once, for every connection: the
#: event store's (`SQLiteLedgerRecorder.append_transaction`) and the read models' engine
#: (`Ledger`'s connect hook), whatever the SQLite build's default.
SQLITE_SYNCHRONOUS = "FULL"

#: SQLite's page cache per connection, in KiB (a negative cache_size is KiB): 64 MiB instead
#: of the 2 MiB default. An import batch writes index entries keyed by random uuid5 values
#: all over a file of gigabytes; with the default cache every batch evicts and re-reads the
#: pages the next one needs (bench/bench.py, "import, storing only"). Memory is taken only
#: as pages are read, so small stores and short reads pay nothing.
SQLITE_CACHE_KIB = 65_536


#: What a read-only PostgreSQL session is started with: every transaction read-only.
PG_READ_ONLY = "-c default_transaction_read_only=on"


def sqlite_pragmas(cursor: Any, read_only: bool = False) -> None:
    """Apply the ledger's per-connection SQLite settings through `cursor`."""
    cursor.execute(f"PRAGMA synchronous = {SQLITE_SYNCHRONOUS}")
    cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    cursor.execute(f"PRAGMA busy_timeout = {LOCK_TIMEOUT * 1000}")
    if read_only:
        cursor.execute("PRAGMA query_only = ON")


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


#: Query parameters that carry a secret (libpq's `?password=` and its relatives).
SECRET_PARAMETERS = frozenset({"password", "passwd", "pwd", "sslpassword", "pass"})


def redact(url: str) -> str:
    """The URL with any password hidden, for messages: `user:***@`, and `***` for a
    password given as a query parameter (`?password=...`)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return "<unreadable URL>"
    text = parsed.render_as_string(hide_password=True)
    if "?" in text and any(k.lower() in SECRET_PARAMETERS for k in parsed.query):
        base, query = text.split("?", 1)
        pairs = [(k, "***" if k.lower() in SECRET_PARAMETERS else v)
                 for k, v in parse_qsl(query, keep_blank_values=True)]
        text = f"{base}?{urlencode(pairs, safe='*')}"
    return text


def scrub(text: str, url: str) -> str:
    """`text` with `url` shown redacted and its passwords, wherever they appear, as ***."""
    if url and url in text:
        text = text.replace(url, redact(url))
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return text


def _secrets(url: str) -> list[str]:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return []
    found = [parsed.password] if parsed.password else []
    for key, value in parsed.query.items():
        if key.lower() in SECRET_PARAMETERS:
            found += [value] if isinstance(value, str) else list(value)
    return [str(s) for s in found if s and len(str(s)) >= 3]


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite store URL (None for PostgreSQL)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise StoreURLError("the ledger needs a SQLite file: sqlite:///PATH")
    return Path(database)


def sqlite_read_only_uri(path: Path) -> str:
    """The SQLite URI that opens `path` so that nothing can write through it."""
    return f"file:{quote(str(path.absolute()))}?mode=ro"


def check_read_only_store(url: str) -> None:
    """A read-only open never creates a store: the SQLite file must be there."""
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise StoreURLError(f"no store at {redact(url)}: --read-only opens an existing "
                            "store and never creates one")


def sqlalchemy_url(url: str) -> URL:
    """The URL SQLAlchemy should use for the read models (psycopg 3 on PostgreSQL)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return parsed


def eventsourcing_env(url: str, read_only: bool = False) -> dict[str, str]:
    """eventsourcing's settings for the store named by `url`."""
    parsed = parse_url(url)
    path = sqlite_path(url)
    if path is not None:
        from lifecycle.store.sqlite import SQLiteLedgerRecorder

        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": sqlite_read_only_uri(path) if read_only else str(path),
            "SQLITE_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
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
        "POSTGRES_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
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


def prepare_sqlite_file(path: Path) -> None:
    """A new SQLite store's file is made with `auto_vacuum = INCREMENTAL` (which can be set
    only before its first table), so that the pages a rebuild frees can be given back
    (`projections.schema.reclaim_free_pages`). An existing file is left as it is."""
    if path.exists() and path.stat().st_size > 0:
        return
    import sqlite3

    from lifecycle.store.sqlite import CURSOR_TABLE

    conn = sqlite3.connect(path, timeout=LOCK_TIMEOUT)
    try:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        with conn:  # the first table writes the header that keeps the mode
            conn.execute(CURSOR_TABLE)
    finally:
        conn.close()


def open_recorder(url: str, read_only: bool = False
                  ) -> tuple[LedgerRecorder, InfrastructureFactory]:
    """The ledger's event-store recorder for `url`, tables created if needed; read-only:
    nothing created, and no connection can write."""
    if read_only:
        check_read_only_store(url)
    check_reachable(url)
    path = sqlite_path(url)
    if path is not None and not read_only:
        prepare_sqlite_file(path)
    env = Environment(name="LIFECYCLE", env={
        **eventsourcing_env(url, read_only), "CREATE_TABLE": "no" if read_only else "yes"})
    factory = InfrastructureFactory.construct(env)
    if read_only:
        pool: Any = factory.datastore.pool  # type: ignore[attr-defined]
        if parse_url(url).get_backend_name() == "postgresql":
            # The pool opens its connections on first use, with these arguments.
            pool.kwargs["options"] = PG_READ_ONLY
        else:
            # Never switch a read-only file to WAL (a write): read it in the mode it has.
            pool.is_journal_mode_wal = True
    recorder = factory.application_recorder()
    assert isinstance(recorder, LedgerRecorder)
    return recorder, factory


def read_models_engine_args(url: str, read_only: bool = False
                            ) -> tuple[URL, dict[str, Any]]:
    """The SQLAlchemy URL and `connect_args` of the read models' engine."""
    sa_url = sqlalchemy_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if read_only:
            path = sqlite_path(url)
            assert path is not None
            sa_url = URL.create("sqlite", database=sqlite_read_only_uri(path).split("?")[0],
                                query={"mode": "ro", "uri": "true"})
        return sa_url, {"timeout": LOCK_TIMEOUT}
    return sa_url, {"options": PG_READ_ONLY} if read_only else {}
