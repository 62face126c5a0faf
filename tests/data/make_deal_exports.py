"""Write deal journeys as a canonical JSONL file and as HubSpot's CRM v3 exports (the
files next to this script, used by tests/integration/test_hubspot_deals.py). Run it again
after changing the journeys:

    python tests/data/make_deal_exports.py

The HubSpot files follow the CRM v3 objects API (developers.hubspot.com, "CRM API |
Deals", "Contacts", "Companies"): objects read with `propertiesWithHistory` (history newest
first), `associations` as the list endpoint returns them (`{"id", "type"}`), one deal's in
the v4 associations shape (`{"toObjectId", "associationTypes"}`) instead, and the merged
contact ids in `hs_merged_object_ids`; the `_v1_`/`_v2_` files render the same records as
HubSpot's legacy APIs return them (v1 contacts with `vid`, `merge-audits` and
`associatedcompanyid`, v2 companies, v1 deals with `associatedCompanyIds`/`associatedVids`;
versions newest first, timestamps in milliseconds). The journeys, under the bundled
`hubspot-default` definitions (HubSpot's default deal pipeline, contact roles cascading):

- Acme (company 9100000001): a newbusiness deal lost (7001), then a newbusiness deal won
  (7002, two contacts), then an open existingbusiness renewal (7003);
- Globex (company 9100000002): a deal lost and reopened, then won (7004);
- contact 303 is a duplicate of contact 301, merged into it: its earlier history joins 301's.
  Its object is in the export as an export taken before the merge holds it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
T0 = datetime(2024, 3, 4, 9, 15, 27, 412000, tzinfo=UTC)
USER = 28604240

ACME, GLOBEX = "9100000001", "9100000002"
#: contact -> (created, company, [(time, lifecyclestage)])
CONTACTS: dict[str, tuple[float, str, list[tuple[float, str]]]] = {
    "301": (0, ACME, [(0, "subscriber"), (0.5, "lead")]),
    "302": (19, ACME, [(19, "lead")]),
    "303": (-5, ACME, [(-5, "lead"), (-2, "marketingqualifiedlead")]),
    "304": (45, GLOBEX, [(45, "lead")]),
}
MERGES = {"301": [("303", 15.0)]}  # survivor -> [(merged id, when)]
#: company -> (created, [(time, lifecyclestage)])
COMPANIES = {ACME: (0, [(0, "lead")]), GLOBEX: (45, [(45, "lead")])}
#: deal -> (dealtype or None, company, contacts, [(time, dealstage)], v4 associations?)
DEALS: dict[str, tuple[str | None, str, list[str], list[tuple[float, str]], bool]] = {
    "7001": ("newbusiness", ACME, ["301"],
             [(1, "appointmentscheduled"), (3, "qualifiedtobuy"), (10, "closedlost")], False),
    "7002": ("newbusiness", ACME, ["301", "302"],
             [(20, "appointmentscheduled"), (25, "presentationscheduled"),
              (30, "contractsent"), (40, "closedwon")], False),
    "7003": ("existingbusiness", ACME, ["302"],
             [(200, "appointmentscheduled"), (210, "decisionmakerboughtin")], True),
    "7004": (None, GLOBEX, ["304"],
             [(50, "qualifiedtobuy"), (60, "closedlost"), (90, "qualifiedtobuy"),
              (100, "closedwon")], False),
}


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def iso(days: float) -> str:
    moment = at(days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# ---- the canonical facts ---------------------------------------------------------------------

def canonical() -> list[dict[str, Any]]:
    facts: list[tuple[float, int, dict[str, Any]]] = []

    def add(days: float, fact: dict[str, Any]) -> None:
        facts.append((days, len(facts), {**fact, "occurred_at": iso(days)}))

    for contact, (created, company, history) in CONTACTS.items():
        add(created, {"type": "person_linked", "person_id": contact, "account_id": company})
        for days, value in history:
            add(days, {"type": "status_changed", "person_id": contact,
                       "field": "lifecyclestage", "value": value})
    for survivor, merged in MERGES.items():
        for merged_id, days in merged:
            add(days, {"type": "merged", "person_id": survivor, "merged_id": merged_id})
    for company, (_, history) in COMPANIES.items():
        for days, value in history:
            add(days, {"type": "status_changed", "account_id": company,
                       "field": "lifecyclestage", "value": value})
    for deal, (kind, company, contacts, history, _) in DEALS.items():
        created = history[0][0]
        link: dict[str, Any] = {"type": "opportunity_linked", "opportunity_id": deal,
                                "account_id": company}
        if kind:
            link["kind"] = kind
        add(created, link)
        for contact in contacts:
            add(created, {"type": "contact_role", "opportunity_id": deal,
                          "person_id": contact, "state": "added"})
        for days, value in history:
            add(days, {"type": "status_changed", "opportunity_id": deal,
                       "field": "dealstage", "value": value})
    return [fact for _, _, fact in sorted(facts, key=lambda f: (f[0], f[1]))]


# ---- HubSpot's rendering -------------------------------------------------------------------

def _entries(history: list[tuple[float, str]]) -> list[dict[str, Any]]:
    """History entries as HubSpot lists them: newest first."""
    return [{"value": value, "timestamp": iso(days), "sourceType": "CRM_UI",
             "sourceId": f"userId:{USER}", "updatedByUserId": USER}
            for days, value in reversed(history)]


def _object(object_id: str, created: float, history: dict[str, list[tuple[float, str]]],
            properties: dict[str, str]) -> dict[str, Any]:
    last = max(days for entries in history.values() for days, _ in entries)
    return {"id": object_id,
            "properties": {"createdate": iso(created), "hs_object_id": object_id,
                           "hs_lastmodifieddate": iso(last + 0.01), **properties},
            "propertiesWithHistory": {name: _entries(entries)
                                      for name, entries in history.items()},
            "createdAt": iso(created), "updatedAt": iso(last + 0.01), "archived": False}


def contacts() -> list[dict[str, Any]]:
    out = []
    for contact, (created, company, history) in CONTACTS.items():
        history_of: dict[str, list[tuple[float, str]]] = {"lifecyclestage": history}
        merged = MERGES.get(contact, [])
        if merged:  # the property lists every id merged so far, each change dated
            history_of["hs_merged_object_ids"] = [
                (days, ";".join(m for m, _ in merged[:n + 1]))
                for n, (_, days) in enumerate(merged)]
        obj = _object(contact, created, history_of, {"lifecyclestage": history[-1][1]})
        obj["associations"] = {"companies": {"results": [
            {"id": company, "type": "contact_to_company"},
            {"id": company, "type": "contact_to_company_unlabeled"}]}}
        out.append(obj)
    return out


def companies() -> list[dict[str, Any]]:
    return [_object(company, created, {"lifecyclestage": history},
                    {"lifecyclestage": history[-1][1]})
            for company, (created, history) in COMPANIES.items()]


def deals() -> list[dict[str, Any]]:
    out = []
    for deal, (kind, company, contact_ids, history, v4) in DEALS.items():
        properties = {"dealstage": history[-1][1], "pipeline": "default"}
        if kind:
            properties["dealtype"] = kind
        obj = _object(deal, history[0][0], {"dealstage": history}, properties)
        if v4:
            obj["associations"] = {
                "companies": {"results": [{"toObjectId": int(company), "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"},
                    {"category": "HUBSPOT_DEFINED", "typeId": 341, "label": None}]}]},
                "contacts": {"results": [{"toObjectId": int(c), "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}]}
                    for c in contact_ids]}}
        else:
            obj["associations"] = {
                "companies": {"results": [{"id": company, "type": "deal_to_company"},
                                          {"id": company, "type": "deal_to_company_unlabeled"}]},
                "contacts": {"results": [{"id": c, "type": "deal_to_contact"}
                                         for c in contact_ids]}}
        out.append(obj)
    return out


# ---- the legacy APIs' rendering -------------------------------------------------------------

def millis(days: float) -> int:
    return int(at(days).timestamp() * 1000)


def _versions(history: list[tuple[float, str]], name: str, v1: bool) -> dict[str, Any]:
    """A legacy property: its value and its versions, newest first (v1 contacts name the
    source `source-type`, v2 companies and v1 deals `source`)."""
    if v1:
        versions = [{"value": value, "source-type": "CRM_UI", "source-id": f"userId:{USER}",
                     "source-label": None, "updated-by-user-id": USER,
                     "timestamp": millis(days), "selected": False}
                    for days, value in reversed(history)]
    else:
        versions = [{"name": name, "value": value, "timestamp": millis(days),
                     "source": "CRM_UI", "sourceId": f"userId:{USER}", "sourceVid": [],
                     "updatedByUserId": USER} for days, value in reversed(history)]
    return {"value": history[-1][1], "versions": versions}


def legacy_contacts() -> dict[str, Any]:
    """`GET /contacts/v1/lists/all/contacts/all?propertyMode=value_and_history`."""
    out = []
    for contact, (created, company, history) in CONTACTS.items():
        merged = MERGES.get(contact, [])
        out.append({
            "addedAt": millis(created), "vid": int(contact), "canonical-vid": int(contact),
            "merged-vids": [int(m) for m, _ in merged], "portal-id": 62515,
            "is-contact": True,
            "properties": {"createdate": {"value": str(millis(created))},
                           "associatedcompanyid": {"value": company},
                           "lifecyclestage": _versions(history, "lifecyclestage", True)},
            "form-submissions": [], "list-memberships": [],
            "identity-profiles": [{"vid": int(contact), "saved-at-timestamp": millis(created),
                                   "deleted-changed-timestamp": 0, "identities": []}],
            "merge-audits": [{"canonical-vid": int(contact), "vid-to-merge": int(m),
                              "timestamp": millis(days), "user-id": USER,
                              "num-properties-moved": 3} for m, days in merged]})
    return {"contacts": out, "has-more": False, "vid-offset": int(max(CONTACTS))}


def legacy_companies() -> dict[str, Any]:
    """`GET /companies/v2/companies/paged?propertiesWithHistory=lifecyclestage`."""
    return {"companies": [
        {"portalId": 62515, "companyId": int(company), "isDeleted": False,
         "properties": {"createdate": {"value": str(millis(created))},
                        "lifecyclestage": _versions(history, "lifecyclestage", False)},
         "additionalDomains": [], "stateChanges": [], "mergeAudits": []}
        for company, (created, history) in COMPANIES.items()],
        "has-more": False, "offset": int(max(COMPANIES))}


def legacy_deals() -> dict[str, Any]:
    """`GET /deals/v1/deal/paged?includeAssociations=true&propertiesWithHistory=dealstage`."""
    out = []
    for deal, (kind, company, contact_ids, history, _) in DEALS.items():
        properties: dict[str, Any] = {
            "createdate": {"value": str(millis(history[0][0]))},
            "dealstage": _versions(history, "dealstage", False)}
        if kind:
            properties["dealtype"] = {"value": kind}
        out.append({"portalId": 62515, "dealId": int(deal), "isDeleted": False,
                    "associations": {"associatedVids": [int(c) for c in contact_ids],
                                     "associatedCompanyIds": [int(company)],
                                     "associatedDealIds": []},
                    "properties": properties})
    return {"deals": out, "hasMore": False, "offset": int(max(DEALS))}


def main() -> None:
    with (HERE / "deals.jsonl").open("w", encoding="utf-8") as out:
        for fact in canonical():
            out.write(json.dumps(fact) + "\n")
    (HERE / "deals_hubspot_contacts.json").write_text(
        json.dumps({"results": contacts(), "status": "COMPLETE"}, indent=1) + "\n", "utf-8")
    with (HERE / "deals_hubspot_companies.jsonl").open("w", encoding="utf-8") as out:
        for company in companies():
            out.write(json.dumps(company) + "\n")
    (HERE / "deals_hubspot_deals.json").write_text(
        json.dumps({"results": deals(), "paging": {}}, indent=1) + "\n", "utf-8")
    for name, document in (("v1_contacts", legacy_contacts()),
                           ("v2_companies", legacy_companies()),
                           ("v1_deals", legacy_deals())):
        (HERE / f"deals_hubspot_{name}.json").write_text(
            json.dumps(document, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
