"""Calendar periods in UTC: ISO weeks (Monday 00:00) and months (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EVERY = ("week", "month")


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
    if every == "month":
        return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
    return start + timedelta(weeks=1)


def label(start: datetime, every: str) -> str:
    """`2024-03` for a month, the Monday's date (`2024-03-04`) for a week."""
    return f"{start:%Y-%m}" if every == "month" else f"{start:%Y-%m-%d}"


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
