"""`report stages` without loading the ORM, the event store or pydantic.

A report is often the only thing a process does, so its start-up is most of its cost.
When the projection is current (its position is the log's last position, under the
latest published definitions), the counts are one indexed query away, asked with the
database driver alone; otherwise this returns None and the caller takes the full path,
which catches up first.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from lifecycle.domain.streams import DEFINITIONS_STREAM
from projections.instants import naive_utc, sqlite_text
from projections.queries.counts import Query, count_by_stage

PROJECTION = "lifecycle.stages"  # projections.writer.PROJECTION, without importing it



def stage_counts(url: str, as_of: datetime, level: str) -> dict[str, Any] | None:
    """The `report stages` document, or None when the full path must answer."""
    try:
        if url.startswith("sqlite:///") and "?" not in url:
            return _sqlite(Path(url.removeprefix("sqlite:///")), as_of, level)
        if url.startswith(("postgresql://", "postgresql+psycopg://")):
            return _postgres(url, as_of, level)
    except Exception:  # anything unexpected: the full path says what is wrong
        return None
    return None


def _sqlite(path: Path, as_of: datetime, level: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        # One read transaction: the definitions, the position and the counts all come from
        # the same moment, even if a backfill swaps the views in between.
        conn.execute("BEGIN")
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"lc_positions", "lc_stage_days", "stored_events"} <= names:
            return None

        def query(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
            return conn.execute(sql.replace("%s", "?"), params).fetchall()

        return _counts(query, "stored_events", "rowid", as_of, level, sqlite_text,
                       DEFINITIONS_STREAM.hex)
    finally:
        conn.close()


def _postgres(url: str, as_of: datetime, level: str) -> dict[str, Any] | None:
    import psycopg

    parts = urlsplit(url)
    if parts.query:
        return None
    conninfo: dict[str, Any] = {"host": parts.hostname or "127.0.0.1", "port": parts.port or 5432,
                "dbname": parts.path.lstrip("/"), "user": unquote(parts.username or "postgres"),
                "connect_timeout": 10}
    if parts.password:
        conninfo["password"] = unquote(parts.password)
    with psycopg.connect(**conninfo) as conn:
        def query(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
            return conn.execute(sql, params).fetchall()

        # One snapshot for the definitions, the position and the counts, the tables it
        # counts from locked against a swap first (as projections.schema.snapshot does;
        # a missing table fails the LOCK: then the full path answers).
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.execute("LOCK TABLE lc_intervals, lc_stage_days IN ACCESS SHARE MODE")
        exists = query("SELECT to_regclass('lc_positions'), to_regclass('lifecycle_events')",
                       ())
        if None in exists[0]:
            return None
        return _counts(query, "lifecycle_events", "notification_id", as_of, level,
                       naive_utc, DEFINITIONS_STREAM)


def _counts(query: Query, events: str, position: str, as_of: datetime, level: str,
            stored: Callable[[datetime], Any], stream: Any) -> dict[str, Any] | None:
    # The latest definitions are the last event of their own stream (its primary key),
    # not a scan of the log for their topic.
    state = query(f"SELECT state FROM {events} WHERE originator_id = %s "  # noqa: S608
                  "ORDER BY originator_version DESC LIMIT 1", (stream,))
    last = query(f"SELECT MAX({position}) FROM {events}", ())[0][0]  # noqa: S608
    if not state or last is None:
        return None
    document = json.loads(bytes(state[0][0]))["document"]
    positions = query("SELECT name, position, definitions_version FROM lc_positions", ())
    current = [p for p in positions if p[0] == PROJECTION or p[0].startswith(PROJECTION + "#")]
    if not current or any(p[1] != last or p[2] != document["version"] for p in current):
        return None
    counts = count_by_stage(query, level, as_of, stored)
    stages = [{"stage": s["key"], "label": s.get("label") or s["key"],
               "count": int(counts.get(s["key"], 0))} for s in document["stages"]]
    return {"as_of": _instant(as_of), "known_at": None,
            "definitions_version": document["version"], "level": level,
            "total": sum(s["count"] for s in stages), "stages": stages}


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
