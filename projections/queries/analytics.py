"""Queries behind the analytics reports (funnel, velocity, aging, timeline, flow; SLA,
flags and signals: `status_queries`). They return plain rows; the arithmetic is in
`lifecycle`.

Instants compare as stored (naive UTC), so every bound is inclusive below and exclusive
above unless a docstring says otherwise.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, literal, null, or_, select

from projections import tables
from projections.instants import month_of_day
from projections.queries.counts import day_window
from projections.queries.dialect import Joined, MonthOf

Row = dict[str, Any]


def in_range(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


def raw(conn: Connection, query: Any) -> list[tuple[Any, ...]]:
    """`query`'s rows as the driver returns them: no per-row processing, for reports that
    aggregate many rows (instants are text on SQLite, naive datetimes on PostgreSQL;
    booleans 0/1 on SQLite)."""
    result = conn.execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def kind_of(subject_id: Any) -> Any:
    """The kind of the opportunity `subject_id` names, from its latest link (SPEC §7)."""
    o = tables.opportunity_links
    return (select(o.c.kind).where(o.c.opportunity_id == subject_id)
            .order_by(o.c.ordinal.desc()).limit(1).scalar_subquery())


def cohort_groups(conn: Connection, level: str, stage: str, start: datetime | None,
                  end: datetime | None, by: str | None) -> list[tuple[Any, int, int]]:
    """(group, subjects, inferred) of the subjects that first reached `stage` in
    [start, end), grouped by the first-reached snapshot's `by` column, or by the
    opportunity's kind (None: one group)."""
    s = tables.stamps
    column = kind_of(s.c.subject_id) if by == "kind" else s.c[by] if by else None
    query = (select(column if column is not None else null(), func.count(),
                    func.sum(case((s.c.inferred, 1), else_=0)))
             .where(s.c.subject_type == level, s.c.stage == stage,
                    *in_range(s.c.first_reached_at, start, end)))
    if column is not None:
        query = query.group_by(column)
    # Without GROUP BY, an empty cohort is one row with a count of 0: left out.
    return [(g, int(n), int(i or 0)) for g, n, i in raw(conn, query) if n]


#: (group, how many, how many inferred, their microseconds in ascending order)
Durations = tuple[Any, int, int, list[int]]


def funnel_steps(conn: Connection, level: str, stage: str, later: str,
                 start: datetime | None, end: datetime | None, by: str | None
                 ) -> list[Durations]:
    """The durations from `stage` to `later` of the subjects that first reached `stage`
    in [start, end) and `later` at or after it, per group (`by`: the source or campaign
    of the first-reached snapshot; None: one group); inferred: of the `later` stamp."""
    t = tables.steps
    group = kind_of(t.c.subject_id) if by == "kind" else t.c[f"from_{by}"] if by else None
    return _steps(conn, level, stage, later, t.c.from_at, start, end, group, t.c.to_inferred)


def _steps(conn: Connection, level: str, a: str, b: str, when: Any, start: datetime | None,
           end: datetime | None, group: Any, inferred: Any) -> list[Durations]:
    """Durations of the pair (a, b), one row a group. They travel as one joined text a
    group: a pair can have hundreds of thousands, and one value a row costs far more."""
    t = tables.steps
    query = (select(null() if group is None else group, func.count(),
                    func.sum(case((inferred, 1), else_=0)), Joined(t.c.elapsed_us))
             .where(t.c.subject_type == level, t.c.from_stage == a, t.c.to_stage == b,
                    *in_range(when, start, end)))
    if group is not None:
        query = query.group_by(group)
    found = []
    for key, count, inferred_count, values in raw(conn, query):
        if count:
            durations = sorted(map(int, values.split(",")))
            found.append((key, int(count), int(inferred_count or 0), durations))
    return found


def pair_steps(conn: Connection, level: str, a: str, b: str, since: datetime | None,
               until: datetime | None, by_month: bool) -> list[Durations]:
    """The durations from `a` to `b` of every subject that first reached `b` at or after
    `a`, `b` in [since, until), per month of `b` (or one group); inferred: either stamp."""
    t = tables.steps
    return _steps(conn, level, a, b, t.c.to_at, since, until,
                  MonthOf(t.c.to_at) if by_month else None,
                  or_(t.c.from_inferred, t.c.to_inferred))


