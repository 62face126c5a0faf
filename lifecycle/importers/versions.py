"""Tables of record versions (`--columns ... until=COLUMN`): a record whose last version
ended was deleted.

Warehouse tools keep a row per version of a record (Fivetran's history mode:
`_fivetran_start`, `_fivetran_end`, `_fivetran_active`): each version is valid from its
start (mapped to `occurred_at`: a change) until its end. The current version's end is open
(empty, or Fivetran's `9999-12-31 23:59:59.999`); a version that ended without a later one
means the record was deleted at that end. For each such subject the import adds, after the
file's rows, a `status_changed` fact with field `IsDeleted` and value `true` at that
instant (as the Salesforce importer records a deleted record), so definitions can map it to
an exit stage and a deleted record stops counting. Memory holds one entry per subject.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from lifecycle.domain.timeutil import TimeError, parse_instant
from lifecycle.importers.canonical import Row
from lifecycle.importers.common import fact_row

#: An end at or after this year is "still valid" (Fivetran writes 9999-12-31).
OPEN_YEAR = 9999
DELETED_FIELD, DELETED_VALUE = "IsDeleted", "true"


@dataclass
class _Last:
    started: datetime
    ended: str
    line: int
    raw: str
    data: dict[str, Any]


class Versions:
    """The latest version seen of each subject, to find those whose last version ended."""

    def __init__(self, assume_tz: ZoneInfo | None):
        self.assume_tz = assume_tz
        self.last: dict[tuple[str, str], _Last] = {}

    def see(self, row: Row, ended: str) -> None:
        """Note a stored row (a candidate) and its version's end cell."""
        if row.candidate is None:
            return
        fact = row.candidate.fact
        subject = fact.subject
        key = (subject.type, subject.id)
        seen = self.last.get(key)
        if seen is None or fact.occurred_at >= seen.started:
            data = {f"{subject.type}_id": subject.id, "source": getattr(fact, "source", None)}
            self.last[key] = _Last(fact.occurred_at, ended.strip(), row.line,
                                   row.candidate.raw or "", data)

    def deletions(self) -> Iterator[Row]:
        """A deletion fact for every subject whose last version ended, in file order."""
        for last in sorted(self.last.values(), key=lambda v: v.line):
            if not last.ended or _open(last.ended, self.assume_tz):
                continue
            data: dict[str, Any] = {"type": "status_changed", "field": DELETED_FIELD,
                                    "value": DELETED_VALUE, "occurred_at": last.ended,
                                    **{k: v for k, v in last.data.items() if v is not None}}
            if "source" in data:
                subject = next(k for k in data if k.endswith("_id"))
                data["source_id"] = f"{data[subject]}:deleted:{last.ended}"
            yield fact_row(last.line, data, last.raw, self.assume_tz)


def _open(text: str, assume_tz: ZoneInfo | None) -> bool:
    """Whether an end cell means "still valid": a year at or after 9999."""
    try:
        return parse_instant(text, assume_tz or ZoneInfo("UTC")).year >= OPEN_YEAR
    except (TimeError, OverflowError):
        return text[:4].isdigit() and int(text[:4]) >= OPEN_YEAR
