"""Salesforce Contact and Lead records as facts.

A Contact with an `AccountId` is `person_linked` to it from its `CreatedDate`. A converted
Lead (`IsConverted` true) is the contact it became (SPEC §8): a `merged` fact (the contact
`ConvertedContactId` survives, the lead id is its alias), the contact `person_linked` to
`ConvertedAccountId`, and a `contact_role` ("Converted lead") on `ConvertedOpportunityId`,
all at the start of `ConvertedDate` (a date: the day's first second, UTC unless
--assume-tz). Leads not converted, deleted records and contacts without an account are
skipped (and counted). Every other column of the export is ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from lifecycle.importers.canonical import Row
from lifecycle.importers.records import CsvRecord
from lifecycle.importers.salesforce_columns import (
    EPOCH,
    SOURCE,
    Columns,
    day_start,
    fact,
    readable,
)

CONTACT_NEEDS = ("id", "accountid")
CONTACT_READS = frozenset({"id", "accountid", "createddate", "isdeleted"})
LEAD_NEEDS = ("id", "isconverted", "convertedcontactid", "converteddate")
LEAD_READS = frozenset({"id", "isdeleted", "isconverted", "convertedcontactid",
                        "convertedaccountid", "convertedopportunityid", "converteddate"})
#: The role a converted lead's contact holds on the opportunity the conversion created.
CONVERTED_ROLE = "Converted lead"


def contact_rows(records: Iterator[CsvRecord], columns: Columns,
                 assume_tz: ZoneInfo | None) -> Iterator[Row]:
    created = "createddate" if columns.has("createddate") else None
    names = {"person_id": columns.name("id"), "account_id": columns.name("accountid"),
             "occurred_at": columns.name("createddate") if created else "occurred_at"}
    for record, bad in readable(records, columns):
        if bad is not None:
            yield bad
            continue
        cells = record.cells
        contact, account = columns.get(cells, "id"), columns.get(cells, "accountid")
        if (not account and contact) or columns.flag(cells, "isdeleted"):
            yield Row(record.line, skipped=True)  # no account, or deleted: no link
            continue
        data = {"type": "person_linked", "person_id": contact, "account_id": account,
                "occurred_at": columns.get(cells, created) if created else EPOCH,
                "source": SOURCE, "source_id": f"contact:{contact}:account:{account}"}
        yield fact(record, data, names, assume_tz)


def lead_rows(records: Iterator[CsvRecord], columns: Columns,
              assume_tz: ZoneInfo | None) -> Iterator[Row]:
    names = {"merged_id": columns.name("id"), "person_id": columns.name("convertedcontactid"),
             "account_id": columns.name("convertedaccountid"),
             "opportunity_id": columns.name("convertedopportunityid"),
             "occurred_at": columns.name("converteddate")}
    for record, bad in readable(records, columns):
        if bad is not None:
            yield bad
            continue
        cells = record.cells
        lead, contact = columns.get(cells, "id"), columns.get(cells, "convertedcontactid")
        if not columns.flag(cells, "isconverted") or columns.flag(cells, "isdeleted") \
                or not contact:
            yield Row(record.line, skipped=True)  # not converted (or into no contact)
            continue
        at = day_start(columns.get(cells, "converteddate"), assume_tz)
        account = columns.get(cells, "convertedaccountid")
        opportunity = columns.get(cells, "convertedopportunityid")
        facts: list[dict[str, Any]] = [
            {"type": "merged", "person_id": contact, "merged_id": lead, "occurred_at": at,
             "source": SOURCE, "source_id": f"lead:{lead}:converted:{contact}"}]
        if account:
            facts.append({"type": "person_linked", "person_id": contact,
                          "account_id": account, "occurred_at": at, "source": SOURCE,
                          "source_id": f"lead:{lead}:contact:{contact}:account:{account}"})
        if opportunity:
            facts.append({"type": "contact_role", "opportunity_id": opportunity,
                          "person_id": contact, "state": "added", "role": CONVERTED_ROLE,
                          "occurred_at": at, "source": SOURCE,
                          "source_id": f"lead:{lead}:opportunity:{opportunity}:"
                                       f"contact:{contact}"})
        rows = [fact(record, data, names, assume_tz) for data in facts]
        failed = next((row for row in rows if row.rejection is not None), None)
        if failed is not None:
            yield failed  # one row of the export: all its facts, or its rejection
            continue
        yield from rows