#: (from stage or None, to stage, direction, month or None, how many moves)
MoveTotal = tuple[str | None, str, str, str | None, int]


def move_totals(conn: Connection, level: str, since: datetime | None,
                until: datetime | None, by_month: bool) -> list[MoveTotal]:
    """How many moves of `level` went from each stage to each other, by direction (and
    month), in [since, until): whole days from `lc_move_days`, the parts of days at the
    window's edges from `lc_moves`."""
    first, end, edges = day_window(since, until)
    d, m = tables.move_days, tables.moves
    totals: Counter[tuple[str | None, str, str, str | None]] = Counter()
    query = select(d.c.epoch_day if by_month else null(), d.c.from_stage, d.c.to_stage,
                   d.c.direction, func.sum(d.c.moves)).where(d.c.subject_type == level)
    if first is not None:
        query = query.where(d.c.epoch_day >= first)
    if end is not None:
        query = query.where(d.c.epoch_day < end)
    grouping = [d.c.from_stage, d.c.to_stage, d.c.direction]
    query = query.group_by(*grouping, *([d.c.epoch_day] if by_month else []))
    for day, before, after, direction, n in raw(conn, query):
        totals[before or None, after, direction, month_of_day(day) if by_month else None] \
            += int(n)
    for start, stop in edges:
        month = MonthOf(m.c.occurred_at) if by_month else null()
        grouping = [m.c.from_stage, m.c.to_stage, m.c.direction]
        query = (select(month, *grouping, func.count())
                 .where(m.c.subject_type == level, m.c.occurred_at >= start,
                        m.c.occurred_at < stop)
                 .group_by(*grouping, *([month] if by_month else [])))
        for bucket, before, after, direction, n in raw(conn, query):
            totals[before, after, direction, bucket] += int(n)
    return [(*key, n) for key, n in sorted(totals.items(), key=_total_order) if n]


def _total_order(item: tuple[tuple[str | None, str, str, str | None], int]) -> tuple:
    (before, after, direction, month), _ = item
    return (before is not None, before or "", after, direction, month or "")


def flow(conn: Connection, level: str, since: datetime | None, until: datetime | None
         ) -> list[Row]:
    """How many moves went from each stage to each other, by direction, in [since, until)."""
    return [{"from_stage": before, "to_stage": after, "direction": direction, "moves": n}
            for before, after, direction, _, n in move_totals(conn, level, since, until,
                                                              by_month=False)]


def entered_in(conn: Connection, level: str, stage: str, as_of: datetime) -> list[Any]:
    """When each subject of `level` in `stage` as of `as_of` entered it (SPEC §4.5), as
    stored and in order (text order is time order on SQLite)."""
    i = tables.intervals
    query = (select(i.c.entered_at)
             .where(i.c.subject_type == level, i.c.stage == stage, i.c.entered_at <= as_of,
                    or_(i.c.exited_at.is_(None), i.c.exited_at > as_of))
             .order_by(i.c.entered_at))
    return [row[0] for row in raw(conn, query)]


def first_in(conn: Connection, level: str, stage: str, as_of: datetime, entered: Any) -> str:
    """The smallest id of the subjects of `level` in `stage` as of `as_of` that entered it
    at `entered` (as stored; there is one at least)."""
    i = tables.intervals
    # The ordinal is asked for only so that no index covers the query: SQLite would
    # otherwise scan all of the stage in `lc_intervals_stage` (which holds the ids) rather
    # than seek the entry instant in `lc_intervals_in`.
    return min(row[0] for row in raw(conn, select(i.c.subject_id, i.c.ordinal).where(
        i.c.subject_type == level, i.c.stage == stage, i.c.entered_at == literal(entered),
        or_(i.c.exited_at.is_(None), i.c.exited_at > as_of))))


def move_span(conn: Connection, level: str) -> tuple[datetime | None, datetime | None]:
    """The first and last transition of `level` (None, None when there is none)."""
    m = tables.moves
    # Two queries: SQLite answers a lone min() or max() from the end of an index, but
    # scans for both in one.
    first = conn.scalar(select(func.min(m.c.occurred_at)).where(m.c.subject_type == level))
    last = conn.scalar(select(func.max(m.c.occurred_at)).where(m.c.subject_type == level))
    return first, last
