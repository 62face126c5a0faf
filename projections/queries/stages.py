"""Report queries over the read models. They return plain rows; rendering is elsewhere."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, func, inspect, or_, select

from lifecycle.domain.definitions import Definitions
from projections import tables
from projections.instants import naive_utc, sqlite_text
from projections.queries.counts import Query, count_by_stage


@dataclass(frozen=True)
class StageCount:
    stage: str
    label: str
    count: int


def stage_counts(conn: Connection, definitions: Definitions, level: str, as_of: datetime
                 ) -> list[StageCount]:
    """How many subjects of `level` were in each stage as of `as_of`, definitions order."""
    counts = count_by_stage(driver_query(conn), level, as_of, stored_instant(conn))
    return [StageCount(s.key, s.label, counts.get(s.key, 0)) for s in definitions.stages]


def driver_query(conn: Connection) -> Query:
    """Run SQL with `%s` placeholders on `conn`'s driver (for `projections.counts`)."""
    qmark = conn.dialect.paramstyle == "qmark"

    def query(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in conn.exec_driver_sql(
            sql.replace("%s", "?") if qmark else sql, tuple(params))]
    return query


def stored_instant(conn: Connection) -> Callable[[datetime], Any]:
    """How an instant is written in `conn`'s columns, for driver-level SQL."""
    return sqlite_text if conn.dialect.name == "sqlite" else naive_utc


def stamps(conn: Connection, definitions: Definitions, level: str | None,
           stage: str | None, first_inferred: bool = False) -> list[dict[str, Any]]:
    """One row per subject and stage reached, by subject then definitions order. With
    `first_inferred`, each row says whether the stage was first reached by inference and
    really reached later: no move into it was caused by the fact its first reach was."""
    s = tables.stamps
    query = select(s)
    if first_inferred:
        m = tables.moves
        real = select(m.c.event_id).where(
            m.c.subject_type == s.c.subject_type, m.c.subject_id == s.c.subject_id,
            m.c.to_stage == s.c.stage, m.c.event_id == s.c.event_id).exists()
        query = select(s, and_(s.c.times_reached > 0, ~real).label("first_inferred"))
    if level:
        query = query.where(s.c.subject_type == level)
    if stage:
        query = query.where(s.c.stage == stage)
    rows = [dict(r._mapping) for r in conn.execute(query)]
    rows.sort(key=lambda r: (r["subject_type"], r["subject_id"],
                             definitions.order.get(r["stage"], len(definitions.order))))
    return rows


def moves(conn: Connection, level: str | None, directions: Sequence[str] = (),
          since: datetime | None = None, until: datetime | None = None
          ) -> list[dict[str, Any]]:
    """Transitions, by subject then time; `since` inclusive, `until` exclusive."""
    m = tables.moves
    conditions = []
    if level:
        conditions.append(m.c.subject_type == level)
    if directions:
        conditions.append(m.c.direction.in_(list(directions)))
    if since is not None:
        conditions.append(m.c.occurred_at >= since)
    if until is not None:
        conditions.append(m.c.occurred_at < until)
    query = select(m).where(and_(True, *conditions))
    rows = [dict(r._mapping) for r in conn.execute(query)]
    rows.sort(key=lambda r: (r["subject_type"], r["subject_id"], r["occurred_at"],
                             r["ordinal"]))
    return rows


def current_stage(conn: Connection, subject_type: str, subject_id: str) -> str | None:
    c = tables.current
    return conn.scalar(select(c.c.stage).where(c.c.subject_type == subject_type,
                                               c.c.subject_id == subject_id))


def table_rows(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every view row, table by table, sorted (to compare two stores whole)."""
    return {table.name: sorted(rows_of(conn, table),
                               key=lambda r: tuple((v is None, str(v)) for v in r))
            for table in tables.VIEW_TABLES}


def absent_views(conn: Connection) -> set[str]:
    """View tables this store does not have yet: one made by an earlier release and only
    opened read-only since (the next writable open creates them and replays)."""
    existing = set(inspect(conn).get_table_names())
    return {table.name for table in tables.VIEW_TABLES if table.name not in existing}


def row_count(conn: Connection, table: Table) -> int:
    return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def rows_of(conn: Connection, table: Table) -> list[tuple[Any, ...]]:
    """One view table's rows, in no particular order."""
    return [tuple(r) for r in conn.execute(select(table))]


def current_stages(engine: Engine) -> dict[tuple[str, str], str | None]:
    """Every subject's current stage, by (subject type, id)."""
    c = tables.current
    with engine.connect() as conn:
        return {(r[0], r[1]): r[2] for r in conn.execute(
            select(c.c.subject_type, c.c.subject_id, c.c.stage))}


def first_reached(engine: Engine) -> dict[tuple[str, str, str], datetime]:
    """When each subject first reached each stage, by (subject type, id, stage)."""
    s = tables.stamps
    with engine.connect() as conn:
        return {(r[0], r[1], r[2]): r[3] for r in conn.execute(
            select(s.c.subject_type, s.c.subject_id, s.c.stage, s.c.first_reached_at))}


def stages_at(engine: Engine, level: str, as_of: datetime) -> dict[str, str]:
    """The stage of every subject of `level` as of `as_of`, by id."""
    i = tables.intervals
    query = select(i.c.subject_id, i.c.stage).where(
        i.c.subject_type == level, i.c.entered_at <= as_of,
        or_(i.c.exited_at.is_(None), i.c.exited_at > as_of))
    with engine.connect() as conn:
        return dict(conn.execute(query).tuples().all())
