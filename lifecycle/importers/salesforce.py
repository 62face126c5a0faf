"""Salesforce exports as facts: which object a file holds, recognised in this one place,
and the reader of that object (`salesforce_history`, `salesforce_people`,
`salesforce_opportunities`).

The object is told by the columns that matter and by the key prefix of the first row's `Id`
(`003` Contact, `00Q` Lead, `006` Opportunity...); every other column is ignored, so a full
Data Export file (every field of the object, `JigsawContactId`, `ContractId`...) reads like
a Data Loader or SOQL export of a few columns. Column names match case-insensitively and
without underscores (Fivetran's `opportunity_id` is `OpportunityId`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import BinaryIO
from zoneinfo import ZoneInfo

from lifecycle.importers.canonical import FileFormatError, Row
from lifecycle.importers.common import read_header
from lifecycle.importers.records import CsvRecord, csv_records
from lifecycle.importers.salesforce_columns import Columns, article
from lifecycle.importers.salesforce_history import (
    FIELD_HISTORY_NEEDS,
    FIELD_HISTORY_READS,
    PARENTS,
    STAGE_HISTORY_NEEDS,
    STAGE_HISTORY_READS,
    field_history_rows,
    stage_history_rows,
)
from lifecycle.importers.salesforce_opportunities import (
    HISTORY_MODE_NEEDS,
    HISTORY_MODE_READS,
    OPPORTUNITY_NEEDS,
    OPPORTUNITY_READS,
    ROLE_NEEDS,
    ROLE_READS,
    opportunity_rows,
    role_rows,
)
from lifecycle.importers.salesforce_people import (
    CONTACT_NEEDS,
    CONTACT_READS,
    LEAD_NEEDS,
    LEAD_READS,
    contact_rows,
    lead_rows,
)

RowsOf = Callable[[Iterator[CsvRecord], Columns, ZoneInfo | None], Iterator[Row]]


@dataclass(frozen=True)
class SalesforceObject:
    """An export the importer reads: the columns it needs and reads, and its reader."""

    name: str
    needs: tuple[str, ...]
    reads: frozenset[str]
    rows: RowsOf


def _field_history(parent: str) -> SalesforceObject:
    obj = PARENTS[parent][0]
    return SalesforceObject(f"{obj}{'Field' if obj == 'Opportunity' else ''}History",
                            FIELD_HISTORY_NEEDS, FIELD_HISTORY_READS | {parent},
                            partial(_with_parent, parent=parent))


def _with_parent(records: Iterator[CsvRecord], columns: Columns, assume_tz: ZoneInfo | None,
                 parent: str) -> Iterator[Row]:
    return field_history_rows(records, columns, parent, assume_tz)


OBJECTS = {
    "LeadHistory": _field_history("leadid"),
    "ContactHistory": _field_history("contactid"),
    "AccountHistory": _field_history("accountid"),
    "OpportunityFieldHistory": _field_history("opportunityid"),
    "OpportunityHistory": SalesforceObject("OpportunityHistory", STAGE_HISTORY_NEEDS,
                                           STAGE_HISTORY_READS, stage_history_rows),
    "OpportunityContactRole": SalesforceObject("OpportunityContactRole", ROLE_NEEDS,
                                               ROLE_READS, role_rows),
    "Contact": SalesforceObject("Contact", CONTACT_NEEDS, CONTACT_READS, contact_rows),
    "Lead": SalesforceObject("Lead", LEAD_NEEDS, LEAD_READS, lead_rows),
    "Opportunity": SalesforceObject("Opportunity", OPPORTUNITY_NEEDS, OPPORTUNITY_READS,
                                    opportunity_rows),
}
HISTORY_MODE = SalesforceObject("Opportunity", HISTORY_MODE_NEEDS, HISTORY_MODE_READS,
                                opportunity_rows)
#: Salesforce key prefixes (the first three characters of an Id).
PREFIXES = {"003": "Contact", "00Q": "Lead", "006": "Opportunity", "00K":
            "OpportunityContactRole", "008": "OpportunityHistory"}
OTHER_PREFIXES = {"001": "Account", "005": "User", "00T": "Task", "00U": "Event",
                  "701": "Campaign", "00v": "CampaignMember", "017": "field-history row",
                  "500": "Case", "800": "Contract"}
SUPPORTED = ("supported Salesforce exports: LeadHistory, ContactHistory, AccountHistory or "
             "OpportunityFieldHistory (Id, IsDeleted, LeadId/ContactId/AccountId/OpportunityId,"
             " CreatedById, CreatedDate, Field, DataType, OldValue, NewValue), "
             "OpportunityHistory (Id, OpportunityId, CreatedDate, StageName), "
             "OpportunityContactRole (Id, OpportunityId, ContactId, Role, CreatedDate), "
             "Opportunity (Id, AccountId, Type, CreatedDate), Lead (Id, IsConverted, "
             "ConvertedContactId, ConvertedAccountId, ConvertedOpportunityId, ConvertedDate) "
             "and Contact (Id, AccountId[, CreatedDate])")


def read_salesforce(stream: BinaryIO, assume_tz: ZoneInfo | None = None) -> Iterator[Row]:
    return record_rows(csv_records(stream), assume_tz)


def record_rows(records: Iterator[CsvRecord], assume_tz: ZoneInfo | None = None
                ) -> Iterator[Row]:
    """The facts of an export's records, its header first (a file read, or the rows
    `lifecycle sync salesforce` fetched, in the same columns)."""
    header = read_header(records)
    if header is None:
        return
    columns = Columns(header)
    first = next(records, None)
    obj = recognise(columns, first)
    columns.check(obj.name, obj.needs, obj.reads, SUPPORTED)
    rest = records if first is None else itertools.chain([first], records)
    yield from obj.rows(rest, columns, assume_tz)


def recognise(columns: Columns, first: CsvRecord | None) -> SalesforceObject:
    """The object an export holds, from its header and the first row's Id."""
    if columns.has("field"):
        parents = [p for p in PARENTS if columns.has(p)]
        if len(parents) == 1:
            return _field_history(parents[0])
    elif columns.has("opportunityid", "stagename"):
        return OBJECTS["OpportunityHistory"]
    elif columns.has("opportunityid", "contactid"):
        return OBJECTS["OpportunityContactRole"]
    guess = _by_columns(columns)
    record_id = _first_id(columns, first)
    by_prefix = PREFIXES.get(record_id[:3])
    if by_prefix is not None and by_prefix != guess and \
            all(columns.has(c) for c in OBJECTS[by_prefix].needs):
        guess = by_prefix
    other = OTHER_PREFIXES.get(record_id[:3])
    if guess is not None and (other is not None or (by_prefix not in (None, guess))):
        assert first is not None
        raise FileFormatError(
            f"line {first.line}: Id {record_id!r} is the id of "
            f"{article(other or by_prefix or '')}, not of {article(guess)} ({SUPPORTED})")
    if guess is None and other is not None:
        assert first is not None
        raise FileFormatError(f"line {first.line}: Id {record_id!r} is the id of "
                              f"{article(other)}, which is not imported ({SUPPORTED})")
    if guess is None:
        raise FileFormatError(f"line {columns.line}: {_describe(columns)} cannot be "
                              f"imported ({SUPPORTED})")
    if guess == "Opportunity" and columns.has("fivetranstart"):
        return HISTORY_MODE
    return OBJECTS[guess]


