"""Salesforce history rows as `status_changed` facts: the field-history objects
(LeadHistory, ContactHistory, AccountHistory, OpportunityFieldHistory) and
OpportunityHistory, the stage history every opportunity keeps.

A field-history row: field = `Field`, value = `NewValue`, previous = `OldValue`, source_id
= the row's `Id`, actor = `CreatedById`. Salesforce's event rows (`created`,
`leadConverted`, ...) have no values: their value is the event's name, so definitions can
map them. An OpportunityHistory row: field `StageName`, value = its `StageName`, previous =
`FromOpportunityStageName` when the export has it. Rows with `IsDeleted` true are skipped
(and counted). Salesforce stamps whole seconds only, so rows are imported in file order,
which is what orders same-second rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from lifecycle.importers.canonical import Row
from lifecycle.importers.records import CsvRecord
from lifecycle.importers.salesforce_columns import SOURCE, Columns, fact, readable

#: parent id column -> (object, subject field)
PARENTS = {"leadid": ("Lead", "person_id"), "contactid": ("Contact", "person_id"),
           "accountid": ("Account", "account_id"),
           "opportunityid": ("Opportunity", "opportunity_id")}
FIELD_HISTORY_NEEDS = ("id", "createddate", "field", "newvalue")
FIELD_HISTORY_READS = frozenset({"id", "isdeleted", "createdbyid", "createddate", "field",
                                 "oldvalue", "newvalue", "datatype"})
STAGE_HISTORY_NEEDS = ("id", "opportunityid", "createddate", "stagename")
STAGE_HISTORY_READS = frozenset({"id", "isdeleted", "opportunityid", "createdbyid",
                                 "createddate", "stagename", "fromopportunitystagename"})


def field_history_rows(records: Iterator[CsvRecord], columns: Columns, parent: str,
                       assume_tz: ZoneInfo | None) -> Iterator[Row]:
    obj, subject_field = PARENTS[parent]
    names = {subject_field: columns.name(parent), "source_id": columns.name("id"),
             "occurred_at": columns.name("createddate"), "field": columns.name("field"),
             "value": columns.name("newvalue")}  # fact field -> the export's column
    for record, bad in readable(records, columns):
        if bad is not None:
            yield bad
            continue
        cells = record.cells
        if columns.flag(cells, "isdeleted"):
            yield Row(record.line, skipped=True)
            continue
        field = columns.get(cells, "field")
        new, old = columns.get(cells, "newvalue"), columns.get(cells, "oldvalue")
        data: dict[str, Any] = {
            "type": "status_changed", subject_field: columns.get(cells, parent),
            "field": field,
            # An event row (created, leadConverted, ...) has no values: its name is the value.
            "value": field if new == old == "" and field[:1].islower() else new,
            "occurred_at": columns.get(cells, "createddate"),
            "source": SOURCE, "source_id": columns.get(cells, "id"),
            "actor": columns.get(cells, "createdbyid"), "previous": old,
            "attributes": {"object": obj, "DataType": columns.get(cells, "datatype")},
        }
        yield fact(record, data, names, assume_tz)


def stage_history_rows(records: Iterator[CsvRecord], columns: Columns,
                       assume_tz: ZoneInfo | None) -> Iterator[Row]:
    """OpportunityHistory: one row per change of stage, amount, close date or forecast
    category, each with the stage the opportunity then had."""
    names = {"opportunity_id": columns.name("opportunityid"),
             "source_id": columns.name("id"), "occurred_at": columns.name("createddate"),
             "value": columns.name("stagename")}
    for record, bad in readable(records, columns):
        if bad is not None:
            yield bad
            continue
        cells = record.cells
        if columns.flag(cells, "isdeleted"):
            yield Row(record.line, skipped=True)
            continue
        data: dict[str, Any] = {
            "type": "status_changed", "opportunity_id": columns.get(cells, "opportunityid"),
            "field": "StageName", "value": columns.get(cells, "stagename"),
            "previous": columns.get(cells, "fromopportunitystagename"),
            "occurred_at": columns.get(cells, "createddate"),
            "source": SOURCE, "source_id": columns.get(cells, "id"),
            "actor": columns.get(cells, "createdbyid"),
            "attributes": {"object": "OpportunityHistory"},
        }
        yield fact(record, data, names, assume_tz)
