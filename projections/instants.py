"""Instants as the read models hold them, and the units the reports count in.

Stored instants are naive UTC: on SQLite the text `YYYY-MM-DD HH:MM:SS.ffffff` (so text
order is time order), on PostgreSQL a `timestamp`. Days are UTC days counted from
1970-01-01; durations are whole microseconds. Standard library only, so the fast report
path can use it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def naive_utc(value: datetime) -> datetime:
    """An instant as PostgreSQL's columns hold it (naive UTC)."""
    return value.astimezone(UTC).replace(tzinfo=None)


def sqlite_text(value: datetime) -> str:
    """An instant as SQLite's columns hold it (SQLAlchemy's text form of naive UTC)."""
    return naive_utc(value).isoformat(" ", "microseconds")


def from_stored(value: datetime | str) -> datetime:
    """An instant as a driver returns it (text on SQLite, naive on PostgreSQL), aware."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def epoch_day(moment: datetime | str) -> int:
    """The UTC day of `moment` as days since 1970-01-01. A string is an instant as SQLite
    stores it; a naive datetime is UTC."""
    if isinstance(moment, str):
        return date.fromisoformat(moment[:10]).toordinal() - _EPOCH_ORDINAL
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.toordinal() - _EPOCH_ORDINAL


def day_start(moment: datetime) -> tuple[int, datetime]:
    """`moment`'s UTC day (days since 1970-01-01) and its midnight."""
    midnight = datetime.combine(moment.astimezone(UTC).date(), time(), UTC)
    return epoch_day(midnight), midnight


def month_of_day(day: int) -> str:
    """`2024-03`: the month of a UTC day counted from 1970-01-01."""
    moment = EPOCH + timedelta(days=day)
    return f"{moment.year:04d}-{moment.month:02d}"


def epoch_micros(moment: datetime) -> int:
    """Microseconds since 1970-01-01 of `moment` (what `dialect.EpochMicros` gives once it
    is stored)."""
    return (moment.astimezone(UTC) - EPOCH) // MICROSECOND