def _by_columns(columns: Columns) -> str | None:
    if columns.has("field"):
        return None
    if columns.has("id", "isconverted") or columns.has("id", "convertedcontactid"):
        return "Lead"
    if columns.has("id", "accountid") and (columns.has("stagename") or columns.has("type")
                                           or columns.has("fivetranstart")):
        return "Opportunity"
    if columns.has("id", "accountid") and not columns.has("opportunityid"):
        return "Contact"
    return None


def _first_id(columns: Columns, first: CsvRecord | None) -> str:
    if first is None or first.problem is not None or "id" not in columns.index:
        return ""
    index = columns.index["id"]
    return first.cells[index].strip() if index < len(first.cells) else ""


#: Id columns that are lookups of every object, not the parent a history row belongs to.
NOT_PARENTS = {"id", "createdbyid", "ownerid", "lastmodifiedbyid", "masterrecordid",
               "reportstoid", "recordtypeid", "individualid"}


def _describe(columns: Columns) -> str:
    """What the header looks like, for the error message."""
    parent = next((key for key in columns.index if key.endswith("id")
                   and key not in NOT_PARENTS), None)
    if parent is None:
        return "a CSV with the columns " + ", ".join(columns.header[:12])
    if columns.has("field"):
        return f"a field-history export with the parent column {columns.name(parent)}"
    return f"an export with the parent column {columns.name(parent)}"
