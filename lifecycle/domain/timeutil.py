"""Instants: parsing ISO 8601 at the edge, and printing them in UTC."""

from __future__ import annotations

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
            value = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise TimeError(f"not an ISO 8601 timestamp: {text!r}") from exc
    if value.tzinfo is None:
        if assume_tz is None:
            raise TimeError(
                f"timestamp {format_naive(value)} has no offset "
                "(add Z or +HH:MM, or pass --assume-tz)"
            )
        value = value.replace(tzinfo=assume_tz)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise TimeError(f"timestamp out of range: {text!r}") from exc


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
