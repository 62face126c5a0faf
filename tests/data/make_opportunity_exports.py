"""Write opportunity journeys as a canonical JSONL file and three Salesforce renderings
(tests/data/opportunities/, used by tests/integration/test_salesforce_opportunities.py).
Run it again after changing the journeys:

    python tests/data/make_opportunity_exports.py

The journeys: an account with a lost and a won new-business opportunity, an open renewal
and an open upgrade; a second account whose opportunity was lost and reopened; two contacts
with roles on the won opportunity (one role removed: the OpportunityContactRole deleted);
a lead worked to MQL and converted into a contact, an account and an opportunity that is
later won, so the contact becomes a customer through the opportunity cascade; a lead never
converted.

Renderings, each with the columns, quoting and timestamps of its source:
- `soql/`: Data Loader (headers in capitals, every cell quoted, `2024-03-04T06:49:18.000Z`)
  for Opportunity and OpportunityContactRole (Export All, so the deleted role comes too),
  and `sf data query --result-format csv` (`2024-03-04T06:49:18.000+0000`) for the others.
- `dataexport/`: the weekly Data Export (Setup, Data Export): every field of each object in
  the object reference's order, every cell quoted, checkboxes `0`/`1`, timestamps in UTC
  without an offset and with one-digit hours (`2024-03-04 6:49:18`). Column sets: the
  Salesforce Object Reference (Contact, Lead, Opportunity, OpportunityHistory,
  OpportunityContactRole, LeadHistory), standard fields of an org without custom fields.
- `fivetran/`: Fivetran's Salesforce tables (snake_case columns, `_fivetran_synced`,
  timestamps `2024-03-04 06:49:18` in UTC): `opportunity` in history mode with exactly the
  columns of fivetran/dbt_salesforce's `sf_opportunity_history_data.csv` seed (including its
  repeated `_fivetran_active`), `opportunity_contact_role`, `lead`, `contact` and
  `lead_history` in soft-delete mode (`is_deleted`).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).parent / "opportunities"
T0 = datetime(2024, 3, 4, 6, 49, 18, tzinfo=UTC)
USER = "0058c000009QwErAAK"


def at(days: float = 0, hours: float = 0, seconds: int = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours, seconds=seconds)


A1, A2, A3 = "0018c00000AcO001AAA", "0018c00000AcO002AAA", "0018c00000AcO003AAA"
C1, C2, C3 = "0038c00000CoN001AAA", "0038c00000CoN002AAA", "0038c00000CoN003AAA"
C4 = "0038c00000CoN004AAA"  # no account
L1, L2 = "00Q8c00000LeA001AAA", "00Q8c00000LeA002AAA"
O_LOST, O_WON, O_RENEWAL, O_UPGRADE = ("0068c00000OpP001AAA", "0068c00000OpP002AAA",
                                       "0068c00000OpP003AAA", "0068c00000OpP004AAA")
O_REOPENED, O_CONVERTED = "0068c00000OpP005AAA", "0068c00000OpP006AAA"

#: id -> account, Type, [(time, StageName)] (the first at its creation)
OPPORTUNITIES: dict[str, dict] = {
    O_LOST: {"account": A1, "type": "New Business",
             "stages": [(at(1), "Prospecting"), (at(3, 2), "Qualification"),
                        (at(9, 5), "Closed Lost")]},
    O_WON: {"account": A1, "type": "New Business",
            "stages": [(at(10), "Prospecting"), (at(12, 3), "Qualification"),
                       (at(20, 1), "Proposal/Price Quote"), (at(35, 2), "Closed Won")]},
    O_RENEWAL: {"account": A1, "type": "Renewal",
                "stages": [(at(300), "Prospecting"), (at(310), "Qualification")]},
    O_UPGRADE: {"account": A1, "type": "Existing Customer - Upgrade",
                "stages": [(at(120, 4), "Prospecting")]},
    O_REOPENED: {"account": A2, "type": "",
                 "stages": [(at(2), "Prospecting"), (at(15), "Closed Lost"),
                            (at(60, 2), "Prospecting"), (at(65), "Qualification")]},
    O_CONVERTED: {"account": A3, "type": "New Business",
                  "stages": [(at(40, 7), "Qualification"),
                             (at(55, 3), "Negotiation/Review"), (at(70), "Closed Won")]},
}
#: OpportunityHistory also logs amount changes: (opportunity, time) -> new amount
AMOUNT_CHANGES = {(O_WON, at(25)): "48000.00", (O_REOPENED, at(61)): "9000.00"}
#: OpportunityContactRole rows: id, opportunity, contact, role, primary, added, removed
ROLES = [
    ("00K8c00000RoL001AAA", O_WON, C1, "Decision Maker", True, at(10, 1), None),
    ("00K8c00000RoL002AAA", O_WON, C2, "Evaluator", False, at(11), at(16, 2)),
]
#: contact -> account, created (C3 is created by L1's conversion)
CONTACTS = {C1: (A1, at(0, 1)), C2: (A1, at(0, 2)), C3: (A3, at(40, 7)), C4: ("", at(5))}
#: lead -> created, [(time, Status)], conversion (contact, account, opportunity, time)
LEADS: dict[str, dict] = {
    L1: {"created": at(20, 3),
         "history": [(at(20, 3), "Open - Not Contacted"), (at(22, 9), "Working - Contacted"),
                     (at(40, 7), "Closed - Converted")],
         "converted": (C3, A3, O_CONVERTED, at(40, 7))},
    L2: {"created": at(30), "history": [(at(30), "Open - Not Contacted")],
         "converted": None},
}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


# ---- the canonical facts -------------------------------------------------------------------

def canonical() -> list[dict]:
    facts: list[dict] = []
    for contact, (account, created) in CONTACTS.items():
        if account:
            facts.append({"type": "person_linked", "person_id": contact,
                          "account_id": account, "occurred_at": iso(created)})
    for lead, data in LEADS.items():
        for when, value in data["history"]:
            facts.append({"type": "status_changed", "person_id": lead, "field": "Status",
                          "value": value, "occurred_at": iso(when)})
        if data["converted"]:
            contact, account, opportunity, when = data["converted"]
            midnight = iso(when.replace(hour=0, minute=0, second=0))
            facts += [{"type": "merged", "person_id": contact, "merged_id": lead,
                       "occurred_at": midnight},
                      {"type": "person_linked", "person_id": contact, "account_id": account,
                       "occurred_at": midnight},
                      {"type": "contact_role", "opportunity_id": opportunity,
                       "person_id": contact, "role": "Converted lead", "occurred_at": midnight}]
    for opportunity, data in OPPORTUNITIES.items():
        link = {"type": "opportunity_linked", "opportunity_id": opportunity,
                "account_id": data["account"], "occurred_at": iso(data["stages"][0][0])}
        if data["type"]:
            link["kind"] = data["type"]
        facts.append(link)
        for when, stage in data["stages"]:
            facts.append({"type": "status_changed", "opportunity_id": opportunity,
                          "field": "StageName", "value": stage, "occurred_at": iso(when)})
    for _, opportunity, contact, role, _, added, removed in ROLES:
        facts.append({"type": "contact_role", "opportunity_id": opportunity,
                      "person_id": contact, "role": role, "occurred_at": iso(added)})
        if removed:
            facts.append({"type": "contact_role", "opportunity_id": opportunity,
                          "person_id": contact, "state": "removed", "role": role,
                          "occurred_at": iso(removed)})
    return facts


# ---- records, as field dicts ---------------------------------------------------------------

def stage_rows() -> list[dict]:
    """OpportunityHistory rows in CreatedDate order: one per stage change and amount change."""
    rows = []
    for opportunity, data in OPPORTUNITIES.items():
        amount = "10000.00"
        for when, stage in data["stages"]:
            rows.append((when, opportunity, stage, amount))
        for (changed, when), new in AMOUNT_CHANGES.items():
            if changed == opportunity:
                current = [s for w, s in data["stages"] if w <= when][-1]
                rows.append((when, opportunity, current, new))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [{"Id": f"0088c00000HiS{n:03d}AAA", "OpportunityId": opportunity,
             "CreatedById": USER, "CreatedDate": when, "StageName": stage, "Amount": amount,
             "IsDeleted": False, "SystemModstamp": when}
            for n, (when, opportunity, stage, amount) in enumerate(rows, 1)]


def opportunity_records() -> list[dict]:
    return [{"Id": opportunity, "IsDeleted": False, "AccountId": data["account"],
             "Name": f"Opportunity {n}", "StageName": data["stages"][-1][1],
             "Type": data["type"], "CloseDate": day(data["stages"][-1][0]),
             "CreatedDate": data["stages"][0][0], "CreatedById": USER, "OwnerId": USER,
             "LastModifiedDate": data["stages"][-1][0],
             "SystemModstamp": data["stages"][-1][0], "ContractId": "",
             "IsClosed": data["stages"][-1][1].startswith("Closed"),
             "IsWon": data["stages"][-1][1] == "Closed Won"}
            for n, (opportunity, data) in enumerate(OPPORTUNITIES.items(), 1)]


def role_records() -> list[dict]:
    return [{"Id": rid, "OpportunityId": opportunity, "ContactId": contact, "Role": role,
             "IsPrimary": primary, "CreatedDate": added, "CreatedById": USER,
             "LastModifiedDate": removed or added, "LastModifiedById": USER,
             "SystemModstamp": removed or added, "IsDeleted": removed is not None}
            for rid, opportunity, contact, role, primary, added, removed in ROLES]


def lead_records() -> list[dict]:
    records = []
    for n, (lead, data) in enumerate(LEADS.items(), 1):
        converted = data["converted"]
        records.append({
            "Id": lead, "IsDeleted": False, "LastName": f"Lead {n}", "Company": f"Co {n}",
            "Status": data["history"][-1][1], "IsConverted": converted is not None,
            "ConvertedDate": day(converted[3]) if converted else "",
            "ConvertedAccountId": converted[1] if converted else "",
            "ConvertedContactId": converted[0] if converted else "",
            "ConvertedOpportunityId": converted[2] if converted else "",
            "CreatedDate": data["created"], "CreatedById": USER, "OwnerId": USER,
            "LastModifiedDate": data["history"][-1][0],
            "SystemModstamp": data["history"][-1][0], "DandbCompanyId": "",
            "JigsawContactId": ""})
    return records


def contact_records() -> list[dict]:
    return [{"Id": contact, "IsDeleted": False, "AccountId": account,
             "LastName": f"Contact {n}", "CreatedDate": created, "CreatedById": USER,
             "OwnerId": USER, "LastModifiedDate": created, "SystemModstamp": created,
             "JigsawContactId": "", "ReportsToId": ""}
            for n, (contact, (account, created)) in enumerate(CONTACTS.items(), 1)]


def lead_history_records() -> list[dict]:
    rows = []
    for lead, data in LEADS.items():
        rows.append((data["created"], lead, "created", "", "", ""))
        previous = ""
        for when, value in data["history"]:
            rows.append((when, lead, "Status", previous, value, "Picklist"))
            previous = value
        if data["converted"]:
            rows.append((data["converted"][3], lead, "leadConverted", "", "", ""))
    rows.sort(key=lambda r: r[0])  # stable: same-second rows keep their order
    return [{"Id": f"0178c00000LhI{n:03d}AAA", "IsDeleted": False, "LeadId": lead,
             "CreatedById": USER, "CreatedDate": when, "Field": field, "DataType": datatype,
             "OldValue": old, "NewValue": new}
            for n, (when, lead, field, old, new, datatype) in enumerate(rows, 1)]


# ---- renderings ----------------------------------------------------------------------------

def write(path: Path, header: list[str], rows: list[dict], cell, quote_all: bool = True,
          names: list[str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
                            lineterminator="\n")
        writer.writerow(names or header)
        for row in rows:
            writer.writerow([cell(row.get(field, "")) for field in header])


def soql_cell(offset: str):
    def cell(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%dT%H:%M:%S.000") + offset
        return str(value)
    return cell


def export_cell(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d} {value.hour}:{value:%M:%S}"  # one-digit hours
    return str(value)


def fivetran_cell(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


SOQL = {
    "Opportunity.csv": (["Id", "AccountId", "Type", "CreatedDate", "IsDeleted",
                         "LastModifiedDate"], opportunity_records, "Z", True),
    "OpportunityHistory.csv": (["Id", "OpportunityId", "CreatedById", "CreatedDate",
                                "StageName", "Amount", "IsDeleted"], stage_rows, "+0000",
                               False),
    "OpportunityContactRole.csv": (["Id", "OpportunityId", "ContactId", "Role", "IsPrimary",
                                    "CreatedDate", "LastModifiedDate", "IsDeleted"],
                                   role_records, "Z", True),
    "Lead.csv": (["Id", "IsConverted", "ConvertedContactId", "ConvertedAccountId",
                  "ConvertedOpportunityId", "ConvertedDate"], lead_records, "+0000", False),
    "Contact.csv": (["Id", "AccountId", "CreatedDate"], contact_records, "+0000", False),
    "LeadHistory.csv": (["Id", "IsDeleted", "LeadId", "CreatedById", "CreatedDate", "Field",
                         "DataType", "OldValue", "NewValue"], lead_history_records, "+0000",
                        False),
}

# The Data Export's columns: every field of the object, in the object reference's order.
EXPORT = {
    "Contact.csv": (["Id", "IsDeleted", "MasterRecordId", "AccountId", "LastName",
                     "FirstName", "Salutation", "OtherStreet", "OtherCity", "OtherState",
                     "OtherPostalCode", "OtherCountry", "OtherLatitude", "OtherLongitude",
                     "OtherGeocodeAccuracy", "MailingStreet", "MailingCity", "MailingState",
                     "MailingPostalCode", "MailingCountry", "MailingLatitude",
                     "MailingLongitude", "MailingGeocodeAccuracy", "Phone", "Fax",
                     "MobilePhone", "HomePhone", "OtherPhone", "AssistantPhone", "ReportsToId",
                     "Email", "Title", "Department", "AssistantName", "LeadSource",
                     "Birthdate", "Description", "OwnerId", "HasOptedOutOfEmail",
                     "HasOptedOutOfFax", "DoNotCall", "CreatedDate", "CreatedById",
                     "LastModifiedDate", "LastModifiedById", "SystemModstamp",
                     "LastActivityDate", "LastCURequestDate", "LastCUUpdateDate",
                     "EmailBouncedReason", "EmailBouncedDate", "Jigsaw", "JigsawContactId",
                     "IndividualId"], contact_records),
    "Lead.csv": (["Id", "IsDeleted", "MasterRecordId", "LastName", "FirstName", "Salutation",
                  "Title", "Company", "Street", "City", "State", "PostalCode", "Country",
                  "Latitude", "Longitude", "GeocodeAccuracy", "Phone", "MobilePhone", "Fax",
                  "Email", "Website", "Description", "LeadSource", "Status", "Industry",
                  "Rating", "AnnualRevenue", "NumberOfEmployees", "OwnerId",
                  "HasOptedOutOfEmail", "IsConverted", "ConvertedDate", "ConvertedAccountId",
                  "ConvertedContactId", "ConvertedOpportunityId", "IsUnreadByOwner",
                  "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
                  "SystemModstamp", "LastActivityDate", "DoNotCall", "HasOptedOutOfFax",
                  "LastTransferDate", "Jigsaw", "JigsawContactId", "CompanyDunsNumber",
                  "DandbCompanyId", "EmailBouncedReason", "EmailBouncedDate", "IndividualId"],
                 lead_records),
    "Opportunity.csv": (["Id", "IsDeleted", "AccountId", "IsPrivate", "Name", "Description",
                         "StageName", "Amount", "Probability", "ExpectedRevenue",
                         "TotalOpportunityQuantity", "CloseDate", "Type", "NextStep",
                         "LeadSource", "IsClosed", "IsWon", "ForecastCategory",
                         "ForecastCategoryName", "CampaignId", "HasOpportunityLineItem",
                         "Pricebook2Id", "OwnerId", "CreatedDate", "CreatedById",
                         "LastModifiedDate", "LastModifiedById", "SystemModstamp",
                         "LastActivityDate", "FiscalQuarter", "FiscalYear", "Fiscal",
                         "ContactId", "LastViewedDate", "LastReferencedDate", "ContractId",
                         "HasOpenActivity", "HasOverdueTask", "LastAmountChangedHistoryId",
                         "LastCloseDateChangedHistoryId"], opportunity_records),
    "OpportunityHistory.csv": (["Id", "OpportunityId", "CreatedById", "CreatedDate",
                                "StageName", "Amount", "ExpectedRevenue", "CloseDate",
                                "Probability", "ForecastCategory", "SystemModstamp",
                                "IsDeleted", "PrevAmount", "PrevCloseDate"], stage_rows),
    "OpportunityContactRole.csv": (["Id", "OpportunityId", "ContactId", "Role", "IsPrimary",
                                    "CreatedDate", "CreatedById", "LastModifiedDate",
                                    "LastModifiedById", "SystemModstamp", "IsDeleted"],
                                   role_records),
    "LeadHistory.csv": (["Id", "IsDeleted", "LeadId", "CreatedById", "CreatedDate", "Field",
                         "DataType", "OldValue", "NewValue"], lead_history_records),
}

#: fivetran/dbt_salesforce integration_tests/seeds/sf_opportunity_history_data.csv's header
FIVETRAN_OPPORTUNITY = [
    "_fivetran_active", "_fivetran_start", "_fivetran_end", "_fivetran_synced", "account_id",
    "amount", "campaign_id", "close_date", "created_date", "description", "expected_revenue",
    "fiscal", "fiscal_quarter", "fiscal_year", "forecast_category", "forecast_category_name",
    "has_open_activity", "has_opportunity_line_item", "has_overdue_task", "id", "is_closed",
    "is_deleted", "is_excluded_from_territory_2_filter", "is_won", "last_activity_date",
    "last_referenced_date", "last_viewed_date", "lead_source", "name", "next_step",
    "owner_id", "pricebook_2_id", "probability", "record_type_id", "stage_name",
    "synced_quote_id", "territory_2_id", "type", "_fivetran_active"]


def snake(name: str) -> str:
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return out.replace("_i_d", "_id")


def fivetran_versions() -> list[dict]:
    """One row per version of each opportunity: each stage, and each amount change."""
    synced = at(400)
    rows = []
    for opportunity, data in sorted(OPPORTUNITIES.items()):
        changes = [(when, stage, "10000.00") for when, stage in data["stages"]]
        for (changed, when), amount in AMOUNT_CHANGES.items():
            if changed == opportunity:
                stage = [s for w, s in data["stages"] if w <= when][-1]
                changes.append((when, stage, amount))
        changes.sort(key=lambda c: c[0])
        for n, (when, stage, amount) in enumerate(changes):
            last = n == len(changes) - 1
            end = (changes[n + 1][0] - timedelta(milliseconds=1)).strftime(
                "%Y-%m-%d %H:%M:%S.%f")[:-3] if not last else "9999-12-31 23:59:59"
            rows.append({"_fivetran_active": last, "_fivetran_start": when,
                         "_fivetran_end": end, "_fivetran_synced": synced,
                         "account_id": data["account"], "amount": amount,
                         "created_date": data["stages"][0][0], "id": opportunity,
                         "is_closed": stage.startswith("Closed"), "is_deleted": False,
                         "is_won": stage == "Closed Won", "name": opportunity[-6:],
                         "owner_id": USER, "stage_name": stage, "type": data["type"]})
    return rows


def fivetran(records: list[dict], synced: datetime) -> list[dict]:
    return [{**{snake(k): v for k, v in r.items()}, "_fivetran_synced": synced}
            for r in records]


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with (OUT / "journeys.jsonl").open("w", encoding="utf-8") as out:
        for fact in canonical():
            out.write(json.dumps(fact) + "\n")
    for name, (header, records, offset, data_loader) in SOQL.items():
        write(OUT / "soql" / name, header, records(), soql_cell(offset), quote_all=data_loader,
              names=[h.upper() for h in header] if data_loader else None)
    for name, (header, records) in EXPORT.items():
        write(OUT / "dataexport" / name, header, records(), export_cell)
    write(OUT / "fivetran" / "opportunity.csv", FIVETRAN_OPPORTUNITY, fivetran_versions(),
          fivetran_cell, quote_all=False)
    synced = at(400)
    for name, (header, records, _, _) in SOQL.items():
        if name in ("Opportunity.csv", "OpportunityHistory.csv"):
            continue
        table = snake(name.removesuffix(".csv"))
        columns = ["_fivetran_synced", *map(snake, header)]
        if "is_deleted" not in columns:
            columns.append("is_deleted")
        write(OUT / "fivetran" / f"{table}.csv", columns, fivetran(records(), synced),
              fivetran_cell, quote_all=False)


if __name__ == "__main__":
    main()
