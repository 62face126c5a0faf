"""`report stages` on SQLite without loading the ORM, the event store or pydantic.

A report is often the only thing a process does, so its start-up is most of its cost.
When the projection is current (its position is the log's last position, under the
latest published definitions), the counts are one indexed query away; otherwise this
returns None and the caller takes the full path, which catches up first.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECTION = "lifecycle.stages"  # projections.writer.PROJECTION, without importing it
DEFINITIONS_TOPIC = "lifecycle:DefinitionsPublished"


def sqlite_path(url: str) -> Path | None:
    """The file of a plain `sqlite:///PATH` URL, or None for anything else."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    path = Path(url.removeprefix("sqlite:///"))
    return path if path.is_file() else None


def stage_counts(url: str, as_of: datetime, level: str) -> dict[str, Any] | None:
    path = sqlite_path(url)
    if path is None:
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return None
    try:
        return _counts(conn, as_of, level)
    except (sqlite3.Error, ValueError, KeyError, TypeError):
        return None  # anything unexpected: the full path will say what is wrong
    finally:
        conn.close()


def _counts(conn: sqlite3.Connection, as_of: datetime, level: str) -> dict[str, Any] | None:
    events = _events_table(conn)
    if events is None:
        return None
    state = conn.execute(
        f"SELECT state FROM {events} WHERE topic = ? ORDER BY rowid DESC LIMIT 1",  # noqa: S608
        (DEFINITIONS_TOPIC,)).fetchone()
    last = conn.execute(f"SELECT MAX(rowid) FROM {events}").fetchone()[0]  # noqa: S608
    if state is None or last is None:
        return None
    document = json.loads(state[0])["document"]
    positions = conn.execute(
        "SELECT name, position, definitions_version FROM lc_positions").fetchall()
    current = [p for p in positions if p[0] == PROJECTION or p[0].startswith(PROJECTION + "#")]
    if not current or any(p[1] != last or p[2] != document["version"] for p in current):
        return None
    at = as_of.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    counts = dict(conn.execute(
        "SELECT stage, COUNT(*) FROM lc_intervals WHERE subject_type = ? AND entered_at <= ? "
        "AND (exited_at IS NULL OR exited_at > ?) GROUP BY stage", (level, at, at)).fetchall())
    stages = [{"stage": s["key"], "label": s.get("label") or s["key"],
               "count": int(counts.get(s["key"], 0))} for s in document["stages"]]
    return {"as_of": _instant(as_of), "known_at": None,
            "definitions_version": document["version"], "level": level,
            "total": sum(s["count"] for s in stages), "stages": stages}


def _events_table(conn: sqlite3.Connection) -> str | None:
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "lc_positions" not in names or "lc_intervals" not in names:
        return None
    for name in ("lifecycle_events", "stored_events"):
        if name in names:
            return name
    return None


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
