"""The per-day summaries answer as counting the rows themselves would, for any window.

`lc_move_days` and `lc_stage_days` hold whole UTC days; a window whose edges fall inside a
day reads those parts from `lc_moves` and `lc_intervals`. Checked against plain counts over
the hand-worked ledger, for windows at, before and inside its days.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

from projections import tables
from projections.queries import analytics
from projections.queries.counts import count_by_stage, day_window
from projections.queries.stages import driver_query, stored_instant

START = datetime(2023, 12, 30, tzinfo=UTC)
moments = st.integers(min_value=0, max_value=120 * 24 * 4).map(
    lambda quarter_hours: START + timedelta(minutes=15 * quarter_hours))
windows = st.tuples(st.none() | moments, st.none() | moments).filter(
    lambda w: w[0] is None or w[1] is None or w[0] < w[1])


def _counted(db: str, level: str, since: datetime | None, until: datetime | None,
             by_month: bool) -> list[tuple]:
    engine = create_engine(db)
    m = tables.moves
    with engine.connect() as conn:
        rows = conn.execute(select(m.c.from_stage, m.c.to_stage, m.c.direction,
                                   m.c.occurred_at).where(m.c.subject_type == level)).all()
    engine.dispose()
    counts = Counter(
        (before, after, direction, f"{at:%Y-%m}" if by_month else None)
        for before, after, direction, at in rows
        if (since is None or at >= since) and (until is None or at < until))
    return sorted(counts.items(), key=repr)


@settings(max_examples=60, deadline=None)
@given(windows, st.booleans(), st.sampled_from(["person", "account"]))
def test_move_totals_equal_counting_the_moves(db: str, window: tuple, by_month: bool,
                                              level: str) -> None:
    since, until = window
    engine = create_engine(db)
    with engine.connect() as conn:
        totals = analytics.move_totals(conn, level, since, until, by_month)
    engine.dispose()
    got = sorted((((b, a, d, mo), n) for b, a, d, mo, n in totals), key=repr)
    assert got == _counted(db, level, since, until, by_month)


@settings(max_examples=60, deadline=None)
@given(moments, st.booleans(), st.sampled_from(["person", "account"]))
def test_stage_counts_equal_counting_the_intervals(db: str, moment: datetime, before: bool,
                                                   level: str) -> None:
    engine = create_engine(db)
    i = tables.intervals
    with engine.connect() as conn:
        got = count_by_stage(driver_query(conn), level, moment, stored_instant(conn), before)
        spans = conn.execute(select(i.c.stage, i.c.entered_at, i.c.exited_at)
                             .where(i.c.subject_type == level)).all()
    engine.dispose()

    def by(at: datetime) -> bool:
        return at < moment if before else at <= moment

    expected = Counter(stage for stage, entered, exited in spans
                       if by(entered) and (exited is None or not by(exited)))
    assert got == dict(+expected)


def test_day_window_edges() -> None:
    day = datetime(2024, 3, 5, tzinfo=UTC)
    number = (day.date() - datetime(1970, 1, 1).date()).days
    noon = day + timedelta(hours=12)
    assert day_window(None, None) == (None, None, [])
    assert day_window(day, day + timedelta(days=2)) == (number, number + 2, [])
    assert day_window(noon, None) == (number + 1, None, [(noon, day + timedelta(days=1))])
    assert day_window(None, noon) == (None, number, [(day, noon)])
    inside = day + timedelta(hours=18)
    assert day_window(noon, inside) == (number + 1, number, [(noon, inside)])
    assert day_window(day, noon) == (number, number, [(day, noon)])
    later = noon + timedelta(days=2)
    assert day_window(noon, later) == (
        number + 1, number + 2, [(noon, day + timedelta(days=1)), (day + timedelta(days=2),
                                                                   later)])


@settings(max_examples=40, deadline=None)
@given(st.data(), st.sampled_from(["person", "account"]))
def test_period_ends_count_what_came_strictly_before(db: str, data: st.DataObject,
                                                     level: str) -> None:
    """`report timeline`'s counts at each period end (SPEC: a transition at the end
    belongs to the next period), for ends at midnight, inside a day, and exactly at a
    transition."""
    from projections.queries.counts import counts_before

    engine = create_engine(db)
    i = tables.intervals
    with engine.connect() as conn:
        spans = conn.execute(select(i.c.stage, i.c.entered_at, i.c.exited_at)
                             .where(i.c.subject_type == level)).all()
        transitions = sorted({at for _, entered, exited in spans
                              for at in (entered, exited) if at is not None})
        ends = sorted(set(data.draw(st.lists(moments | st.sampled_from(transitions),
                                             min_size=1, max_size=6))))
        got = counts_before(driver_query(conn), level, ends, stored_instant(conn))
    engine.dispose()
    expected = [dict(+Counter(stage for stage, entered, exited in spans
                              if entered < end and (exited is None or exited >= end)))
                for end in ends]
    assert got == expected
