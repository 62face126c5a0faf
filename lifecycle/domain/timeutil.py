"""Instants: parsing ISO 8601 at the edge, and printing them in UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class TimeError(ValueError):
    """An instant that cannot be read as given."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone called `name` (for `--assume-tz`)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeError(f"unknown time zone {name!r}") from exc


def parse_instant(text: str | datetime, assume_tz: ZoneInfo | None = None) -> datetime:
    """Read an ISO 8601 instant and return it in UTC.

    A timestamp without an offset is refused unless `assume_tz` says which zone it is in.
    A one-digit hour (`2021-01-07 6:49:18`, as spreadsheets and some warehouses write it)
    is read as that hour; fractions of a second may have any number of digits.
    """
    if isinstance(text, datetime):
        value = text
    else:
        raw = text.strip()
        if not raw:
            raise TimeError("empty timestamp")
        if raw.endswith(("z", "Z")):
            raw = raw[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(_ONE_DIGIT_HOUR.sub(r"\g<1>0\g<2>", raw, 1))
        except ValueError as exc:
            raise TimeError(f"not an ISO 8601 timestamp: {text!r}") from exc
    if value.tzinfo is None:
        if assume_tz is None:
            raise TimeError(
                f"timestamp {format_naive(value)} has no offset "
                "(add Z or +HH:MM, or pass --assume-tz)"
            )
        value = _local(value, assume_tz)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise TimeError(f"timestamp out of range: {text!r}") from exc


#: A date, then `T` or a space, then an hour of one digit followed by minutes.
_ONE_DIGIT_HOUR = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ])(\d:\d{2})")


def _local(value: datetime, zone_: ZoneInfo) -> datetime:
    """A wall-clock time in `zone_`; one the clocks skipped (a spring-forward gap) is an
    error naming the gap. A repeated time (autumn) is its first occurrence."""
    local = value.replace(tzinfo=zone_, fold=0)
    try:
        before, after = local.utcoffset(), local.replace(fold=1).utcoffset()
        if before is None or after is None or after <= before:
            return local  # the usual case (one offset), or a repeated hour
        if local.astimezone(UTC).astimezone(zone_).replace(tzinfo=None) == value:
            return local
    except OverflowError:
        return local  # at the calendar's ends: parse_instant names the range
    # The gap's first instant: the moment, between the two readings, the offset changed.
    low, high = value - after, value - before
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.replace(tzinfo=UTC).astimezone(zone_).utcoffset() == after:
            high = middle
        else:
            low = middle
    start = (high.replace(tzinfo=UTC) + before).replace(tzinfo=None, microsecond=0)
    end = (high.replace(tzinfo=UTC) + after).replace(tzinfo=None, microsecond=0)
    jump = (f"{start:%H:%M} to {end:%H:%M} on {start.date().isoformat()}"
            if start.date() == end.date()
            else f"{start.isoformat(timespec='minutes')} to {end.isoformat(timespec='minutes')}")
    raise TimeError(
        f"{format_naive(value)} does not exist in {zone_.key}: the clocks went from {jump} "
        f"(UTC{_offset(before)} to UTC{_offset(after)}); give the time with its offset")


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def format_naive(value: datetime) -> str:
    return value.isoformat()


@overload
def format_instant(value: datetime) -> str: ...
@overload
def format_instant(value: None) -> None: ...
@overload
def format_instant(value: datetime | None) -> str | None: ...
def format_instant(value: datetime | None) -> str | None:
    """`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, or None."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat() pads the year to four digits and prints microseconds only when there
    # are some, exactly as the format wants (and far faster than strftime).
    return value.replace(tzinfo=None).isoformat() + "Z"


def utc_now() -> datetime:
    return datetime.now(UTC)


DURATION_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
                  "w": timedelta(weeks=1)}


def parse_duration(text: str) -> timedelta:
    """`24h`, `14d`, `90m`, `2w`: a number with a unit."""
    raw = str(text).strip()
    unit = raw[-1:].lower()
    if unit not in DURATION_UNITS:
        raise ValueError(f"duration {text!r} needs a unit m, h, d or w (e.g. 24h)")
    try:
        number = float(raw[:-1])
    except ValueError as exc:
        raise ValueError(f"duration {text!r} is not a number with a unit (e.g. 24h)") from exc
    if number < 0:
        raise ValueError(f"duration {text!r} is negative")
    try:
        return number * DURATION_UNITS[unit]
    except (OverflowError, ValueError) as exc:  # inf, nan, beyond timedelta's range
        raise ValueError(f"duration {text!r} is out of range") from exc
