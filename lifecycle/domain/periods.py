"""Calendar periods in UTC: ISO weeks (Monday 00:00) and months (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EVERY = ("week", "month")
#: The last instant a datetime can hold: the end of the last period of the calendar.
END_OF_TIME = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, named by the calendar period it belongs to."""

    label: str
    start: datetime
    end: datetime


def period_start(moment: datetime, every: str) -> datetime:
    """The start of the week (Monday) or month that holds `moment`."""
    moment = moment.astimezone(UTC)
    if every == "month":
        return datetime(moment.year, moment.month, 1, tzinfo=UTC)
    day = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return day - timedelta(days=day.weekday())


def next_start(start: datetime, every: str) -> datetime:
    """The start of the next period; END_OF_TIME after the calendar's last one (year 9999
    has no successor)."""
    if start >= END_OF_TIME - timedelta(weeks=5):
        if every == "month" and start.month < 12:
            return datetime(start.year, start.month + 1, 1, tzinfo=UTC)
        if every == "week" and start < END_OF_TIME - timedelta(weeks=1):
            return start + timedelta(weeks=1)
        return END_OF_TIME
    if every == "month":
        return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
    return start + timedelta(weeks=1)


def count_periods(start: datetime, end: datetime, every: str) -> int:
    """How many periods `periods(start, end, every)` returns, without making them."""
    if end <= start:
        return 0
    if every == "month":
        partial = end > period_start(end, every)
        return (end.year - start.year) * 12 + end.month - start.month + partial
    return -(-(end - period_start(start, every)) // timedelta(weeks=1))


def label(start: datetime, every: str) -> str:
    """`2024-03` for a month, the Monday's date (`2024-03-04`) for a week."""
    month = f"{start.year:04d}-{start.month:02d}"  # %Y does not pad years before 1000
    return month if every == "month" else f"{month}-{start.day:02d}"


def month_of(moment: datetime) -> str:
    """`2024-03`: the UTC month of `moment` (fast: called once per row)."""
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment.month:02d}"


def periods(start: datetime, end: datetime, every: str) -> list[Period]:
    """The calendar periods that overlap [start, end), cut to it."""
    if every not in EVERY:
        raise ValueError(f"unknown period {every!r} (periods: {', '.join(EVERY)})")
    result: list[Period] = []
    cursor = period_start(start, every)
    while cursor < end:
        following = next_start(cursor, every)
        result.append(Period(label(cursor, every), max(cursor, start), min(following, end)))
        cursor = following
    return result
