"""Helpers for the tests that attack a store: its whole state as one value (to show that a
refused or failed command left it exactly as it was), and its size in facts."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url


def state(url: str) -> str:
    """A digest of everything the store holds: every table's rows, the schema included
    (SQLite: the whole dump; PostgreSQL: each table of the schema, rows sorted)."""
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(f"file:{url.removeprefix('sqlite:///')}?mode=ro",
                                     uri=True)) as conn:
            return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    import psycopg

    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                         dbname=parsed.database, autocommit=True) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' ORDER BY table_name")]
        digest = hashlib.sha256("\n".join(names).encode())
        for name in names:
            row = conn.execute(
                f'SELECT count(*), md5(coalesce(string_agg(t::text, \'|\' ORDER BY t::text), '
                f'\'\')) FROM "{name}" t').fetchone()
            digest.update(f"{name}:{row}".encode())
        return digest.hexdigest()


def events(url: str) -> int:
    """How many events the log holds (facts and published definitions)."""
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(f"file:{url.removeprefix('sqlite:///')}?mode=ro",
                                     uri=True)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
    import psycopg

    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                         dbname=parsed.database, autocommit=True) as conn:
        row = conn.execute("SELECT COUNT(*) FROM lifecycle_events").fetchone()
        return int(row[0]) if row else 0


def shadow_tables(url: str) -> list[str]:
    """Shadow tables (`lc_next_*`) a build left behind."""
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            return [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE name LIKE 'lc_next_%'")]
    import psycopg

    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                         dbname=parsed.database, autocommit=True) as conn:
        return [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE 'lc\\_next\\_%'")]


def sqlite_file(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))
