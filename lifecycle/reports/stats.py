"""Small statistics the analytics reports share: percentiles, days, shares (pure).

Percentile rule: linear interpolation between closest ranks, the default of numpy,
pandas (`quantile`) and Excel/Sheets `PERCENTILE.INC`: with the n values sorted, the
p-th percentile sits at position (n - 1) * p / 100 (0-based) and falls between the two
values around it in proportion. The median of [1, 2, 3, 4] is 2.5, its p90 is 3.7.

`percentile`, `days`, `hours` and `summary_days` state the rules on plain values; the
reports use `percentile_at`, `days_of` and `micro_hours` on durations in microseconds read
from the database, which tests pin to give the very same figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import timedelta

PERCENTILE_RULE = ("linear interpolation between closest ranks (as numpy, pandas and "
                   "Excel PERCENTILE.INC): median of 1,2,3,4 = 2.5, p90 = 3.7")
DAY_SECONDS = 86_400.0


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) of `values`, or None when there are none."""
    if not values:
        return None
    data = sorted(values)
    position = (len(data) - 1) * p / 100
    low = math.floor(position)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (position - low)


def percentile_at(count: int, p: float, value_at: Callable[[int], int]) -> float | None:
    """The p-th percentile, in days, of `count` durations whose i-th smallest, in
    microseconds, is `value_at(i)`. Days are monotonic in microseconds, so only the two
    values around the position are read and converted."""
    if not count:
        return None
    position = (count - 1) * p / 100
    low = math.floor(position)
    high = min(low + 1, count - 1)
    below, above = days_of(value_at(low)), days_of(value_at(high))
    return below + (above - below) * (position - low)


def days_of(microseconds: int) -> float:
    """Days in a duration of `microseconds`, as `days(timedelta(microseconds=...))`."""
    return microseconds / 1_000_000 / DAY_SECONDS


def days(delta: timedelta) -> float:
    return delta.total_seconds() / DAY_SECONDS


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3_600


def micro_hours(microseconds: int) -> float:
    """`hours(timedelta(microseconds=n))`, to the last bit: total_seconds() is the
    microseconds over 10**6."""
    return microseconds / 10**6 / 3_600


def rounded(value: float | None, digits: int = 2) -> float | None:
    """Rounded for output (None stays None); -0.0 prints as 0.0."""
    return None if value is None else round(value, digits) + 0.0


def share(part: int, whole: int) -> float | None:
    """part / whole to four decimals, or None when there is no whole."""
    return round(part / whole, 4) if whole else None


def summary_days(values: Sequence[float]) -> dict[str, float | None]:
    """Median, p75 and p90 of durations in days, rounded."""
    return {"median_days": rounded(percentile(values, 50)),
            "p75_days": rounded(percentile(values, 75)),
            "p90_days": rounded(percentile(values, 90))}


def summary_sorted(microseconds: list[int]) -> dict[str, float | None]:
    """`summary_days` of durations given in microseconds, in ascending order."""
    at = microseconds.__getitem__
    return {"median_days": rounded(percentile_at(len(microseconds), 50, at)),
            "p75_days": rounded(percentile_at(len(microseconds), 75, at)),
            "p90_days": rounded(percentile_at(len(microseconds), 90, at))}
