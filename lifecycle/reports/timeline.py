"""`report timeline`: stage counts at the end of each week or month (a stacked chart's
series).

Periods are calendar weeks (Monday 00:00 UTC) or months that overlap [start, end), cut to
it. A period's counts are the stages as at its end: every transition before `end` counts,
one at `end` belongs to the next period. Without a window, it spans the months or weeks from
the first transition to the last.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lifecycle.domain.errors import LedgerError
from lifecycle.domain.facts import PERSON, plural
from lifecycle.domain.periods import (
    EVERY,
    Period,
    count_periods,
    next_start,
    period_start,
    periods,
)
from lifecycle.domain.timeutil import format_instant
from lifecycle.reports import base as report_base
from lifecycle.reports.base import scope
from projections.queries import analytics
from projections.queries.counts import counts_before
from projections.queries.stages import driver_query, stored_instant
from projections.view import View

FIXED_COLUMNS = ["period", "start", "end", "total"]
#: The most periods a timeline has (about 190 years of weeks, 830 of months): a wider
#: window is an error, not minutes of work for a table no one can read.
MAX_PERIODS = 10_000


def columns(stages: list[str]) -> list[str]:
    return FIXED_COLUMNS + stages


def timeline(view: View, start: datetime | None = None, end: datetime | None = None,
                every: str = "month", level: str = PERSON) -> dict[str, Any]:
    """Stage counts at the end of each period of [start, end)."""
    report_base.check_level(level)
    report_base.check_choices([every], EVERY, "period")
    report_base.check_window(start, end)
    keys = [s.key for s in view.definitions.stages]
    rows = []
    with view.connect() as conn:
        asked = start is not None and end is not None
        start, end = _window(conn, level, start, end, every)
        if start is not None and end is not None:
            check_size(start, end, every, asked)
            cuts = periods(start, end, every)
            counts = counts_before(driver_query(conn), level, [p.end for p in cuts],
                                   stored_instant(conn))
            rows = [_row(period, count, keys)
                    for period, count in zip(cuts, counts, strict=True)]
    document = report_base.header(view, **{"from": start}, to=end, every=every, level=level)
    document |= {"stages": keys, "rows": rows}
    return document


def check_size(start: datetime, end: datetime, every: str, asked: bool = True) -> None:
    """A window of more than MAX_PERIODS periods is an error naming it."""
    count = count_periods(start, end, every)
    if count > MAX_PERIODS:
        span = f"from {format_instant(start)} to {format_instant(end)}"
        what = f"the window {span} holds" if asked else f"the transitions run {span},"
        raise LedgerError(
            f"{what} {count:,} {every}s; a timeline has at most {MAX_PERIODS:,} periods: "
            "give a narrower --from/--to" + (" or --every month" if every == "week" else ""))


def _window(conn: Any, level: str, start: datetime | None, end: datetime | None,
            every: str) -> tuple[datetime | None, datetime | None]:
    """The window asked for; a missing end is filled from the first or last transition."""
    if start is not None and end is not None:
        return start, end
    first, last = analytics.move_span(conn, level)
    if first is None or last is None:
        return start, end  # nothing has happened: no periods
    if start is None:
        start = period_start(first, every)
        if end is not None and start >= end:
            start = period_start(end - timedelta(microseconds=1), every)
    if end is None:
        end = next_start(period_start(max(last, start), every), every)
    return start, end


def _row(period: Period, counts: dict[str, int], keys: list[str]) -> dict[str, Any]:
    return {"period": period.label, "start": format_instant(period.start),
            "end": format_instant(period.end), "total": sum(counts.values()),
            "counts": {key: counts.get(key, 0) for key in keys}}


def caption(document: dict[str, Any]) -> str:
    return (f"{plural(document['level'])} by stage at the end of each {document['every']} "
            f"(transitions before `end`). {scope(document)}")


def flat_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per period with a column per stage (what CSV and tables show)."""
    return [{**{k: v for k, v in r.items() if k != "counts"}, **r["counts"]}
            for r in document["rows"]]
