"""Write the tutorial's example exports (docs/tutorial.md) next to this script.

    python docs/examples/make_examples.py

`samples/` holds a real-shaped HubSpot contact (51) and Salesforce lead history, kept
verbatim; the exports written here are those two plus a few more made-up journeys of a
small B2B company, so that the tutorial's reports have something to count: a skipped stage
(52), a backward move (53), an exit and a re-entry (54), a disqualification by lead status
(57), a Q2 conversion (56, 59, 60), contacts linked to three companies, a Salesforce lead
that is converted and one that is not, and a deleted Salesforce history row.

tests/docs/test_examples.py fails when the files differ from what this script writes.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

HERE = Path(__file__).parent
SAMPLES = HERE / "samples"

#: contact id -> (company id or None, [(timestamp, value, how)] oldest first, lead statuses)
#: `how` picks HubSpot's sourceType/sourceId for the entry.
CONTACTS: dict[str, tuple[str | None, list[tuple[str, str, str]], list[tuple[str, str]]]] = {
    # 51 is samples/hubspot_contact_lifecycle_history.json, linked to Northwind here.
    "52": ("9001", [("2024-01-03T10:12:40.118Z", "subscriber", "form"),
                    ("2024-01-15T09:30:05.402Z", "lead", "workflow"),
                    ("2024-03-12T16:45:10.930Z", "customer", "user")], []),
    "53": ("9002", [("2024-01-10T14:20:00.250Z", "lead", "form"),
                    ("2024-01-25T08:00:01.610Z", "marketingqualifiedlead", "workflow"),
                    ("2024-02-05T11:02:33.004Z", "lead", "user"),
                    ("2024-02-20T08:00:02.772Z", "marketingqualifiedlead", "workflow"),
                    ("2024-03-05T15:15:15.515Z", "salesqualifiedlead", "user")],
           [("2024-01-10T14:20:00.250Z", "NEW"), ("2024-03-05T15:15:15.515Z", "CONNECTED")]),
    "54": ("9003", [("2024-01-12T09:00:00.100Z", "lead", "form"),
                    ("2024-01-30T13:40:20.200Z", "other", "user"),
                    ("2024-03-18T10:10:10.300Z", "marketingqualifiedlead", "workflow")], []),
    "55": (None, [("2024-02-01T07:55:42.840Z", "subscriber", "form")], []),
    "56": ("9003", [("2024-02-10T12:00:00.000Z", "lead", "form"),
                    ("2024-03-01T08:00:03.123Z", "marketingqualifiedlead", "workflow"),
                    ("2024-04-09T17:20:45.678Z", "salesqualifiedlead", "user")], []),
    "57": ("9002", [("2024-01-20T10:00:00.500Z", "lead", "form")],
           [("2024-01-20T10:00:00.500Z", "NEW"),
            ("2024-01-27T09:12:00.000Z", "ATTEMPTED_TO_CONTACT"),
            ("2024-02-14T14:00:00.000Z", "UNQUALIFIED")]),
    "58": (None, [("2024-02-22T18:30:00.900Z", "subscriber", "form"),
                  ("2024-03-25T08:00:04.004Z", "marketingqualifiedlead", "workflow")], []),
    "59": ("9002", [("2024-03-08T09:45:00.000Z", "lead", "form"),
                    ("2024-03-29T08:00:02.020Z", "marketingqualifiedlead", "workflow"),
                    ("2024-04-15T10:30:00.000Z", "salesqualifiedlead", "user"),
                    ("2024-05-02T15:00:00.000Z", "opportunity", "integration")], []),
    "60": ("9003", [("2024-01-05T08:00:00.800Z", "marketingqualifiedlead", "workflow"),
                    ("2024-01-19T14:30:30.300Z", "salesqualifiedlead", "user"),
                    ("2024-02-26T11:11:11.111Z", "opportunity", "integration"),
                    ("2024-04-22T16:00:00.000Z", "customer", "integration"),
                    ("2024-09-10T09:00:00.000Z", "evangelist", "user")], []),
    "61": (None, [("2024-04-03T13:13:13.130Z", "lead", "form")], []),
    "62": ("9001", [("2024-01-04T08:30:00.000Z", "subscriber", "form"),
                    ("2024-02-28T12:00:00.000Z", "lead", "workflow")], []),
}
COMPANIES = {
    "9001": ("Northwind Traders", [("2024-01-03T10:12:41.000Z", "lead"),
                                   ("2024-03-12T16:45:11.000Z", "customer")]),
    "9002": ("Globex", [("2024-01-10T14:20:01.000Z", "lead")]),
    "9003": ("Initech", [("2024-01-05T08:00:01.000Z", "lead")]),
}
HOW = {  # how -> (sourceType, sourceId, updatedByUserId)
    "form": ("FORM", "form:3f1c2a7e", None),
    "workflow": ("AUTOMATION_PLATFORM", "1234567", None),
    "user": ("CRM_UI", "userId:28604240", 28604240),
    "integration": ("INTEGRATION", "1508169", None),
}

#: lead id -> rows (CreatedDate, Field, OldValue, NewValue, deleted) oldest first, appended
#: to samples/sf_leadhistory.csv (lead 00Q8c00001XyZ9aEAF).
LEADS: dict[str, list[tuple[str, str, str, str, bool]]] = {
    "00Q8c00001Lb2QfEAJ": [
        ("2024-02-05T09:14:00.000Z", "created", "", "", False),
        ("2024-02-07T10:00:00.000Z", "Status", "Open - Not Contacted", "Working - Contacted",
         False),
        ("2024-02-21T16:30:00.000Z", "Status", "Working - Contacted", "Closed - Not Converted",
         False)],
    "00Q8c00001Lb2RgEAJ": [
        ("2024-03-04T08:05:00.000Z", "created", "", "", False),
        ("2024-03-11T13:00:00.000Z", "Status", "Open - Not Contacted", "Working - Contacted",
         False),
        ("2024-03-11T13:00:05.000Z", "Status", "Working - Contacted", "Closed - Converted",
         True),  # a mistaken change, deleted in Salesforce: the importer skips it
        ("2024-03-27T11:20:00.000Z", "Status", "Working - Contacted", "Closed - Converted",
         False),
        ("2024-03-27T11:20:00.000Z", "leadConverted", "", "", False)],
    "00Q8c00001Lb2ShEAJ": [
        ("2024-03-20T15:45:00.000Z", "created", "", "", False)],
    "00Q8c00001Lb2TiEAJ": [
        ("2024-04-02T09:00:00.000Z", "created", "", "", False),
        ("2024-04-05T10:30:00.000Z", "Status", "Open - Not Contacted", "Working - Contacted",
         False)],
}


def hubspot_contacts() -> dict:
    sample = json.loads((SAMPLES / "hubspot_contact_lifecycle_history.json").read_text("utf-8"))
    sample["associations"] = _companies("9001")
    results = [sample]
    for contact_id, (company, history, statuses) in CONTACTS.items():
        created = history[0][0]
        obj: dict = {
            "id": contact_id,
            "properties": {"createdate": created, "hs_object_id": contact_id,
                           "lastmodifieddate": history[-1][0],
                           "lifecyclestage": history[-1][1]},
            "propertiesWithHistory": {
                "lifecyclestage": [_entry(when, value, how)
                                   for when, value, how in reversed(history)]},
            "createdAt": created, "updatedAt": history[-1][0], "archived": False,
        }
        if statuses:
            obj["properties"]["hs_lead_status"] = statuses[-1][1]
            obj["propertiesWithHistory"]["hs_lead_status"] = [
                _entry(when, value, "user") for when, value in reversed(statuses)]
        if company is not None:
            obj["associations"] = _companies(company)
        results.append(obj)
    return {"status": "COMPLETE", "results": results,
            "startedAt": "2024-10-01T06:00:00.000Z", "completedAt": "2024-10-01T06:00:02.000Z"}


def hubspot_companies() -> dict:
    results = []
    for company_id, (name, history) in COMPANIES.items():
        results.append({
            "id": company_id,
            "properties": {"createdate": history[0][0], "name": name,
                           "lifecyclestage": history[-1][1]},
            "propertiesWithHistory": {"lifecyclestage": [
                _entry(when, value, "workflow") for when, value in reversed(history)]},
            "createdAt": history[0][0], "updatedAt": history[-1][0], "archived": False})
    return {"status": "COMPLETE", "results": results}


def _entry(when: str, value: str, how: str) -> dict:
    source_type, source_id, user = HOW[how]
    entry: dict = {"value": value, "timestamp": when, "sourceType": source_type,
                   "sourceId": source_id}
    if user is not None:
        entry["updatedByUserId"] = user
    return entry


def _companies(company_id: str) -> dict:
    return {"companies": {"results": [{"id": company_id, "type": "contact_to_company"}]}}


def sf_leadhistory() -> str:
    out = io.StringIO()
    out.write((SAMPLES / "sf_leadhistory.csv").read_text("utf-8"))
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    number = 0
    for lead_id, rows in LEADS.items():
        for when, field, old, new, deleted in rows:
            number += 1
            writer.writerow([f"0178c00001Ex{number:04d}AAF", str(deleted).lower(), lead_id,
                             "0058c00000AbCdEAAV", when, field,
                             "" if field[:1].islower() else "Picklist", old, new])
    return out.getvalue()


#: The two converted leads of LEADS: (lead, contact, account, opportunity, ConvertedDate).
CONVERSIONS = [
    ("00Q8c00001XyZ9aEAF", "0038c00002JdOeQAAV", "0018c00000NwInDAAQ", "0068c00000LmN3oAAF",
     "2024-02-02"),
    ("00Q8c00001Lb2RgEAJ", "0038c00002KlMnOAAV", "0018c00000GlBxAAAQ", "0068c00000LmN4pAAF",
     "2024-03-27"),
]
#: opportunity -> (account, Type, CreatedDate); LmN3o's history is
#: samples/sf_opportunityhistory.csv, kept verbatim.
OPPORTUNITIES = {
    "0068c00000LmN3oAAF": ("0018c00000NwInDAAQ", "New Business", "2024-02-02T13:31:10.000Z"),
    "0068c00000LmN4pAAF": ("0018c00000GlBxAAAQ", "New Business", "2024-03-27T11:20:01.000Z"),
    "0068c00000LmN5qAAF": ("0018c00000NwInDAAQ", "Existing Customer - Upgrade",
                           "2024-05-06T09:12:00.000Z"),
}
#: opportunity -> [(CreatedDate, StageName, Amount, Probability, ForecastCategory)]
STAGE_ROWS = {
    "0068c00000LmN4pAAF": [
        ("2024-03-27T11:20:01.000Z", "Qualification", "18000.00", "10", "Pipeline"),
        ("2024-04-09T15:02:00.000Z", "Proposal/Price Quote", "18000.00", "75", "Pipeline"),
        ("2024-04-30T10:45:31.000Z", "Closed Lost", "18000.00", "0", "Omitted")],
    "0068c00000LmN5qAAF": [
        ("2024-05-06T09:12:00.000Z", "Qualification", "9000.00", "10", "Pipeline")],
}


def sf_leads() -> str:
    """A Lead export (Data Loader / SOQL) with the conversion columns."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["Id", "IsConverted", "ConvertedContactId", "ConvertedAccountId",
                     "ConvertedOpportunityId", "ConvertedDate"])
    converted = {lead: row for lead, *row in CONVERSIONS}
    for lead in ["00Q8c00001XyZ9aEAF", *LEADS]:
        writer.writerow([lead, "true", *converted[lead]] if lead in converted
                        else [lead, "false", "", "", "", ""])
    return out.getvalue()


