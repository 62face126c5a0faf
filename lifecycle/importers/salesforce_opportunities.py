"""Salesforce Opportunity and OpportunityContactRole records as facts (SPEC §7).

An Opportunity is `opportunity_linked` to its `AccountId` with kind = `Type` (none when
empty) from its `CreatedDate`. A deleted one (`IsDeleted` true, from `queryAll` or Data
Loader's Export All; `_fivetran_deleted`) also gives `status_changed` field `IsDeleted`,
value `true` at `LastModifiedDate` (else `SystemModstamp`): an importer cannot retract,
so definitions map that value (to an exit stage) for a deleted opportunity to stop counting.

A Fivetran history-mode `opportunity` table (`_fivetran_start`, `_fivetran_end`) has one
row per version, read ordered by `id`, `_fivetran_start`: each version whose account or type
differs from the version before is a new `opportunity_linked` (the first from the
record's `created_date`), each whose `stage_name` differs a `status_changed` `StageName`, both
at its `_fivetran_start`; a record whose last version ended was deleted at its
`_fivetran_end` (`IsDeleted` = `true`, as above).

An OpportunityContactRole is a `contact_role` `added` at its `CreatedDate`; a deleted one
(`IsDeleted` true) was removed, which gives `removed` at `LastModifiedDate` (else
`SystemModstamp`) as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from lifecycle.domain.timeutil import TimeError, format_instant, parse_instant
from lifecycle.importers.canonical import Row
from lifecycle.importers.common import reject
from lifecycle.importers.records import CsvRecord
from lifecycle.importers.salesforce_columns import (
    EPOCH,
    SOURCE,
    Columns,
    fact,
    readable,
    timestamp,
)

OPPORTUNITY_NEEDS = ("id", "accountid")
OPPORTUNITY_READS = frozenset({"id", "accountid", "type", "createddate", "isdeleted",
                               "fivetrandeleted", "lastmodifieddate", "systemmodstamp"})
HISTORY_MODE_NEEDS = ("id", "accountid", "stagename", "fivetranstart", "fivetranend")
HISTORY_MODE_READS = OPPORTUNITY_READS | {"stagename", "fivetranstart", "fivetranend"}
ROLE_NEEDS = ("id", "opportunityid", "contactid", "createddate")
ROLE_READS = frozenset({"id", "opportunityid", "contactid", "role",
                        "createddate", "isdeleted", "lastmodifieddate", "systemmodstamp"})
#: The value of the `IsDeleted` status a deleted opportunity gets.
DELETED = "true"


def _modified(columns: Columns, cells: list[str]) -> tuple[str, str]:
    """When a deleted record was last changed (its deletion), and the column it came from."""
    for key in ("lastmodifieddate", "systemmodstamp"):
        value = columns.get(cells, key)
        if value:
            return value, columns.name(key)
    return "", columns.name("lastmodifieddate")


def _deleted(record: CsvRecord, opportunity: str, at: str, column: str, source_id: str,
             assume_tz: ZoneInfo | None) -> Row:
    data = {"type": "status_changed", "opportunity_id": opportunity, "field": "IsDeleted",
            "value": DELETED, "occurred_at": at, "source": SOURCE, "source_id": source_id}
    if not at:
        return reject(record.line, column, "a deleted record needs the time it was deleted "
                      "(LastModifiedDate or SystemModstamp)", record.raw)
    return fact(record, data, {"occurred_at": column}, assume_tz)


def opportunity_rows(records: Iterator[CsvRecord], columns: Columns,
                     assume_tz: ZoneInfo | None) -> Iterator[Row]:
    if columns.has("fivetranstart"):
        yield from _HistoryMode(columns, assume_tz).rows(records)
        return
    created = columns.name("createddate") if columns.has("createddate") else "occurred_at"
    names = {"opportunity_id": columns.name("id"), "account_id": columns.name("accountid"),
             "occurred_at": created, "kind": columns.name("type")}
    for record, bad in readable(records, columns):
        if bad is not None:
            yield bad
            continue
        cells = record.cells
        opportunity, account = columns.get(cells, "id"), columns.get(cells, "accountid")
        deleted = columns.flag(cells, "isdeleted") or columns.flag(cells, "fivetrandeleted")
        if not account and opportunity and not deleted:
            yield Row(record.line, skipped=True)  # an opportunity without an account
            continue
        if account:
            kind = columns.get(cells, "type")
            yield fact(record, {
                "type": "opportunity_linked", "opportunity_id": opportunity,
                "account_id": account, "kind": kind,
                "occurred_at": columns.get(cells, "createddate") if columns.has(
                    "createddate") else EPOCH, "source": SOURCE,
                "source_id": f"opportunity:{opportunity}:account:{account}"
                             + (f":type:{kind}" if kind else "")}, names, assume_tz)
        if deleted:
            at, column = _modified(columns, cells)
            yield _deleted(record, opportunity, at, column,
                           f"opportunity:{opportunity}:deleted", assume_tz)


@dataclass
class _Version:
    """The version of a history-mode record read last."""

    id: str
    start: datetime
    account: str
    kind: str
    stage: str
    end: str
    record: CsvRecord


class _HistoryMode:
    """A Fivetran history-mode `opportunity` table, ordered by id and `_fivetran_start`,
    read in flat memory: only the version before is kept."""

    def __init__(self, columns: Columns, assume_tz: ZoneInfo | None):
        self.columns, self.assume_tz = columns, assume_tz
        self.last: _Version | None = None
        self.names = {"opportunity_id": columns.name("id"),
                      "account_id": columns.name("accountid"), "kind": columns.name("type"),
                      "value": columns.name("stagename")}

    def rows(self, records: Iterator[CsvRecord]) -> Iterator[Row]:
        for record, bad in readable(records, self.columns):
            yield from [bad] if bad is not None else self._version(record)
        yield from self._ended()

    def _version(self, record: CsvRecord) -> Iterator[Row]:
        columns, cells = self.columns, record.cells
        start_text = columns.get(cells, "fivetranstart")
        try:
            start = parse_instant(timestamp(start_text), self.assume_tz)
        except TimeError as exc:
            yield reject(record.line, columns.name("fivetranstart"), str(exc), record.raw)
            return
        version = _Version(columns.get(cells, "id"), start, columns.get(cells, "accountid"),
                           columns.get(cells, "type"), columns.get(cells, "stagename"),
                           columns.get(cells, "fivetranend"), record)
        last = self.last
        if last is not None and (version.id, start) <= (last.id, last.start):
            yield reject(record.line, columns.name("fivetranstart"), "history-mode rows must "
                         "be ordered by id, then _fivetran_start: this version comes before "
                         f"the one on line {last.record.line}", record.raw)
            return
        same = last is not None and last.id == version.id
        if not same:
            yield from self._ended()
        self.last = version
        at = format_instant(start)
        key = f"fivetran:opportunity:{version.id}:{at}"
        if version.account and not (same and last is not None and (
                last.account, last.kind) == (version.account, version.kind)):
            created = columns.get(cells, "createddate")
            yield fact(record, {
                "type": "opportunity_linked", "opportunity_id": version.id,
                "account_id": version.account, "kind": version.kind,
                "occurred_at": created if not same and created else at,
                "source": SOURCE, "source_id": f"{key}:linked"},
                {**self.names, "occurred_at": columns.name(
                    "createddate" if not same and created else "fivetranstart")},
                self.assume_tz)
        if columns.flag(cells, "isdeleted") or columns.flag(cells, "fivetrandeleted"):
            yield _deleted(record, version.id, at, columns.name("fivetranstart"),
                           f"{key}:deleted", self.assume_tz)
        elif not same or last is None or last.stage != version.stage:
            data: dict[str, Any] = {
                "type": "status_changed", "opportunity_id": version.id, "field": "StageName",
                "value": version.stage, "previous": last.stage if same and last else "",
                "occurred_at": at, "source": SOURCE, "source_id": f"{key}:StageName"}
            yield fact(record, data, self.names, self.assume_tz)

    def _ended(self) -> Iterator[Row]:
        """The record read last was deleted when its last version ended."""
        last = self.last
        if last is None or not last.end or last.end.startswith("9999"):
            return
        column = self.columns.name("fivetranend")
        yield _deleted(last.record, last.id, last.end, column,
                       f"fivetran:opportunity:{last.id}:deleted:{last.end}", self.assume_tz)


def role_rows(records: Iterator[CsvRecord], columns: Columns,
              assume_tz: ZoneInfo | None) -> Iterator[Row]:
    names = {"opportunity_id": columns.name("opportunityid"),
             "person_id": columns.name("contactid"), "role": columns.name("role"),
             "occurred_at": columns.name("createddate")}
    for record, bad in readable(records, columns):
        if bad is not None:
            yield bad
            continue
        cells = record.cells
        opportunity, contact = (columns.get(cells, "opportunityid"),
                                columns.get(cells, "contactid"))
        role_id, role = columns.get(cells, "id"), columns.get(cells, "role")
        key = f"contact_role:{role_id}:contact:{contact}"
        base = {"type": "contact_role", "opportunity_id": opportunity, "person_id": contact,
                "source": SOURCE}
        yield fact(record, {**base, "state": "added", "role": role,
                            "occurred_at": columns.get(cells, "createddate"),
                            "source_id": f"{key}:role:{role}:added"}, names, assume_tz)
        if columns.flag(cells, "isdeleted"):
            at, column = _modified(columns, cells)
            if not at:
                yield reject(record.line, column, "a deleted contact role needs the time "
                             "it was deleted (LastModifiedDate or SystemModstamp)", record.raw)
                continue
            yield fact(record, {**base, "state": "removed", "role": role, "occurred_at": at,
                                "source_id": f"{key}:removed"},
                       {**names, "occurred_at": column}, assume_tz)
