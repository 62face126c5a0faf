"""Salesforce field history (LeadHistory, ContactHistory, AccountHistory) and Contact
exports, as facts.

A history row becomes a `status_changed` fact: field = `Field`, value = `NewValue`,
previous = `OldValue`, source_id = the row's `Id`, actor = `CreatedById`. Rows with
`IsDeleted` true are skipped (and counted). Salesforce's event rows (`created`,
`leadConverted`, ...) have no values: their value is the event's name, so definitions can
map them. Salesforce stamps whole seconds only, so rows are imported in file order, which
is what orders same-second rows. A Contact export (`Id`, `AccountId`) gives `person_linked`
facts. Column names match case-insensitively (Data Loader writes them in capitals).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from lifecycle.importers.canonical import FileFormatError, Row
from lifecycle.importers.common import fact_row, read_header, reject
from lifecycle.importers.records import CsvRecord, csv_records

SOURCE = "salesforce"
#: parent id column -> (object, subject field)
HISTORY_PARENTS = {"leadid": ("Lead", "person_id"), "contactid": ("Contact", "person_id"),
                   "accountid": ("Account", "account_id")}
HISTORY_COLUMNS = ("id", "createddate", "field", "newvalue")
#: Every column the importer reads (lower case): none of them may appear twice.
READS = frozenset({"id", "isdeleted", "leadid", "contactid", "accountid", "createdbyid",
                   "createddate", "field", "oldvalue", "newvalue", "datatype"})
#: Used when a Contact export has no CreatedDate (documented in docs/importing.md).
EPOCH = "1970-01-01T00:00:00Z"
#: Id prefixes of objects that are not contacts (Salesforce key prefixes).
NOT_CONTACT = {"001": "Account", "006": "Opportunity", "00Q": "Lead", "005": "User",
               "017": "a field history"}
SUPPORTED = ("supported Salesforce exports: LeadHistory, ContactHistory or AccountHistory "
             "(Id, IsDeleted, LeadId/ContactId/AccountId, CreatedById, CreatedDate, Field, "
             "DataType, OldValue, NewValue) and Contact (Id, AccountId[, CreatedDate])")


def read_salesforce(stream: BinaryIO, assume_tz: ZoneInfo | None = None) -> Iterator[Row]:
    return record_rows(csv_records(stream), assume_tz)


def record_rows(records: Iterator[CsvRecord], assume_tz: ZoneInfo | None = None
                ) -> Iterator[Row]:
    """The facts of an export's records, its header first (a file read, or the rows
    `lifecycle sync salesforce` fetched, in the same columns)."""
    header = read_header(records, READS)
    if header is None:
        return
    columns = {name.lower(): index for index, name in reversed(list(enumerate(header)))}
    parent = next((p for p in HISTORY_PARENTS if p in columns), None)
    if "field" in columns and parent is not None and not _other_parent(columns):
        missing = [c for c in HISTORY_COLUMNS if c not in columns]
        if missing:
            raise FileFormatError(f"line 1: a {HISTORY_PARENTS[parent][0]}History export "
                                  f"needs the column(s) {', '.join(missing)} ({SUPPORTED})")
        yield from _history_rows(records, header, columns, parent, assume_tz)
    elif "id" in columns and "accountid" in columns and "field" not in columns \
            and not _other_parent(columns) and "leadid" not in columns \
            and "contactid" not in columns:
        yield from _contact_rows(records, header, columns, assume_tz)
    else:
        raise FileFormatError(
            f"line 1: {_describe(header, columns)} cannot be imported ({SUPPORTED})")


#: Id columns that are lookups of every object, not the parent a history row belongs to.
NOT_PARENTS = {"id", "createdbyid", "ownerid", "lastmodifiedbyid", "masterrecordid",
               "reportstoid", "recordtypeid", "individualid"}


def _other_parent(columns: dict[str, int]) -> str | None:
    """An id column naming a parent object this module does not read (OpportunityId...)."""
    return next((c for c in columns if c.endswith("id") and c not in NOT_PARENTS
                 and c not in HISTORY_PARENTS), None)


def _describe(header: list[str], columns: dict[str, int]) -> str:
    """What the header looks like, for the error message."""
    other = _other_parent(columns)
    if other is None:
        return "a CSV with the columns " + ", ".join(header[:12])
    name = header[columns[other]]
    if other == "opportunityid":
        kind = "OpportunityFieldHistory" if "field" in columns else "OpportunityHistory"
        return f"an {kind} export (parent column {name})"
    return f"an export with the parent column {name}"


def _cells(record: CsvRecord, header: list[str]) -> Row | None:
    """A rejection when the record cannot be read, else None."""
    if record.problem is not None:
        return reject(record.line, None, record.problem, record.raw or None)
    if len(record.cells) != len(header):
        return reject(record.line, None,
                      f"expected {len(header)} cells, found {len(record.cells)}", record.raw)
    return None


def _history_rows(records: Iterator[CsvRecord], header: list[str], columns: dict[str, int],
                  parent: str, assume_tz: ZoneInfo | None) -> Iterator[Row]:
    obj, subject_field = HISTORY_PARENTS[parent]

    def cell(cells: list[str], name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None else ""

    names = {subject_field: header[columns[parent]], "source_id": header[columns["id"]],
             "occurred_at": header[columns["createddate"]], "field": header[columns["field"]],
             "value": header[columns["newvalue"]]}  # fact field -> the export's column
    for record in records:
        bad = _cells(record, header)
        if bad is not None:
            yield bad
            continue
        cells = record.cells
        if cell(cells, "isdeleted").lower() in ("true", "1"):
            yield Row(record.line, skipped=True)
            continue
        field, new, old = cell(cells, "field"), cell(cells, "newvalue"), cell(cells, "oldvalue")
        data: dict[str, Any] = {
            "type": "status_changed", subject_field: cell(cells, parent),
            "field": field,
            # An event row (created, leadConverted, ...) has no values: its name is the value.
            "value": field if new == old == "" and field[:1].islower() else new,
            "occurred_at": cell(cells, "createddate"),
            "source": SOURCE, "source_id": cell(cells, "id"),
            "actor": cell(cells, "createdbyid"), "previous": old,
            "attributes": {"object": obj, "DataType": cell(cells, "datatype")},
        }
        yield _fact(record, data, names, assume_tz)


def _contact_rows(records: Iterator[CsvRecord], header: list[str], columns: dict[str, int],
                  assume_tz: ZoneInfo | None) -> Iterator[Row]:
    created = columns.get("createddate")
    checked = False
    for record in records:
        bad = _cells(record, header)
        if bad is not None:
            yield bad
            continue
        cells = record.cells
        contact, account = cells[columns["id"]].strip(), cells[columns["accountid"]].strip()
        if not checked and contact:
            checked = True
            kind = NOT_CONTACT.get(contact[:3])
            if kind is not None:
                raise FileFormatError(
                    f"line {record.line}: Id {contact!r} is the id of {_article(kind)}, "
                    f"not of a Contact ({SUPPORTED})")
        if not account and contact:
            yield Row(record.line, skipped=True)  # a contact without an account: no link
            continue
        data = {"type": "person_linked", "person_id": contact, "account_id": account,
                "occurred_at": cells[created].strip() if created is not None else EPOCH,
                "source": SOURCE, "source_id": f"contact:{contact}:account:{account}"}
        yield _fact(record, data, {"person_id": header[columns["id"]],
                                   "account_id": header[columns["accountid"]],
                                   "occurred_at": header[created] if created is not None
                                   else "occurred_at"}, assume_tz)


def _fact(record: CsvRecord, data: dict[str, Any], names: dict[str, str],
          assume_tz: ZoneInfo | None) -> Row:
    """The fact row; a rejection names the export's column rather than the fact field."""
    data = {k: v for k, v in data.items() if v != "" or k == "value"}
    data["attributes"] = {k: v for k, v in data.get("attributes", {}).items() if v}
    row = fact_row(record.line, data, record.raw, assume_tz)
    bad = row.rejection
    if bad is not None and bad.field in names:
        return reject(record.line, names[bad.field], bad.reason, record.raw)
    return row


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "AEIOU" else f"a {kind}"
