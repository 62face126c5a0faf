"""Stage counts at a moment, in queries a driver can run (no ORM needed): what
`report stages`, its fast path and `report timeline` share.

The subjects in a stage at T are the intervals entered by T less those exited by T. Whole
days before T's come from `lc_stage_days`; the part of T's own day from the intervals
entered or exited in it, a short range of an index. So a count costs the number of days
in the history, not the number of intervals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from projections.instants import day_start

#: Runs SQL with `%s` placeholders and returns the rows.
Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
#: How an instant is written in the store's columns.
Stored = Callable[[datetime], Any]


#: Per stage: the intervals entered less those exited, over whole days before a day.
DAYS_BEFORE = ("SELECT stage, SUM(entered - exited) FROM lc_stage_days "
               "WHERE subject_type = %s AND epoch_day < %s GROUP BY stage")
#: The stage of each interval entered, and of each exited (twice: UNION ALL), within part
#: of a day. No GROUP BY: counted in Python, since grouping tempts SQLite (which plans
#: without statistics) to scan an index ordered by stage rather than read this short
#: range of the one ordered by time.
WITHIN_DAY = (
    "SELECT stage, 1 FROM lc_intervals WHERE subject_type = %s "
    "AND entered_at >= %s AND entered_at <= %s "
    "UNION ALL SELECT stage, -1 FROM lc_intervals WHERE subject_type = %s "
    "AND exited_at >= %s AND exited_at <= %s")
#: The same, without the transitions at the moment itself.
WITHIN_DAY_BEFORE = WITHIN_DAY.replace("<= %s", "< %s")


def count_by_stage(query: Query, level: str, moment: datetime, stored: Stored,
                   before: bool = False) -> dict[str, int]:
    """Subjects of `level` per stage at `moment` (`before`: the transitions at `moment`
    not yet counted); stages with none are left out."""
    day, midnight = day_start(moment)
    low, high = stored(midnight), stored(moment)
    counts: Counter[str] = Counter()
    for stage, n in query(DAYS_BEFORE, (level, day)):
        counts[stage] += int(n)
    _add_within(query, counts, level, low, high, before)
    return {stage: n for stage, n in counts.items() if n}


def _add_within(query: Query, counts: Counter[str], level: str, low: Any, high: Any,
                before: bool) -> None:
    """Add the intervals entered, less those exited, in [low, high] (`before`: high
    excluded) to `counts`."""
    for stage, n in query(WITHIN_DAY_BEFORE if before else WITHIN_DAY,
                          (level, low, high, level, low, high)):
        counts[stage] += int(n)


def counts_before(query: Query, level: str, ends: Sequence[datetime], stored: Stored
                  ) -> list[dict[str, int]]:
    """Subjects of `level` per stage just before each of `ends` (ascending): one pass
    over `lc_stage_days`, plus the part of an end's day when it is not a midnight."""
    if not ends:
        return []
    last_day, _ = day_start(ends[-1])
    days = query("SELECT epoch_day, stage, entered - exited FROM lc_stage_days "
                 "WHERE subject_type = %s AND epoch_day < %s ORDER BY epoch_day",
                 (level, last_day))
    counts: Counter[str] = Counter()
    result, index = [], 0
    for end in ends:
        day, midnight = day_start(end)
        while index < len(days) and days[index][0] < day:
            counts[days[index][1]] += int(days[index][2])
            index += 1
        at_end = Counter(counts)
        if end > midnight:
            _add_within(query, at_end, level, stored(midnight), stored(end), before=True)
        result.append({stage: n for stage, n in at_end.items() if n})
    return result


def day_window(since: datetime | None, until: datetime | None
               ) -> tuple[int | None, int | None, list[tuple[datetime, datetime]]]:
    """[since, until) as whole UTC days [first, end) (None: unbounded; the range may be
    empty), plus the parts of days at its edges, to be read from the rows themselves."""
    first = end = None
    left = right = None
    if since is not None:
        first, midnight = day_start(since)
        if since > midnight:
            first += 1
            left = (since, midnight + timedelta(days=1))
    if until is not None:
        end, midnight = day_start(until)
        if until > midnight:
            right = (midnight, until)
    if left and right and right[0] < left[1]:  # both edges in one day
        return first, end, [(left[0], right[1])]
    if left and until is not None and until < left[1]:
        left = (left[0], until)
    return first, end, [edge for edge in (left, right) if edge]


def stamped_subjects(conn: Any) -> dict[str, int]:
    """Per subject type, how many subjects have reached any stage (a stamp)."""
    from sqlalchemy import func, select

    from projections import tables

    s = tables.stamps
    rows = conn.execute(select(s.c.subject_type, func.count(func.distinct(s.c.subject_id)))
                        .group_by(s.c.subject_type))
    return {kind: count for kind, count in rows}
