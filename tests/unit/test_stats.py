"""The report statistics: percentiles read from durations in microseconds give exactly the
figures the percentile rule gives on days, and the rule itself (stats.PERCENTILE_RULE)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from lifecycle.reports.stats import (
    days,
    days_of,
    percentile,
    percentile_at,
    summary_days,
    summary_sorted,
)
from projections.instants import epoch_day

durations = st.lists(st.integers(min_value=0, max_value=10**15), max_size=60)


def test_the_rule_as_stated() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert round(percentile([1, 2, 3, 4], 90), 10) == 3.7
    assert percentile([], 50) is None


@given(durations, st.sampled_from([0, 25, 50, 75, 90, 100]))
def test_reading_two_values_equals_converting_all(microseconds: list[int], p: int) -> None:
    as_days = [days(timedelta(microseconds=us)) for us in microseconds]
    ordered = sorted(microseconds)
    assert percentile_at(len(ordered), p, ordered.__getitem__) == percentile(as_days, p)


@given(durations)
def test_summary_of_sorted_microseconds_equals_summary_of_days(microseconds: list[int]) -> None:
    as_days = [days(timedelta(microseconds=us)) for us in microseconds]
    assert summary_sorted(sorted(microseconds)) == summary_days(as_days)


def test_days_of_microseconds_is_days_of_the_timedelta() -> None:
    for us in (0, 1, 10_800_000_000, 86_400_000_000, 1_296_000_000, 123_456_789_012):
        assert days_of(us) == days(timedelta(microseconds=us))


def test_epoch_day_of_text_and_datetimes() -> None:
    from datetime import UTC, datetime, timezone

    assert epoch_day("1970-01-02 00:00:00.000000") == 1
    assert epoch_day(datetime(2024, 3, 1, 23, 59, tzinfo=UTC)) == epoch_day("2024-03-01 23:59:59")
    # 01:00 at +02:00 is the previous UTC day
    east = timezone(timedelta(hours=2))
    assert epoch_day(datetime(2024, 3, 2, 1, 0, tzinfo=east)) == epoch_day("2024-03-01 23:00:00")
    assert epoch_day(datetime(2024, 3, 2)) == epoch_day("2024-03-02 00:00:00")  # naive: UTC
