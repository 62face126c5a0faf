"""Write the same lifecycle journeys as a canonical JSONL file, a HubSpot rendering and a
Salesforce rendering (the files next to this script, used by
tests/integration/test_importers.py). Run it again after changing JOURNEYS:

    python tests/data/make_exports.py

Every timestamp is a whole second (Salesforce stamps seconds only), and the journeys hold
the cases the importers must get right: equal timestamps (HubSpot lists the later-listed
entry as the earlier event; Salesforce keeps file order), cleared values, exits and
re-entries, backward moves, contacts linked to accounts, a deleted Salesforce row, and
Salesforce's `created`/`leadConverted` event rows.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
T0 = datetime(2024, 1, 8, 15, 2, 11, tzinfo=UTC)


def at(days: float = 0, seconds: int = 0) -> datetime:
    return T0 + timedelta(days=days, seconds=seconds)


# value vocabulary: HubSpot's lifecyclestage internal names (the canonical file uses them too)
SF_CONTACT_VALUES = {"subscriber": "Subscriber", "lead": "Lead",
                     "marketingqualifiedlead": "MQL", "salesqualifiedlead": "SQL",
                     "opportunity": "Opportunity", "customer": "Customer",
                     "unqualified": "Unqualified", "churned": "Churned", "": ""}
SF_LEAD_VALUES = {"lead": "Open - Not Contacted", "marketingqualifiedlead": "Working - Contacted",
                  "salesqualifiedlead": "Closed - Converted",
                  "unqualified": "Closed - Not Converted", "": ""}
SF_ACCOUNT_VALUES = {"lead": "Prospect", "customer": "Customer - Direct",
                     "churned": "Former Customer", "": ""}

#: person id -> kind (contact/lead), created, account, [(time, value)] in true order
PERSONS: dict[str, dict] = {
    "0038c00000PrS001": {"kind": "contact", "created": at(0), "account": "0018c00000AcC001",
                         "history": [(at(0), "lead"), (at(1), "marketingqualifiedlead"),
                                     (at(5), "salesqualifiedlead"), (at(30), "customer")]},
    # equal timestamps: MQL then SQL in the same second
    "0038c00000PrS002": {"kind": "contact", "created": at(0, 60), "account": "0018c00000AcC001",
                         "history": [(at(0, 60), "subscriber"),
                                     (at(2), "marketingqualifiedlead"),
                                     (at(2), "salesqualifiedlead"),
                                     (at(9), ""), (at(10), "lead")]},
    # an exit and a re-entry; equal timestamps on the way back in
    "0038c00000PrS003": {"kind": "contact", "created": at(1), "account": "0018c00000AcC002",
                         "history": [(at(1), "lead"), (at(3), "unqualified"),
                                     (at(40), "marketingqualifiedlead"),
                                     (at(40), "opportunity")]},
    # no account; a customer who churns in the second they became one
    "0038c00000PrS004": {"kind": "contact", "created": at(2), "account": None,
                         "history": [(at(2), "opportunity"), (at(12), "customer"),
                                     (at(12), "churned")]},
    # leads (Salesforce LeadHistory)
    "00Q8c00000LeD001": {"kind": "lead", "created": at(0, 5), "account": None,
                         "history": [(at(0, 5), "lead"), (at(4), "marketingqualifiedlead"),
                                     (at(4, 30), "lead"), (at(7), "salesqualifiedlead")]},
    "00Q8c00000LeD002": {"kind": "lead", "created": at(3), "account": None,
                         "history": [(at(3), "lead"), (at(6), "marketingqualifiedlead"),
                                     (at(6), "unqualified")]},
}
ACCOUNTS: dict[str, list[tuple[datetime, str]]] = {
    "0018c00000AcC001": [(at(0), "lead"), (at(25), "customer"), (at(25), "churned")],
    "0018c00000AcC002": [(at(1), "lead")],
}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def hubspot_iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def sf_iso(moment: datetime, offset: bool = False) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000") + ("+0000" if offset else "Z")


def canonical() -> list[dict]:
    facts = []
    for pid, person in PERSONS.items():
        if person["account"]:
            facts.append({"type": "person_linked", "person_id": pid,
                          "account_id": person["account"],
                          "occurred_at": iso(person["created"])})
        for when, value in person["history"]:
            facts.append({"type": "status_changed", "person_id": pid, "value": value,
                          "occurred_at": iso(when)})
    for aid, history in ACCOUNTS.items():
        for when, value in history:
            facts.append({"type": "status_changed", "account_id": aid, "value": value,
                          "occurred_at": iso(when)})
    return facts


def hubspot_entries(history: list[tuple[datetime, str]], user: int) -> list[dict]:
    """Newest first, as HubSpot lists them: of equal timestamps the later listed is the
    earlier event, so reversing the true order gives exactly that."""
    entries = []
    for n, (when, value) in enumerate(history):
        entry = {"value": value, "timestamp": hubspot_iso(when),
                 "sourceType": "CRM_UI" if n % 2 else "AUTOMATION_PLATFORM",
                 "sourceId": f"userId:{user}" if n % 2 else "1234567"}
        if n % 2:
            entry["updatedByUserId"] = user
        entries.append(entry)
    return entries[::-1]


def hubspot_contacts() -> dict:
    results = []
    for pid, person in PERSONS.items():
        obj = {"id": pid,
               "properties": {"createdate": hubspot_iso(person["created"]),
                              "lifecyclestage": person["history"][-1][1]},
               "propertiesWithHistory": {
                   "lifecyclestage": hubspot_entries(person["history"], 28604240)},
               "createdAt": hubspot_iso(person["created"]),
               "updatedAt": hubspot_iso(person["history"][-1][0]), "archived": False}
        if person["account"]:
            obj["associations"] = {"companies": {"results": [
                {"id": person["account"], "type": "contact_to_company"},
                {"id": person["account"], "type": "contact_to_company_unlabeled"}]}}
        results.append(obj)
    return {"status": "COMPLETE", "results": results,
            "startedAt": "2024-07-01T00:00:00.000Z", "completedAt": "2024-07-01T00:00:01.000Z"}


def hubspot_companies() -> list[dict]:
    return [{"id": aid, "properties": {"createdate": hubspot_iso(history[0][0])},
             "propertiesWithHistory": {"lifecyclestage": hubspot_entries(history, 31877001)},
             "createdAt": hubspot_iso(history[0][0]), "archived": False}
            for aid, history in ACCOUNTS.items()]


HISTORY_HEADER = ["Id", "IsDeleted", "{parent}", "CreatedById", "CreatedDate", "Field",
                  "DataType", "OldValue", "NewValue"]


def salesforce_history(kind: str) -> list[list[str]]:
    """Rows of LeadHistory / ContactHistory / AccountHistory, ordered by CreatedDate the way
    a SOQL export with ORDER BY CreatedDate, Id gives them (file order within a second)."""
    rows: list[tuple[datetime, int, list[str]]] = []
    seq = 0

    def add(when: datetime, parent: str, field: str, old: str, new: str, deleted: bool = False,
            datatype: str = "Picklist") -> None:
        nonlocal seq
        seq += 1
        rows.append((when, seq, [f"0178c{kind[0].upper()}{seq:011d}", str(deleted).lower(),
                                 parent, "0058c000009QwErAAK", sf_iso(when, seq % 2 == 0),
                                 field, datatype, old, new]))

    if kind == "account":
        for aid, history in ACCOUNTS.items():
            add(history[0][0], aid, "created", "", "", datatype="")
            previous = ""
            for when, value in history:
                add(when, aid, "Type", previous, SF_ACCOUNT_VALUES[value])
                previous = SF_ACCOUNT_VALUES[value]
        return [r for _, _, r in sorted(rows, key=lambda r: (r[0], r[1]))]
    values = SF_LEAD_VALUES if kind == "lead" else SF_CONTACT_VALUES
    field = "Status" if kind == "lead" else "Lifecycle_Stage__c"
    for pid, person in PERSONS.items():
        if person["kind"] != kind:
            continue
        add(person["created"], pid, "created", "", "", datatype="")
        previous = ""
        for n, (when, value) in enumerate(person["history"]):
            if n == 1 and kind == "contact":  # a deleted row: skipped, changes nothing
                add(when, pid, field, previous, "Customer", deleted=True)
            add(when, pid, field, previous, values[value])
            previous = values[value]
        if kind == "lead" and person["history"][-1][1] == "salesqualifiedlead":
            add(person["history"][-1][0], pid, "leadConverted", "", "", datatype="")
    return [r for _, _, r in sorted(rows, key=lambda r: (r[0], r[1]))]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    with (HERE / "journeys.jsonl").open("w", encoding="utf-8") as out:
        for fact in canonical():
            out.write(json.dumps(fact) + "\n")
    (HERE / "journeys_hubspot_contacts.json").write_text(
        json.dumps(hubspot_contacts(), indent=2) + "\n", "utf-8")
    with (HERE / "journeys_hubspot_companies.jsonl").open("w", encoding="utf-8") as out:
        for obj in hubspot_companies():
            out.write(json.dumps(obj) + "\n")
    for kind, parent in (("lead", "LeadId"), ("contact", "ContactId"),
                         ("account", "AccountId")):
        header = [c.format(parent=parent) for c in HISTORY_HEADER]
        if kind == "lead":  # Data Loader writes the column names in capitals
            header = [c.upper() for c in header]
        write_csv(HERE / f"journeys_sf_{kind}history.csv", header, salesforce_history(kind))
    write_csv(HERE / "journeys_sf_contacts.csv", ["Id", "AccountId", "CreatedDate", "LastName"],
              [[pid, p["account"] or "", sf_iso(p["created"]), f"Person {n}"]
               for n, (pid, p) in enumerate(PERSONS.items()) if p["kind"] == "contact"])


if __name__ == "__main__":
    main()
