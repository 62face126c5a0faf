"""Queries behind the analytics reports (funnel, velocity, aging, timeline, flow; SLA,
flags and signals: `status_queries`). They return plain rows; the arithmetic is in
`lifecycle`.

Instants compare as stored (naive UTC), so every bound is inclusive below and exclusive
above unless a docstring says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from projections import tables

Row = dict[str, Any]
#: Ids per `IN (...)` list.
CHUNK = 500


def _rows(conn: Connection, query: Any) -> list[Row]:
    result = conn.execute(query)
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result.all()]


def _in_range(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


def cohort(conn: Connection, level: str, stage: str, start: datetime | None,
           end: datetime | None) -> list[Row]:
    """Subjects that first reached `stage` in [start, end), with its first-reached
    snapshot's source and campaign."""
    s = tables.stamps
    query = select(s.c.subject_id, s.c.first_reached_at, s.c.inferred, s.c.source,
                   s.c.campaign).where(s.c.subject_type == level, s.c.stage == stage,
                                       *_in_range(s.c.first_reached_at, start, end))
    return _rows(conn, query)


def cohort_stamps(conn: Connection, level: str, stage: str, start: datetime | None,
                  end: datetime | None, later: Sequence[str]) -> list[Row]:
    """The stamps in `later` stages of the subjects in `cohort(...)`."""
    s, t = tables.stamps.alias("s"), tables.stamps.alias("t")
    query = (
        select(t.c.subject_id, t.c.stage, t.c.first_reached_at, t.c.inferred)
        .join(s, and_(s.c.subject_type == t.c.subject_type,
                      s.c.subject_id == t.c.subject_id))
        .where(s.c.subject_type == level, s.c.stage == stage,
               *_in_range(s.c.first_reached_at, start, end), t.c.stage.in_(list(later))))
    return _rows(conn, query)


def stamps_in(conn: Connection, level: str, stages: Sequence[str]) -> list[Row]:
    """Every stamp of `level` in `stages`: subject, stage, first reached, inferred."""
    s = tables.stamps
    query = select(s.c.subject_id, s.c.stage, s.c.first_reached_at, s.c.inferred).where(
        s.c.subject_type == level, s.c.stage.in_(list(stages)))
    return _rows(conn, query)


def move_times(conn: Connection, level: str, stages: Sequence[str], since: datetime | None,
               until: datetime | None) -> list[Row]:
    """Moves into or out of `stages` in [since, until): from, to, direction, when."""
    m = tables.moves
    query = select(m.c.from_stage, m.c.to_stage, m.c.direction, m.c.occurred_at).where(
        m.c.subject_type == level,
        or_(m.c.from_stage.in_(list(stages)), m.c.to_stage.in_(list(stages))),
        *_in_range(m.c.occurred_at, since, until))
    return _rows(conn, query)


def flow(conn: Connection, level: str, since: datetime | None, until: datetime | None
         ) -> list[Row]:
    """How many moves went from each stage to each other, by direction, in [since, until)."""
    m = tables.moves
    query = (select(m.c.from_stage, m.c.to_stage, m.c.direction,
                    func.count().label("moves"))
             .where(m.c.subject_type == level, *_in_range(m.c.occurred_at, since, until))
             .group_by(m.c.from_stage, m.c.to_stage, m.c.direction))
    return _rows(conn, query)


def open_at(conn: Connection, level: str, as_of: datetime,
            subject_ids: Sequence[str] | None = None) -> list[Row]:
    """The interval each subject of `level` is in as of `as_of` (SPEC §4.5)."""
    i = tables.intervals
    conditions = [i.c.subject_type == level, i.c.entered_at <= as_of,
                  or_(i.c.exited_at.is_(None), i.c.exited_at > as_of)]
    query = select(i.c.subject_id, i.c.stage, i.c.entered_at)
    if subject_ids is None:
        return _rows(conn, query.where(*conditions))
    ids = sorted(set(subject_ids))
    return [row for start in range(0, len(ids), CHUNK) for row in _rows(
        conn, query.where(*conditions, i.c.subject_id.in_(ids[start:start + CHUNK])))]


def overlapping(conn: Connection, level: str, start: datetime | None, end: datetime
                ) -> list[Row]:
    """Intervals of `level` entered before `end` and not exited before `start`."""
    i = tables.intervals
    conditions = [i.c.subject_type == level, i.c.entered_at < end]
    if start is not None:
        conditions.append(or_(i.c.exited_at.is_(None), i.c.exited_at >= start))
    query = select(i.c.stage, i.c.entered_at, i.c.exited_at).where(*conditions)
    return _rows(conn, query)


def move_span(conn: Connection, level: str) -> tuple[datetime | None, datetime | None]:
    """The first and last transition of `level` (None, None when there is none)."""
    m = tables.moves
    row = conn.execute(select(func.min(m.c.occurred_at), func.max(m.c.occurred_at))
                       .where(m.c.subject_type == level)).first()
    return (None, None) if row is None else (row[0], row[1])
