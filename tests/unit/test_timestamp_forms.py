"""Timestamps as warehouses and spreadsheets write them: an hour of one digit, fractions of
a second without a zone (which follow the --assume-tz rule like any timestamp without one),
read the same by every importer (they all go through `parse_instant`)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from lifecycle.domain.timeutil import TimeError, parse_instant
from lifecycle.importers.canonical import read_csv, read_jsonl
from lifecycle.importers.hubspot import read_hubspot

NEW_YORK = ZoneInfo("America/New_York")
Z_UTC = ZoneInfo("UTC")


@pytest.mark.parametrize(("text", "zone", "expected"), [
    ("2021-01-07 6:49:18", Z_UTC, datetime(2021, 1, 7, 6, 49, 18, tzinfo=UTC)),
    ("2021-01-07T6:49:18Z", None, datetime(2021, 1, 7, 6, 49, 18, tzinfo=UTC)),
    ("2021-01-07 6:49:18+01:00", None, datetime(2021, 1, 7, 5, 49, 18, tzinfo=UTC)),
    ("2021-01-07 6:49", NEW_YORK, datetime(2021, 1, 7, 11, 49, tzinfo=UTC)),
    ("2021-01-07 16:02:00.250", Z_UTC, datetime(2021, 1, 7, 16, 2, 0, 250000, tzinfo=UTC)),
    ("2021-01-07 16:02:00.250", NEW_YORK, datetime(2021, 1, 7, 21, 2, 0, 250000, tzinfo=UTC)),
    ("2021-01-08 9:15:42.007", Z_UTC, datetime(2021, 1, 8, 9, 15, 42, 7000, tzinfo=UTC)),
    ("2024-01-08T15:02:11.000+0000", None, datetime(2024, 1, 8, 15, 2, 11, tzinfo=UTC)),
    ("2024-01-08T15:02:11.123456789Z", None,
     datetime(2024, 1, 8, 15, 2, 11, 123456, tzinfo=UTC)),
])
def test_forms_read(text: str, zone: ZoneInfo | None, expected: datetime) -> None:
    assert parse_instant(text, zone) == expected


@pytest.mark.parametrize("text", ["2021-01-07 16:02:00.250", "2021-01-07 6:49:18"])
def test_without_a_zone_the_assume_tz_rule_holds(text: str) -> None:
    with pytest.raises(TimeError, match="has no offset"):
        parse_instant(text)


@pytest.mark.parametrize("text", ["2021-01-07 6:4:18", "2021-1-7 6:49:18", "2021-01-07 :49",
                                  "6:49:18", "2021-01-07 24:00:00"])
def test_other_forms_stay_errors(text: str) -> None:
    with pytest.raises(TimeError):
        parse_instant(text, Z_UTC)


def test_every_reader_reads_a_one_digit_hour() -> None:
    line = ('{"type": "status_changed", "person_id": "p", "value": "lead", '
            '"occurred_at": "2021-01-07 6:49:18.5"}\n')
    csv = "type,person_id,value,occurred_at\nstatus_changed,p,lead,2021-01-07 6:49:18.5\n"
    hubspot = ('{"id": "1", "propertiesWithHistory": {"lifecyclestage": [{"value": "lead", '
               '"timestamp": "2021-01-07 6:49:18.5"}]}}\n')
    expected = datetime(2021, 1, 7, 6, 49, 18, 500000, tzinfo=UTC)
    for rows in (read_jsonl(io.BytesIO(line.encode()), ZoneInfo("UTC")),
                 read_csv(io.BytesIO(csv.encode()), ZoneInfo("UTC")),
                 read_hubspot(io.BytesIO(hubspot.encode()), ZoneInfo("UTC"))):
        [row] = list(rows)
        assert row.candidate is not None, row.rejection
        assert row.candidate.fact.occurred_at == expected
