"""HubSpot deals, merged ids and legacy v1/v2 objects through `lifecycle import --format
hubspot`, asserted fact by fact, and the deal journeys of tests/data/make_deal_exports.py
deriving the same stamps and moves from HubSpot's v3 and legacy renderings as from the
canonical file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.hubspot_support import db
from tests.integration.import_support import Run, facts_of, rejects

DATA = Path(__file__).parent.parent / "data"
__all__ = ["db"]  # fixtures


def write(path: Path, value: Any) -> Path:
    path.write_text(value if isinstance(value, str) else json.dumps(value), "utf-8")
    return path


# ---- the deal journeys: HubSpot's rendering derives what the canonical file does -----------

RENDERINGS = {
    "v3": [["deals_hubspot_contacts.json", "--format", "hubspot"],
           ["deals_hubspot_companies.jsonl", "--format", "hubspot", "--object", "companies"],
           ["deals_hubspot_deals.json", "--format", "hubspot", "--object", "deals"]],
    "legacy": [["deals_hubspot_v1_contacts.json", "--format", "hubspot"],
               ["deals_hubspot_v2_companies.json", "--format", "hubspot", "--object",
                "companies"],
               ["deals_hubspot_v1_deals.json", "--format", "hubspot", "--object", "deals"]]}


def _reports(run: Run, url: str) -> list[str]:
    out = []
    for level in ("person", "account", "opportunity"):
        stamps = run("--db", url, "report", "stamps", "--level", level, "--format", "csv")
        moves = run("--db", url, "report", "moves", "--level", level, "--format", "csv")
        assert stamps.exit_code == moves.exit_code == 0
        out.append(stamps.stdout)
        out.append("\n".join(line.rsplit(",", 1)[0] for line in moves.stdout.splitlines()))
    return out


@pytest.mark.parametrize("rendering", ["v3", "legacy"])
def test_deal_rendering_derives_the_canonical_stamps_and_moves(
        run: Run, tmp_path: Path, store_url: str, rendering: str) -> None:
    canonical = f"sqlite:///{tmp_path / 'canonical.db'}"
    assert run("--db", canonical, "init", "--definitions", "hubspot-default").exit_code == 0
    assert run("--db", canonical, "import", DATA / "deals.jsonl").exit_code == 0
    assert run("--db", store_url, "init", "--definitions", "hubspot-default").exit_code == 0
    files = RENDERINGS[rendering]
    outputs = [run("--db", store_url, "import", DATA / file, *options).stdout
               for file, *options in files]
    assert outputs == [f"{file}: read {count}, stored {count}, duplicate 0, rejected 0\n"
                       for (file, *_), count in zip(files, (11, 2, 22), strict=True)]
    expected = _reports(run, canonical)
    person_stamps, _, _, _, deal_stamps, deal_moves = expected
    # the journeys are all there: the duplicate 303 is no subject of its own, its history
    # (lead, then MQL, before 301 existed) is 301's; every deal moved
    assert "person,303," not in person_stamps
    assert "person,301,marketingqualifiedlead,2024-03-02T09:15:27.412000Z," in person_stamps
    assert "person,302,customer,2024-04-13T09:15:27.412000Z" in person_stamps
    assert deal_stamps.count("\n") == 23 and deal_moves.count("\n") == 6
    assert _reports(run, store_url) == expected
    assert run("--db", store_url, "verify").exit_code == 0
    before = facts_of(store_url)
    for file, *options in files:  # again: nothing new
        again = run("--db", store_url, "import", DATA / file, *options)
        assert ", stored 0, " in again.stdout and again.exit_code == 0
    assert facts_of(store_url) == before
    # the open existingbusiness deal 7003 flags Acme (and its people) for renewal
    flags = run("--db", store_url, "report", "flags", "--as-of", "2024-10-01T00:00:00Z",
                "--format", "csv")
    raised = "9100000001,renewal,2024-09-20T09:15:27.412000Z"
    assert flags.stdout.splitlines()[1:] == [
        f"{raised},account,9100000001,2024-09-20T09:15:27.412000Z,customer",
        f"{raised},person,301,2024-09-20T09:15:27.412000Z,customer",
        f"{raised},person,302,2024-09-20T09:15:27.412000Z,opportunity"]
    before = run("--db", store_url, "report", "flags", "--as-of", "2024-09-01T00:00:00Z",
                 "--format", "csv")
    assert before.stdout.splitlines()[1:] == []


# ---- deals, fact by fact --------------------------------------------------------------------

DEAL_V3 = {  # GET /crm/v3/objects/deals?propertiesWithHistory=dealstage&associations=...
    "id": "18472612", "createdAt": "2024-02-01T10:00:00.000Z",
    "updatedAt": "2024-03-01T10:00:00.000Z", "archived": False,
    "properties": {"dealtype": "newbusiness", "dealstage": "closedwon",
                   "hs_object_id": "18472612"},
    "propertiesWithHistory": {"dealstage": [
        {"value": "closedwon", "timestamp": "2024-03-01T10:00:00.000Z",
         "sourceType": "CRM_UI", "sourceId": "userId:31877001", "updatedByUserId": 31877001},
        {"value": "appointmentscheduled", "timestamp": "2024-02-01T10:00:00.000Z",
         "sourceType": "CRM_UI", "sourceId": "userId:31877001", "updatedByUserId": 31877001}]},
    "associations": {
        "companies": {"results": [{"id": "5001", "type": "deal_to_company_unlabeled"},
                                  {"id": "5002", "type": "deal_to_company"},
                                  {"id": "5002", "type": "deal_to_company_unlabeled"}]},
        "contacts": {"results": [{"id": "901", "type": "deal_to_contact"},
                                 {"id": "902", "type": "decision_maker"}]}}}
DEAL_V4 = {  # associations as the v4 API gives them; no dealtype
    "id": "18472613", "createdAt": "2024-02-05T08:30:00Z",
    "properties": {"hs_object_id": "18472613"},
    "propertiesWithHistory": {"dealstage": []},
    "associations": {
        "companies": {"results": [{"toObjectId": 5001, "associationTypes": [
            {"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"},
            {"category": "HUBSPOT_DEFINED", "typeId": 341, "label": None}]}]},
        "contacts": {"results": [{"toObjectId": 903, "associationTypes": [
            {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None},
            {"category": "USER_DEFINED", "typeId": 12, "label": "Champion"},
            {"category": "USER_DEFINED", "typeId": 14, "label": "Budget holder"}]}]}}}


def test_a_deal_becomes_links_roles_and_stage_changes(run: Run, db: str,
                                                      tmp_path: Path) -> None:
    path = write(tmp_path / "deals.json", {"results": [DEAL_V3, DEAL_V4]})
    result = run("--db", db, "import", path, "--format", "hubspot", "--object", "deals")
    assert (result.exit_code, result.stdout) == (
        0, "deals.json: read 8, stored 8, duplicate 0, rejected 0\n")
    facts = facts_of(db)
    created, created4 = "2024-02-01T10:00:00Z", "2024-02-05T08:30:00Z"
    link = {"type": "opportunity_linked", "opportunity_id": "18472612", "occurred_at": created,
            "source": "hubspot", "kind": "newbusiness"}
    role = {"type": "contact_role", "opportunity_id": "18472612", "state": "added",
            "occurred_at": created, "source": "hubspot"}
    stage = {"type": "status_changed", "opportunity_id": "18472612", "field": "dealstage",
             "source": "hubspot", "actor": "31877001",
             "attributes": {"sourceId": "userId:31877001", "sourceType": "CRM_UI"}}
    got = facts["opportunity:18472612"]
    for fact in got:
        if fact["type"] == "status_changed":
            assert fact.pop("source_id").startswith(
                f"deal:18472612:dealstage:{fact['occurred_at']}:")
    assert got == [
        # the primary company (deal_to_company) last: the deal belongs to it
        {**link, "account_id": "5001", "source_id": "deal:18472612:company:5001:newbusiness"},
        {**link, "account_id": "5002", "source_id": "deal:18472612:company:5002:newbusiness"},
        {**role, "person_id": "901", "source_id": "deal:18472612:contact:901"},
        {**role, "person_id": "902", "role": "decision_maker",
         "source_id": "deal:18472612:contact:902:decision_maker"},
        {**stage, "value": "appointmentscheduled", "occurred_at": created},
        {**stage, "value": "closedwon", "occurred_at": "2024-03-01T10:00:00Z"}]
    assert facts["opportunity:18472613"] == [
        {"type": "opportunity_linked", "opportunity_id": "18472613", "account_id": "5001",
         "occurred_at": created4, "source": "hubspot",
         "source_id": "deal:18472613:company:5001"},
        {"type": "contact_role", "opportunity_id": "18472613", "person_id": "903",
         "state": "added", "role": "Budget holder, Champion", "occurred_at": created4,
         "source": "hubspot", "source_id": "deal:18472613:contact:903:Budget holder, Champion"}]
    again = run("--db", db, "import", path, "--format", "hubspot", "--object", "deals")
    assert again.stdout == "deals.json: read 8, stored 0, duplicate 8, rejected 0\n"
    assert run("--db", db, "verify").exit_code == 0


def test_bad_deal_associations_are_rejected(run: Run, db: str, tmp_path: Path) -> None:
    no_date = {**DEAL_V3, "createdAt": None, "properties": {"dealtype": "newbusiness"}}
    bad_link = {**DEAL_V4, "associations": {"contacts": {"results": [{"type": "x"}]}}}
    path = write(tmp_path / "bad.jsonl", json.dumps(no_date) + "\n" + json.dumps(bad_link))
    result = run("--db", db, "import", path, "--format", "hubspot", "--object", "deals",
                 "--rejects", "r.jsonl")
    assert (result.exit_code, result.stdout) == (
        3, "bad.jsonl: read 4, stored 2, duplicate 0, rejected 2\n")
    assert rejects(tmp_path / "r.jsonl") == [
        (1, "createdAt", "required field is missing: the deal's createdAt dates its "
                         "associations"),
        (2, "associations.contacts.results[0]",
         "a contact association needs the associated object's id")]


# ---- merged ids -----------------------------------------------------------------------------

def test_merged_ids_become_merged_facts(run: Run, db: str, tmp_path: Path) -> None:
    survivor = {  # the ids merged so far, with their history; then one more, no history
        "id": "401", "createdAt": "2024-01-02T00:00:00Z", "updatedAt": "2024-05-05T05:05:05Z",
        "properties": {"hs_merged_object_ids": "402;403;401;404"},
        "propertiesWithHistory": {
            "lifecyclestage": [{"value": "lead", "timestamp": "2024-01-02T00:00:00Z"}],
            "hs_merged_object_ids": [
                {"value": "402;403", "timestamp": "2024-03-03T00:00:00Z",
                 "sourceType": "MERGE"},
                {"value": "402", "timestamp": "2024-02-02T00:00:00Z", "sourceType": "MERGE"}]}}
    path = write(tmp_path / "c.json", [survivor])
    result = run("--db", db, "import", path, "--format", "hubspot")
    assert result.stdout == "c.json: read 4, stored 4, duplicate 0, rejected 0\n"
    merged = [f for f in facts_of(db)["person:401"] if f["type"] == "merged"]
    assert merged == [
        {"type": "merged", "person_id": "401", "merged_id": merged_id, "occurred_at": at,
         "source": "hubspot", "source_id": f"contact:401:merged:{merged_id}:{at}"}
        for merged_id, at in (("402", "2024-02-02T00:00:00Z"), ("403", "2024-03-03T00:00:00Z"),
                              ("404", "2024-05-05T05:05:05Z"))]  # 401 itself: skipped
    audit = run("--db", db, "audit", "person", "403")
    assert audit.exit_code == 0 and "401" in audit.stdout
    # a later export: the object changed since, so the undated merge of 404 has a later
    # date; another merged fact of the same pair, not a conflict
    later = {**survivor, "updatedAt": "2024-07-07T07:07:07Z"}
    again = run("--db", db, "import", write(tmp_path / "c2.json", [later]), "--format",
                "hubspot")
    assert again.stdout == "c2.json: read 4, stored 1, duplicate 3, rejected 0\n"
    assert run("--db", db, "verify").exit_code == 0


def test_company_and_deal_merges_name_their_own_subjects(run: Run, db: str,
                                                         tmp_path: Path) -> None:
    company = {"id": "77", "updatedAt": "2024-06-01T00:00:00Z",
               "properties": {"hs_merged_object_ids": "78"}, "propertiesWithHistory": {}}
    deal = {"id": "55", "updatedAt": "2024-06-02T00:00:00Z",
            "properties": {"hs_merged_object_ids": "56"}, "propertiesWithHistory": {}}
    run("--db", db, "import", write(tmp_path / "co.json", company), "--format", "hubspot",
        "--object", "companies")
    run("--db", db, "import", write(tmp_path / "d.json", deal), "--format", "hubspot",
        "--object", "deals")
    facts = facts_of(db)
    assert facts["account:77"] == [{
        "type": "merged", "account_id": "77", "merged_id": "78",
        "occurred_at": "2024-06-01T00:00:00Z", "source": "hubspot",
        "source_id": "company:77:merged:78:2024-06-01T00:00:00Z"}]
    assert facts["opportunity:55"] == [{
        "type": "merged", "opportunity_id": "55", "merged_id": "56",
        "occurred_at": "2024-06-02T00:00:00Z", "source": "hubspot",
        "source_id": "deal:55:merged:56:2024-06-02T00:00:00Z"}]


# ---- legacy v1 contacts and v2 companies ---------------------------------------------------

V1_CONTACTS = {  # GET /contacts/v1/lists/all/contacts/all?propertyMode=value_and_history
    # (HubSpot's legacy Contacts API reference: vid, canonical-vid, merged-vids,
    # merge-audits, identity-profiles; versions newest first, timestamps in milliseconds)
    "contacts": [{
        "addedAt": 1704186000000, "vid": 3234574, "canonical-vid": 3234574,
        "merged-vids": [3234575, 3234576], "portal-id": 62515, "is-contact": True,
        "properties": {
            "createdate": {"value": "1704186000000", "versions": [
                {"value": "1704186000000", "source-type": "CONTACTS", "source-id": None,
                 "source-label": None, "timestamp": 1704186000000, "selected": False}]},
            "lastmodifieddate": {"value": "1717200000000"},
            # the same ids again: each is merged once, its audit dating it
            "hs_merged_object_ids": {"value": "3234575;3234576", "versions": [
                {"value": "3234575;3234576", "source-type": "MERGE",
                 "timestamp": 1717200000000}]},
            "lifecyclestage": {"value": "marketingqualifiedlead", "versions": [
                {"value": "marketingqualifiedlead", "source-type": "CRM_UI",
                 "source-id": "userId:9046541", "source-label": None,
                 "updated-by-user-id": 9046541, "timestamp": 1706778000000,
                 "selected": False},
                {"value": "lead", "source-type": "FORM", "source-id": "form:a1b2",
                 "source-label": "Contact us", "timestamp": 1704186000000,
                 "selected": False}]}},
        "form-submissions": [], "list-memberships": [],
        "identity-profiles": [{"vid": 3234574, "saved-at-timestamp": 1704186000123,
                               "deleted-changed-timestamp": 0, "identities": [
                                   {"type": "EMAIL", "value": "ana@example.com",
                                    "timestamp": 1704186000000, "is-primary": True}]}],
        "merge-audits": [{"canonical-vid": 3234574, "vid-to-merge": 3234575,
                          "timestamp": 1709251200000, "user-id": 9046541,
                          "num-properties-moved": 12, "first-name": "Ana",
                          "last-name": "Ruiz", "entity-id": "auth:9046541"}]}],
    "has-more": False, "vid-offset": 3234574}
V2_COMPANIES = {  # GET /companies/v2/companies/paged?propertiesWithHistory=lifecyclestage
    "companies": [{
        "portalId": 62515, "companyId": 184896670, "isDeleted": False,
        "properties": {"lifecyclestage": {
            "value": "customer", "timestamp": 1712000000000, "source": "CRM_UI",
            "sourceId": "userId:9046541", "versions": [
                {"name": "lifecyclestage", "value": "customer", "timestamp": 1712000000000,
                 "source": "CRM_UI", "sourceId": "userId:9046541", "sourceVid": []},
                {"name": "lifecyclestage", "value": "lead", "timestamp": 1704186000000,
                 "source": "API", "sourceId": None, "sourceVid": []}]}},
        "additionalDomains": [], "stateChanges": [], "mergeAudits": []}],
    "has-more": False, "offset": 184896670}


def test_legacy_v1_contacts_import_with_their_versions_and_merges(
        run: Run, db: str, tmp_path: Path) -> None:
    path = write(tmp_path / "v1.json", V1_CONTACTS)
    result = run("--db", db, "import", path, "--format", "hubspot")
    assert (result.exit_code, result.stdout) == (
        0, "v1.json: read 5, stored 5, duplicate 0, rejected 0\n")
    facts = facts_of(db)["person:3234574"]
    merges = [(f["merged_id"], f["occurred_at"]) for f in facts if f["type"] == "merged"]
    assert merges == [("3234575", "2024-03-01T00:00:00Z"),  # its merge audit
                      ("3234576", "2024-06-01T00:00:00Z")]  # lastmodifieddate
    changes = [{k: v for k, v in f.items() if k != "source_id"}
               for f in facts if f["type"] == "status_changed"]
    assert changes == [
        {"type": "status_changed", "person_id": "3234574", "field": "createdate",
         "value": "1704186000000", "occurred_at": "2024-01-02T09:00:00Z", "source": "hubspot",
         "attributes": {"sourceType": "CONTACTS"}},
        {"type": "status_changed", "person_id": "3234574", "field": "lifecyclestage",
         "value": "lead", "occurred_at": "2024-01-02T09:00:00Z", "source": "hubspot",
         "actor": "form:a1b2", "attributes": {"sourceId": "form:a1b2",
                                               "sourceLabel": "Contact us",
                                               "sourceType": "FORM"}},
        {"type": "status_changed", "person_id": "3234574", "field": "lifecyclestage",
         "value": "marketingqualifiedlead", "occurred_at": "2024-02-01T09:00:00Z",
         "source": "hubspot", "actor": "9046541",
         "attributes": {"sourceId": "userId:9046541", "sourceType": "CRM_UI"}}]


def test_legacy_v2_companies_import_and_shapes_are_checked(run: Run, db: str,
                                                           tmp_path: Path) -> None:
    path = write(tmp_path / "v2.json", V2_COMPANIES)
    wrong = run("--db", db, "import", path, "--format", "hubspot", "--rejects", "r.jsonl")
    assert (wrong.exit_code, wrong.stdout) == (
        3, "v2.json: read 1, stored 0, duplicate 0, rejected 1\n")
    assert rejects(tmp_path / "r.jsonl") == [
        (1, None, "this is HubSpot's legacy v2 company shape, not contacts: "
                  "import it with --object companies")]
    result = run("--db", db, "import", path, "--format", "hubspot", "--object", "companies")
    assert result.stdout == "v2.json: read 2, stored 2, duplicate 0, rejected 0\n"
    assert [(f["value"], f["occurred_at"], f.get("actor")) for f in
            facts_of(db)["account:184896670"]] == [
        ("lead", "2024-01-02T09:00:00Z", None),
        ("customer", "2024-04-01T19:33:20Z", "userId:9046541")]


def test_legacy_v1_deals_import_with_their_associations(run: Run, db: str,
                                                        tmp_path: Path) -> None:
    deal = {  # GET /deals/v1/deal/paged?propertiesWithHistory=dealstage&includeAssociations
        "portalId": 62515, "dealId": 46789043, "isDeleted": False,
        "associations": {"associatedVids": [3234574], "associatedCompanyIds": [184896670],
                         "associatedDealIds": []},
        "properties": {
            "createdate": {"value": "1470145367594", "timestamp": 1470145367594,
                           "source": "SALES", "sourceId": None, "versions": []},
            "dealtype": {"value": "existingbusiness"},
            "dealstage": {"value": "closedwon", "timestamp": 1470145673676,
                          "source": "CRM_UI", "sourceId": "ana@example.com", "versions": [
                              {"name": "dealstage", "value": "closedwon",
                               "timestamp": 1470145673676, "source": "CRM_UI",
                               "sourceId": "ana@example.com", "sourceVid": []}]}}}
    path = write(tmp_path / "deals-v1.json", {"deals": [deal], "hasMore": False,
                                               "offset": 46789043})
    result = run("--db", db, "import", path, "--format", "hubspot", "--object", "deals")
    assert result.stdout == "deals-v1.json: read 3, stored 3, duplicate 0, rejected 0\n"
    created = "2016-08-02T13:42:47.594000Z"
    facts = facts_of(db)["opportunity:46789043"]
    assert facts[:2] == [
        {"type": "opportunity_linked", "opportunity_id": "46789043", "account_id": "184896670",
         "kind": "existingbusiness", "occurred_at": created, "source": "hubspot",
         "source_id": "deal:46789043:company:184896670:existingbusiness"},
        {"type": "contact_role", "opportunity_id": "46789043", "person_id": "3234574",
         "state": "added", "occurred_at": created, "source": "hubspot",
         "source_id": "deal:46789043:contact:3234574"}]
    assert (facts[2]["field"], facts[2]["value"], facts[2]["actor"]) == (
        "dealstage", "closedwon", "ana@example.com")
