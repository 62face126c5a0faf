"""Calendar periods, up to the calendar's last instant: contiguous, counted without being
made, and never past year 9999."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.domain.periods import END_OF_TIME, count_periods, label, next_start, periods

START = datetime(1, 1, 1, tzinfo=UTC)
instants = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59),
                        timezones=st.just(UTC))
spans = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=2_000))


@settings(max_examples=300, deadline=None)
@given(start=instants, span=spans, every=st.sampled_from(["week", "month"]))
def test_periods_tile_the_window_and_are_counted_exactly(start: datetime, span: timedelta,
                                                         every: str) -> None:
    end = min(start + span, END_OF_TIME) if start < END_OF_TIME - span else END_OF_TIME
    found = periods(start, end, every)
    assert len(found) == count_periods(start, end, every)
    assert found[0].start == start and found[-1].end == end
    for before, after in zip(found, found[1:], strict=False):
        assert before.end == after.start and before.start < before.end


def test_the_last_period_ends_at_the_last_instant() -> None:
    assert next_start(datetime(9999, 12, 1, tzinfo=UTC), "month") == END_OF_TIME
    assert next_start(datetime(9999, 12, 27, tzinfo=UTC), "week") == END_OF_TIME
    assert next_start(datetime(9999, 12, 20, tzinfo=UTC), "week") == \
        datetime(9999, 12, 27, tzinfo=UTC)
    assert next_start(datetime(9999, 11, 1, tzinfo=UTC), "month") == \
        datetime(9999, 12, 1, tzinfo=UTC)
    last = periods(datetime(9999, 12, 30, tzinfo=UTC), END_OF_TIME, "month")
    assert [(p.label, p.end) for p in last] == [("9999-12", END_OF_TIME)]


def test_labels_have_four_digit_years() -> None:
    assert label(START, "month") == "0001-01"
    assert label(START, "week") == "0001-01-01"


def test_the_whole_calendar_is_counted_without_being_made() -> None:
    assert count_periods(START, END_OF_TIME, "month") == 119_988
    assert count_periods(START, END_OF_TIME, "week") == 521_723  # the last one cut short
