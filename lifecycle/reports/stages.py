"""Reports as plain data: what the CLI renders and the Python API returns (SPEC §5).

Every report reads a `View`: the live read models, or a replay as known at a moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from lifecycle.domain.errors import LedgerError
from lifecycle.domain.facts import PERSON, SUBJECT_TYPES, plural
from lifecycle.domain.history import DIRECTIONS
from lifecycle.domain.timeutil import format_instant
from projections.queries import stages as queries
from projections.view import View

LEVELS = SUBJECT_TYPES
STAMP_COLUMNS = ["subject_type", "subject_id", "stage", "first_reached_at",
                 "last_reached_at", "times_reached", "inferred"]
SNAPSHOT_COLUMNS = ["event_id", "fact_type", "source", "source_id", "actor", "campaign",
                    "value", "from_stage", "account_id"]
MOVE_COLUMNS = ["subject_type", "subject_id", "occurred_at", "from_stage", "to_stage",
                "direction", "event_id"]


def _check_stage(definitions: Any, stage: str | None) -> None:
    if stage is not None and stage not in definitions.stage_by_key:
        known = ", ".join(definitions.stage_by_key)
        raise LedgerError(f"unknown stage {stage!r} (stages: {known})")


def stages(view: View, as_of: datetime, level: str = PERSON) -> dict[str, Any]:
    """Stage counts as of a moment: every defined stage, zero counts included."""
    with view.connect() as conn:
        counts = queries.stage_counts(conn, view.definitions, level, as_of)
    return {
        "as_of": format_instant(as_of),
        "known_at": format_instant(view.known_at),
        "definitions_version": view.definitions.version,
        "level": level,
        "total": sum(c.count for c in counts),
        "stages": [{"stage": c.stage, "label": c.label, "count": c.count} for c in counts],
    }


def stamps(view: View, level: str | None = None, stage: str | None = None,
           snapshot: bool = False, first_inferred: bool = False) -> list[dict[str, Any]]:
    """One row per subject and stage reached; with `snapshot`, what caused it first. With
    `first_inferred` (tables), a stage first reached by inference and really reached later
    shows `inferred` as `at first` rather than false."""
    _check_stage(view.definitions, stage)
    columns = STAMP_COLUMNS + (SNAPSHOT_COLUMNS if snapshot else [])
    with view.connect() as conn:
        rows = queries.stamps(conn, view.definitions, level, stage, first_inferred)
    out = [_out(row, columns) for row in rows]
    if first_inferred:
        for shown, row in zip(out, rows, strict=True):
            if row["first_inferred"]:
                shown["inferred"] = AT_FIRST
    return out


#: `inferred`, in tables, of a stamp first inferred and really reached later.
AT_FIRST = "at first"


def stamps_caption(rows: list[dict[str, Any]]) -> str:
    """Explains `at first` when a table shows it."""
    if not any(row.get("inferred") == AT_FIRST for row in rows):
        return ""
    return (f"inferred {AT_FIRST}: the stage was skipped on the way up (first_reached_at is "
            "that inferred time) and really reached later (last_reached_at, times_reached).")


def moves(view: View, level: str | None = None, directions: Sequence[str] = (),
          since: datetime | None = None, until: datetime | None = None
          ) -> list[dict[str, Any]]:
    """Transitions between stages, by subject then time."""
    for direction in directions:
        if direction not in DIRECTIONS:
            raise LedgerError(
                f"unknown direction {direction!r} (directions: {', '.join(DIRECTIONS)})")
    with view.connect() as conn:
        rows = queries.moves(conn, level, directions, since, until)
    return [_out(row, MOVE_COLUMNS) for row in rows]


def _out(row: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    return {name: format_instant(value) if isinstance(value, datetime) else value
            for name, value in ((c, row[c]) for c in columns)}


def caption(document: dict[str, Any]) -> str:
    return (f"{plural(document['level'])} as of {document['as_of']}"
            + (f", known at {document['known_at']}" if document["known_at"] else "")
            + f" · definitions {document['definitions_version']} · total {document['total']}")