def sf_opportunities() -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["Id", "AccountId", "Type", "CreatedDate", "IsDeleted"])
    for opportunity, (account, kind, created) in OPPORTUNITIES.items():
        writer.writerow([opportunity, account, kind, created, "false"])
    return out.getvalue()


def sf_opportunityhistory() -> str:
    out = io.StringIO()
    out.write((SAMPLES / "sf_opportunityhistory.csv").read_text("utf-8"))
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    number = 0
    for opportunity, rows in STAGE_ROWS.items():
        for when, stage, amount, probability, forecast in rows:
            number += 1
            writer.writerow([f"0088c00000Ex{number:04d}AAR", "false", opportunity,
                             "0058c00000AbCdEAAV", when, stage, amount,
                             f"{float(amount) * int(probability) / 100:.2f}", "2024-06-28",
                             probability, forecast, "", "", when])
    return out.getvalue()


def outputs() -> dict[str, str]:
    """File name -> content, for this script and the test that checks the files."""
    return {
        "hubspot_contacts.json": json.dumps(hubspot_contacts(), indent=2) + "\n",
        "hubspot_companies.json": json.dumps(hubspot_companies(), indent=2) + "\n",
        "sf_leadhistory.csv": sf_leadhistory(),
        "sf_leads.csv": sf_leads(),
        "sf_opportunities.csv": sf_opportunities(),
        "sf_opportunityhistory.csv": sf_opportunityhistory(),
    }


def main() -> None:
    for name, text in outputs().items():
        (HERE / name).write_text(text, "utf-8")


if __name__ == "__main__":
    main()
