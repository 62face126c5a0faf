"""What the Salesforce readers share: a header read by normalised column names, cells,
booleans and timestamps as Salesforce, Data Loader, the weekly Data Export and Fivetran
write them, and a fact row whose rejection names the export's column.

Column names match case-insensitively and without underscores, so `OpportunityId` (SOQL,
Data Loader), `OPPORTUNITYID` and `opportunity_id` (Fivetran) are one column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from lifecycle.importers.canonical import FileFormatError, Row
from lifecycle.importers.common import fact_row, reject
from lifecycle.importers.records import CsvRecord, repeated_message

SOURCE = "salesforce"
#: Used when an export has no CreatedDate (documented in docs/importing.md).
EPOCH = "1970-01-01T00:00:00Z"
TRUE = frozenset({"true", "1"})
#: `2021-01-07 6:49:18`: the Data Export writes hours before 10 with one digit.
_ONE_DIGIT_HOUR = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d)(?=:)")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def normalise(name: str) -> str:
    return name.strip().lower().replace("_", "")


class Columns:
    """A header, its columns found by normalised name (the first of repeated ones)."""

    def __init__(self, header: list[str], line: int = 1):
        self.header, self.line = header, line
        self.index: dict[str, int] = {}
        self.spots: dict[str, list[int]] = {}
        for position, name in enumerate(header):
            key = normalise(name)
            self.index.setdefault(key, position)
            self.spots.setdefault(key, []).append(position + 1)

    def has(self, *names: str) -> bool:
        return all(name in self.index for name in names)

    def name(self, key: str) -> str:
        """The export's own spelling of a column (for messages)."""
        return self.header[self.index[key]] if key in self.index else key

    def get(self, cells: list[str], key: str) -> str:
        index = self.index.get(key)
        return cells[index].strip() if index is not None else ""

    def flag(self, cells: list[str], key: str) -> bool:
        """A checkbox: `true`/`false` (SOQL, Fivetran) or `1`/`0` (Data Export)."""
        return self.get(cells, key).lower() in TRUE

    def check(self, object_name: str, needs: tuple[str, ...], reads: frozenset[str],
              supported: str) -> None:
        """The columns the reader needs are there; none it reads appears twice."""
        for key in sorted(reads & set(self.spots), key=lambda k: self.spots[k][0]):
            if len(self.spots[key]) > 1:
                raise FileFormatError(repeated_message(
                    self.line, self.header[self.spots[key][0] - 1], self.spots[key]))
        missing = [key for key in needs if key not in self.index]
        if missing:
            raise FileFormatError(
                f"line {self.line}: {article(object_name)} export needs the column(s) "
                f"{', '.join(missing)} ({supported})")


def timestamp(text: str) -> str:
    """A Salesforce instant as ISO 8601 (`2021-01-07 6:49:18` -> `2021-01-07T06:49:18`);
    one without an offset stays without (rejected unless --assume-tz names its zone)."""
    text = text.strip()
    return _ONE_DIGIT_HOUR.sub(r"\1T0\2", text)


def day_start(text: str, assume_tz: ZoneInfo | None) -> str:
    """A date field (`ConvertedDate`, `2024-01-08`) as the day's first instant, in the
    --assume-tz zone or UTC. A time after the date (`2019-11-11 17:23:34`, as some
    warehouse exports write dates) is dropped: the field holds a day."""
    text = text.strip()
    if not _DATE.match(text[:10]) or text[10:11] not in ("", " ", "T"):
        return text  # not a date: the fact's validation names it
    try:
        day = datetime.fromisoformat(text[:10])
    except ValueError:
        return text
    return day.replace(tzinfo=assume_tz or UTC).isoformat()


def bad_record(record: CsvRecord, columns: Columns) -> Row | None:
    """A rejection when the record cannot be read, else None."""
    if record.problem is not None:
        return reject(record.line, None, record.problem, record.raw or None)
    if len(record.cells) != len(columns.header):
        return reject(record.line, None, f"expected {len(columns.header)} cells, found "
                      f"{len(record.cells)}", record.raw)
    return None


def readable(records: Iterator[CsvRecord], columns: Columns
             ) -> Iterator[tuple[CsvRecord, Row | None]]:
    """Each record with its rejection when it cannot be read."""
    for record in records:
        yield record, bad_record(record, columns)


def fact(record: CsvRecord, data: dict[str, Any], names: dict[str, str],
         assume_tz: ZoneInfo | None) -> Row:
    """The fact row; a rejection names the export's column rather than the fact field.
    Empty optional fields are dropped (a `value` stays: `""` means cleared)."""
    data = {k: v for k, v in data.items() if v != "" or k == "value"}
    if "occurred_at" in data:
        data["occurred_at"] = timestamp(data["occurred_at"])
    data["attributes"] = {k: v for k, v in data.get("attributes", {}).items() if v}
    row = fact_row(record.line, data, record.raw, assume_tz)
    bad = row.rejection
    if bad is not None and bad.field in names:
        return reject(record.line, names[bad.field], bad.reason, record.raw)
    return row


def article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "AEIOU" else f"a {kind}"
