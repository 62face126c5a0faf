"""CRM records made from the demo journeys (`lifecycle.sample`): HubSpot contacts and
companies with their property histories and associations, Salesforce field-history rows
and contacts, as the APIs return them; and the same records as the files a user would
export by hand (for "a sync equals a file import")."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lifecycle.connectors.salesforce import OBJECTS as SF_OBJECTS
from lifecycle.sample.journeys import generate

USERS = (28604240, 31877001, 40011234)


def hubspot_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}Z"


def salesforce_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class CrmData:
    """Everything the test servers serve; tests change it to simulate CRM activity."""

    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    companies: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: none from the demo journeys; tests add tests/data/make_deal_exports.py's
    deals: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Salesforce object -> rows as field dicts (the REST API's record shape, less attributes)
    salesforce: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _seq: int = 0

    # ---- HubSpot ------------------------------------------------------------------------

    def hubspot(self, object_type: str) -> dict[str, dict[str, Any]]:
        return {"contacts": self.contacts, "companies": self.companies,
                "deals": self.deals}[object_type]

    def add_entry(self, object_type: str, object_id: str, value: str, at: datetime,
                  prop: str = "lifecyclestage") -> None:
        """A property change in HubSpot: a history entry, newest first; modified now."""
        obj = self.hubspot(object_type)[object_id]
        entry = {"value": value, "timestamp": hubspot_time(at), "sourceType": "CRM_UI",
                 "sourceId": f"userId:{USERS[0]}", "updatedByUserId": USERS[0]}
        obj["propertiesWithHistory"].setdefault(prop, []).insert(0, entry)
        obj["properties"][prop] = value
        self.touch(object_type, object_id, at)

    def touch(self, object_type: str, object_id: str, at: datetime) -> None:
        obj = self.hubspot(object_type)[object_id]
        key = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
        obj["properties"][key] = hubspot_time(at)
        obj["updatedAt"] = hubspot_time(at)

    # ---- Salesforce ---------------------------------------------------------------------

    def next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}5e{self._seq:011d}AAK"[:18]

    def add_history(self, object_name: str, parent: str, field_name: str, old: str,
                    new: str, at: datetime, deleted: bool = False) -> None:
        parent_field = SF_OBJECTS[object_name].fields[2]
        self.salesforce[object_name].append({
            "Id": self.next_id("017"), "IsDeleted": deleted, parent_field: parent,
            "CreatedById": "0055e000001AbCdAAK", "CreatedDate": salesforce_time(at),
            "Field": field_name, "DataType": "Picklist" if field_name[0].isupper() else None,
            "OldValue": old or None, "NewValue": new or None})

    def queried(self, name: str) -> list[dict[str, Any]]:
        """The rows a query of the object returns (queryAll: deleted ones too)."""
        rows = self.salesforce[name]
        if SF_OBJECTS[name].condition == "IsConverted = true":
            rows = [r for r in rows if r["IsConverted"]]
        return rows

    # ---- the files a user would export ----------------------------------------------------

    def write_exports(self, folder: Path) -> dict[str, Path]:
        """The same records as files: a HubSpot JSON document per object (the listing's
        shape), a SOQL-export CSV per Salesforce object, rows ordered as the query."""
        files: dict[str, Path] = {}
        for object_type in ("contacts", "companies", "deals"):
            path = folder / f"hubspot_{object_type}.json"
            path.write_text(json.dumps({"results": list(self.hubspot(object_type).values())}),
                            "utf-8")
            files[f"hubspot:{object_type}"] = path
        for name, spec in SF_OBJECTS.items():
            path = folder / f"{name}.csv"
            rows = sorted(self.queried(name),
                          key=lambda r: (_instant(r[spec.modified].replace("+0000", "Z")),
                                         r["Id"]))
            with path.open("w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(spec.fields)
                for row in rows:
                    writer.writerow([_csv(row.get(f)) for f in spec.fields])
            files[f"salesforce:{name}"] = path
        return files


def _csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def make_data(persons: int = 160, accounts: int = 40, seed: int = 7) -> CrmData:
    """A few hundred records from the demo journeys."""
    facts = list(generate(persons, accounts, "2024-01-01", years=1, seed=seed))
    # The journeys' people and accounts only (this data makes its own opportunities), each
    # converted lead's statuses under its contact's id (this data makes its own leads).
    contact_of = {f["merged_id"]: f["person_id"] for f in facts if f["type"] == "merged"}
    facts = [{**f, "person_id": contact_of.get(f["person_id"], f["person_id"])}
             if "person_id" in f else f for f in facts
             if f["type"] not in ("merged", "contact_role", "opportunity_linked")
             and "opportunity_id" not in f]
    data = CrmData(salesforce={name: [] for name in SF_OBJECTS})
    histories: dict[tuple[str, str], list[tuple[datetime, str]]] = {}
    links: dict[str, list[tuple[datetime, str]]] = {}
    sf_status: dict[str, list[tuple[datetime, str]]] = {}
    sf_links: dict[str, list[tuple[datetime, str]]] = {}
    first_seen: dict[str, datetime] = {}
    numbers: dict[str, str] = {}  # a HubSpot company id is a number

    def company(account: str) -> str:
        return numbers.setdefault(account, str(8_300_000_001 + len(numbers)))

    for fact in facts:
        at = _instant(fact["occurred_at"])
        subject = fact.get("person_id") or fact.get("account_id")
        first_seen.setdefault(subject if "person_id" in fact else company(subject), at)
        kind, source = fact["type"], fact.get("source")
        if kind == "status_changed" and source == "hubspot":
            key = ("contacts", subject) if "person_id" in fact else ("companies",
                                                                      company(subject))
            histories.setdefault(key, []).append((at, fact["value"]))
        elif kind == "status_changed" and source == "salesforce":
            sf_status.setdefault(subject, []).append((at, fact["value"]))
        elif kind == "person_linked" and source == "hubspot":
            links.setdefault(subject, []).append((at, company(fact["account_id"])))
        elif kind == "person_linked" and source == "salesforce":
            sf_links.setdefault(subject, []).append((at, fact["account_id"]))
    for (object_type, object_id), history in histories.items():
        created = min(first_seen[object_id], history[0][0])
        entries = []
        for n, (at, value) in enumerate(history):
            entry: dict[str, Any] = {"value": value, "timestamp": hubspot_time(at)}
            if n % 3 == 1:
                entry.update(sourceType="CRM_UI", sourceId=f"userId:{USERS[n % 3]}",
                             updatedByUserId=USERS[n % 3])
            else:
                entry.update(sourceType="AUTOMATION_PLATFORM", sourceId="1234567",
                             sourceLabel="lifecycle workflow")
            entries.append(entry)
        modified = history[-1][0] + timedelta(minutes=5)
        key = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
        obj: dict[str, Any] = {
            "id": object_id,
            "properties": {"createdate": hubspot_time(created), key: hubspot_time(modified),
                           "hs_object_id": object_id, "lifecyclestage": history[-1][1]},
            "propertiesWithHistory": {"lifecyclestage": entries[::-1]},
            "createdAt": hubspot_time(created), "updatedAt": hubspot_time(modified),
            "archived": False}
        if object_type == "contacts" and object_id in links:
            companies = [account for _, account in links[object_id]]
            obj["associations"] = {"companies": {"results": [
                {"id": account, "type": "contact_to_company" if n == len(companies) - 1
                 else "contact_to_company_unlabeled"} for n, account in enumerate(companies)]}}
        data.hubspot(object_type)[object_id] = obj
    _salesforce(data, sf_status, sf_links, histories)
    _opportunities(data, sf_status, sf_links)
    return data


def _salesforce(data: CrmData, status: dict[str, list[tuple[datetime, str]]],
                links: dict[str, list[tuple[datetime, str]]],
                histories: dict[tuple[str, str], list[tuple[datetime, str]]]) -> None:
    rows: list[tuple[datetime, str, str, str, str, str, bool]] = []
    for person, history in status.items():
        lead = f"00Q5e{int(person):010d}AAA"
        rows.append((history[0][0], "LeadHistory", lead, "created", "", "", False))
        previous = ""
        for n, (at, value) in enumerate(history):
            rows.append((at, "LeadHistory", lead, "Status", previous, value, n % 7 == 3))
            previous = value
    for person, joined in links.items():
        contact = f"0035e{int(person):010d}AAA"
        at, account = joined[-1]
        data.salesforce["Contact"].append({
            "Id": contact, "AccountId": account, "CreatedDate": salesforce_time(joined[0][0]),
            "SystemModstamp": salesforce_time(at)})
        previous = ""
        for when, value in histories.get(("contacts", person), [])[:4]:
            rows.append((when, "ContactHistory", contact, "Lifecycle_Stage__c", previous,
                         value, False))
            previous = value
    for (object_type, account), history in histories.items():
        if object_type == "companies":
            previous = ""
            for at, value in history:
                rows.append((at, "AccountHistory", account, "Type", previous, value, False))
                previous = value
    for at, name, parent, field_name, old, new, deleted in sorted(rows, key=lambda r: r[0]):
        data.add_history(name, parent, field_name, old, new, at, deleted)


STAGES = ("Prospecting", "Qualification", "Proposal/Price Quote", "Closed Won")
TYPES = ("New Business", "Renewal", "Existing Customer - Upgrade", "")


def _opportunities(data: CrmData, status: dict[str, list[tuple[datetime, str]]],
                   links: dict[str, list[tuple[datetime, str]]]) -> None:
    """An opportunity on the account of each Salesforce contact, with its stage history
    (OpportunityHistory, and OpportunityFieldHistory for every other one), the contact's
    role on it (every fourth role deleted), some opportunities deleted; and leads, those of
    the contacts converted into them."""
    user = "0055e000001AbCdAAK"
    for n, (person, joined) in enumerate(sorted(links.items())):
        contact, account = f"0035e{int(person):010d}AAA", joined[-1][1]
        opportunity = data.next_id("006")
        created = joined[0][0] + timedelta(days=1)
        stages = STAGES[:2 + n % 3] if n % 5 else (*STAGES[:2], "Closed Lost")
        times = [created + timedelta(days=4 * k, hours=k) for k in range(len(stages))]
        deleted = n % 9 == 4
        data.salesforce["Opportunity"].append({
            "Id": opportunity, "AccountId": account, "Type": TYPES[n % 4] or None,
            "CreatedDate": salesforce_time(created), "IsDeleted": deleted,
            "LastModifiedDate": salesforce_time(times[-1] + timedelta(days=deleted)),
            "SystemModstamp": salesforce_time(times[-1] + timedelta(days=deleted))})
        previous = ""
        for stage, at in zip(stages, times, strict=True):
            data.salesforce["OpportunityHistory"].append({
                "Id": data.next_id("008"), "IsDeleted": deleted, "OpportunityId": opportunity,
                "CreatedById": user, "CreatedDate": salesforce_time(at), "StageName": stage})
            if n % 2:
                data.add_history("OpportunityFieldHistory", opportunity, "StageName",
                                 previous, stage, at)
            previous = stage
        removed = n % 4 == 3
        modified = created + timedelta(days=2 if removed else 0)
        data.salesforce["OpportunityContactRole"].append({
            "Id": data.next_id("00K"), "OpportunityId": opportunity, "ContactId": contact,
            "Role": "Decision Maker" if n % 2 else "Evaluator",
            "CreatedDate": salesforce_time(created), "IsDeleted": removed,
            "LastModifiedDate": salesforce_time(modified),
            "SystemModstamp": salesforce_time(modified)})
        if person in status and n % 3 != 1:  # the contact's lead, converted
            at = joined[0][0]
            data.salesforce["Lead"].append({
                "Id": f"00Q5e{int(person):010d}AAA", "IsConverted": True,
                "ConvertedContactId": contact, "ConvertedAccountId": account,
                "ConvertedOpportunityId": opportunity if n % 2 else None,
                "ConvertedDate": at.strftime("%Y-%m-%d"),
                "SystemModstamp": salesforce_time(at)})
    for person, history in sorted(status.items()):
        if person not in links:  # leads never converted: the query leaves them out
            data.salesforce["Lead"].append({
                "Id": f"00Q5e{int(person):010d}AAA", "IsConverted": False,
                "ConvertedContactId": None, "ConvertedAccountId": None,
                "ConvertedOpportunityId": None, "ConvertedDate": None,
                "SystemModstamp": salesforce_time(history[-1][0])})
