"""HubSpot property history from the warehouse: Fivetran's HubSpot connector tables and
Airbyte's HubSpot property-history streams through `lifecycle import --format hubspot`,
fact by fact.

The fixtures copy the real shapes: Fivetran's columns, their order and timestamp text
follow the `fivetran/dbt_hubspot` seeds and `fivetran/dbt_hubspot_source` (see
tests/data/hubspot_tables/README.md); Airbyte's follow the source-hubspot schemas
(contacts_property_history.json: `vid`, `canonical-vid`, `property`, `source-type`,
`timestamp` in milliseconds; deals_property_history.json: `dealId`, `property`, `sourceId`,
`updatedByUserId`) and its raw-record envelope (`_airbyte_data`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.hubspot_support import db
from tests.integration.import_support import Run, facts_of, rejects

TABLES = Path(__file__).parent.parent / "data" / "hubspot_tables"
__all__ = ["db"]  # fixtures
#: Fivetran and Airbyte write UTC without a zone: `--assume-tz UTC` (SPEC §2; docs/importing.md).
WAREHOUSE = ("--format", "hubspot", "--assume-tz", "UTC")



def write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


def stage(subject: tuple[str, str], value: str, at: str, kind: str, name: str,
          meta: dict[str, str], actor: str | None) -> dict[str, Any]:
    fact: dict[str, Any] = {"type": "status_changed", subject[0]: subject[1], "field": name,
                            "value": value, "occurred_at": at, "source": "hubspot"}
    if meta:
        fact["attributes"] = meta
    if actor is not None:
        fact["actor"] = actor
    return fact


def without_source_ids(facts: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    for fact in facts:
        assert fact.pop("source_id").startswith(prefix)
    return facts


def test_fivetran_contact_property_history(run: Run, db: str, tmp_path: Path) -> None:
    path = TABLES / "contact_property_history.csv"
    result = run("--db", db, "import", path, *WAREHOUSE, "--object", "contacts",
                 "--rejects", "r.jsonl")
    # the history-mode copy of the FORM row is the same change: a duplicate
    assert (result.exit_code, result.stdout) == (3, "contact_property_history.csv: read 5, "
                                                    "stored 3, duplicate 1, rejected 1\n")
    assert rejects(tmp_path / "r.jsonl") == [
        (6, "timestamp", "not an ISO 8601 timestamp: 'not a time'")]
    person = ("person_id", "12831901")
    # recorded in the table's order (the derivation sorts by occurred_at)
    assert without_source_ids(facts_of(db)["person:12831901"], "contact:12831901:") == [
        stage(person, "marketingqualifiedlead", "2020-06-05T15:38:08.001000Z", "contact",
              "lifecyclestage", {"sourceId": "userId:9046541", "sourceType": "CRM_UI"},
              "userId:9046541"),
        stage(person, "lead", "2019-07-11T18:02:11.037000Z", "contact", "lifecyclestage",
              {"sourceType": "FORM"}, None)]
    assert facts_of(db)["person:16909801"] == [{  # the row's own id is skipped
        "type": "merged", "person_id": "16909801", "merged_id": "16909802",
        "occurred_at": "2020-05-08T02:32:59.638000Z", "source": "hubspot",
        "source_id": "contact:16909801:merged:16909802:2020-05-08T02:32:59.638000Z"}]
    again = run("--db", db, "import", path, *WAREHOUSE)  # no --object: the columns
    assert again.stdout.startswith("contact_property_history.csv: read 5, stored 0, ")


def test_fivetran_company_property_history(run: Run, db: str, tmp_path: Path) -> None:
    path = TABLES / "company_property_history.csv"
    result = run("--db", db, "import", path, *WAREHOUSE, "--object", "companies")
    assert result.stdout == "company_property_history.csv: read 1, stored 1, duplicate 0, " \
                            "rejected 0\n"
    assert without_source_ids(facts_of(db)["account:2051482368"], "company:2051482368:") == [
        stage(("account_id", "2051482368"), "customer", "2019-09-10T22:01:17.446000Z",
              "company", "lifecyclestage", {"sourceType": "CALCULATED"}, None)]


def test_fivetran_deal_history_and_deal_stage_agree(run: Run, db: str,
                                                    tmp_path: Path) -> None:
    history = TABLES / "deal_property_history.csv"
    stages = TABLES / "deal_stage.csv"
    result = run("--db", db, "import", history, *WAREHOUSE, "--object", "deals")
    assert result.stdout == "deal_property_history.csv: read 2, stored 2, duplicate 0, " \
                            "rejected 0\n"
    deal = ("opportunity_id", "1100390922")
    meta = {"sourceId": "userId:31877001", "sourceType": "CRM_UI"}
    expected = [stage(deal, "appointmentscheduled", "2019-10-22T19:17:37.819000Z", "deal",
                      "dealstage", meta, "userId:31877001"),
                stage(deal, "closedwon", "2019-10-29T18:32:32Z", "deal", "dealstage", meta,
                      "userId:31877001")]
    assert without_source_ids(facts_of(db)["opportunity:1100390922"],
                              "deal:1100390922:dealstage:") == expected
    # deal_stage holds the same changes: the same facts, stored once
    result = run("--db", db, "import", stages, *WAREHOUSE, "--object", "deals")
    assert result.stdout == "deal_stage.csv: read 2, stored 0, duplicate 2, rejected 0\n"
    assert run("--db", db, "verify").exit_code == 0


def test_tables_name_their_object_type(run: Run, db: str, tmp_path: Path) -> None:
    stages = TABLES / "deal_stage.csv"
    wrong = run("--db", db, "import", stages, *WAREHOUSE, "--object", "contacts")
    assert (wrong.exit_code, wrong.stderr) == (
        1, "Error: deal_stage.csv: this is Fivetran's deal_stage table, which holds deals: "
           "import it with --object deals\n")
    links = write(tmp_path / "deal_company.csv",
                  "company_id,deal_id,type_id,category\n12345,6789,5,HUBSPOT_DEFINED\n")
    refused = run("--db", db, "import", links, *WAREHOUSE, "--object", "deals")
    assert refused.exit_code == 1
    assert refused.stderr.startswith(
        "Error: deal_company.csv: this is Fivetran's deal_company table: it dates no "
        "association")
    assert facts_of(db) == {}


AIRBYTE_CONTACTS = [  # source-hubspot contacts_property_history (v1 contacts API rows)
    {"vid": 3234574, "canonical-vid": 3234574, "portal-id": 62515, "is-contact": True,
     "property": "lifecyclestage", "value": "lead", "source-type": "FORM",
     "source-id": "form:a1b2", "source-label": None, "updated-by-user-id": None,
     "timestamp": 1704186000000, "selected": False, "source-vids": []},
    {"vid": 3234574, "canonical-vid": 3234574, "portal-id": 62515, "is-contact": True,
     "property": "lifecyclestage", "value": "salesqualifiedlead", "source-type": "CRM_UI",
     "source-id": "userId:9046541", "source-label": None, "updated-by-user-id": 9046541,
     "timestamp": 1706778000000, "selected": False, "source-vids": []}]
AIRBYTE_DEALS = [  # deals_property_history records in Airbyte's raw envelope
    {"_airbyte_raw_id": "0f6f2c1e-6a57-4a5d-9f3e-1d2f0c9b8a71",
     "_airbyte_extracted_at": "2024-06-01T00:00:00.000Z", "_airbyte_meta": {"changes": []},
     "_airbyte_data": {"dealId": 18472612, "property": "dealstage", "value": "closedwon",
                       "timestamp": "2024-03-01T10:00:00.000Z", "sourceType": "CRM_UI",
                       "sourceId": "userId:31877001", "updatedByUserId": 31877001,
                       "portalId": 62515, "isDeleted": False}}]


def test_airbyte_property_history_streams(run: Run, db: str, tmp_path: Path) -> None:
    contacts = write(tmp_path / "contacts_property_history.jsonl",
                     "".join(json.dumps(r) + "\n" for r in AIRBYTE_CONTACTS))
    deals = write(tmp_path / "deals_property_history.jsonl",
                  "".join(json.dumps(r) + "\n" for r in AIRBYTE_DEALS))
    assert run("--db", db, "import", contacts, *WAREHOUSE).stdout == \
        "contacts_property_history.jsonl: read 2, stored 2, duplicate 0, rejected 0\n"
    assert run("--db", db, "import", deals, *WAREHOUSE, "--object",
               "deals").stdout == \
        "deals_property_history.jsonl: read 1, stored 1, duplicate 0, rejected 0\n"
    facts = facts_of(db)
    person = ("person_id", "3234574")
    assert without_source_ids(facts["person:3234574"], "contact:3234574:lifecyclestage:") == [
        stage(person, "lead", "2024-01-02T09:00:00Z", "contact", "lifecyclestage",
              {"sourceId": "form:a1b2", "sourceType": "FORM"}, "form:a1b2"),
        stage(person, "salesqualifiedlead", "2024-02-01T09:00:00Z", "contact",
              "lifecyclestage", {"sourceId": "userId:9046541", "sourceType": "CRM_UI"},
              "9046541")]
    assert without_source_ids(facts["opportunity:18472612"], "deal:18472612:dealstage:") == [
        stage(("opportunity_id", "18472612"), "closedwon", "2024-03-01T10:00:00Z", "deal",
              "dealstage", {"sourceId": "userId:31877001", "sourceType": "CRM_UI"},
              "31877001")]
    for path, options in ((contacts, []), (deals, ["--object", "deals"])):
        again = run("--db", db, "import", path, *WAREHOUSE, *options)
        assert ", stored 0, " in again.stdout and ", rejected 0" in again.stdout


def test_airbyte_rows_as_csv_with_their_envelope(run: Run, db: str,
                                                 tmp_path: Path) -> None:
    data = json.dumps(AIRBYTE_DEALS[0]["_airbyte_data"]).replace('"', '""')
    path = write(tmp_path / "deals.csv", "_airbyte_ab_id,_airbyte_emitted_at,_airbyte_data\n"
                 f'0f6f2c1e,1717200000000,"{data}"\n')
    result = run("--db", db, "import", path, *WAREHOUSE, "--object", "deals")
    assert result.stdout == "deals.csv: read 1, stored 1, duplicate 0, rejected 0\n"
    assert [f["value"] for f in facts_of(db)["opportunity:18472612"]] == ["closedwon"]


def test_deleted_rows_are_skipped_and_assume_tz_reads_local_warehouse_time(
        run: Run, db: str, tmp_path: Path) -> None:
    path = write(tmp_path / "company_property_history.csv",
                 "company_id,timestamp,source,source_id,name,value,_fivetran_deleted\n"
                 "51,2024-03-01 9:00:00,CRM_UI,,lifecyclestage,lead,false\n"
                 "52,2024-03-01 9:00:00,CRM_UI,,lifecyclestage,lead,true\n")
    result = run("--db", db, "import", path, "--format", "hubspot", "--assume-tz",
                 "Europe/Berlin")
    assert result.stdout == "company_property_history.csv: read 2, stored 1, duplicate 0, " \
                            "rejected 0, skipped 1\n"
    assert [(f["account_id"], f["occurred_at"]) for f in facts_of(db)["account:51"]] == [
        ("51", "2024-03-01T08:00:00Z")]
    assert "account:52" not in facts_of(db)


def test_fivetran_rows_as_json_lines(run: Run, db: str, tmp_path: Path) -> None:
    rows = [{"deal_id": 1100390922, "timestamp": "2019-10-22 19:17:37.819 UTC",
             "_fivetran_synced": "2020-05-19 15:45:36.499 UTC", "source": "CRM_UI",
             "name": "dealstage", "source_id": "userId:31877001",
             "value": "appointmentscheduled"},
            {"contact_id": 12831901, "timestamp": "2019-07-11 18:02:11.037",
             "source": "FORM", "name": "lifecyclestage", "value": "lead"}]
    path = write(tmp_path / "rows.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    result = run("--db", db, "import", path, *WAREHOUSE, "--object", "deals",
                 "--rejects", "r.jsonl")
    assert (result.exit_code, result.stdout) == (
        3, "rows.jsonl: read 2, stored 1, duplicate 0, rejected 1\n")
    assert rejects(tmp_path / "r.jsonl") == [
        (2, None, "this is Fivetran's contact_property_history table, which holds contacts: "
                  "import it with --object contacts")]
    # the same change as deal_property_history.csv's first row: one fact
    csv = run("--db", db, "import", TABLES / "deal_property_history.csv", *WAREHOUSE)
    assert csv.stdout == "deal_property_history.csv: read 2, stored 1, duplicate 1, " \
                         "rejected 0\n"


def test_merge_audits_from_fivetran_airbyte_and_v1_contacts_are_one_fact(
        run: Run, db: str, tmp_path: Path) -> None:
    fivetran = run("--db", db, "import", TABLES / "contact_merge_audit.csv", *WAREHOUSE)
    assert fivetran.stdout == "contact_merge_audit.csv: read 2, stored 1, duplicate 0, " \
                              "rejected 0, skipped 1\n"  # 3234574 merged into itself
    merged = {"type": "merged", "person_id": "3234574", "merged_id": "3234575",
              "occurred_at": "2024-03-01T00:00:00Z", "source": "hubspot",
              "source_id": "contact:3234574:merged:3234575:2024-03-01T00:00:00Z"}
    assert facts_of(db)["person:3234574"] == [merged]
    airbyte = write(tmp_path / "contacts_merged_audit.jsonl", json.dumps({  # its schema
        "id": "3234574", "canonical-vid": 3234574, "vid-to-merge": 3234575,
        "timestamp": 1709251200000, "entity-id": "auth:9046541", "num-properties-moved": 12,
        "first-name": "Ana", "last-name": "Ruiz", "updatedAt": "2024-06-01T00:00:00Z"}) + "\n")
    assert run("--db", db, "import", airbyte, *WAREHOUSE).stdout == \
        "contacts_merged_audit.jsonl: read 1, stored 0, duplicate 1, rejected 0\n"
    # a v1 contact's merge audit is the same merge
    v1 = write(tmp_path / "v1.json", json.dumps({"vid": 3234574, "properties": {},
                                                 "merge-audits": [{
                                                     "canonical-vid": 3234574,
                                                     "vid-to-merge": 3234575,
                                                     "timestamp": 1709251200000}]}))
    assert run("--db", db, "import", v1, *WAREHOUSE).stdout == \
        "v1.json: read 1, stored 0, duplicate 1, rejected 0\n"
    assert facts_of(db)["person:3234574"] == [merged]


def test_upper_case_columns_as_snowflake_exports_them(run: Run, db: str,
                                                     tmp_path: Path) -> None:
    path = write(tmp_path / "CONTACT_PROPERTY_HISTORY.csv",
                 "CONTACT_ID,TIMESTAMP,_FIVETRAN_SYNCED,SOURCE,NAME,VALUE,SOURCE_ID,"
                 "_FIVETRAN_DELETED\n"
                 "12831901,2020-06-05 15:38:08.001,2020-07-09 15:20:43.786,CRM_UI,"
                 "lifecyclestage,customer,userId:9046541,FALSE\n"
                 "12831902,2020-06-05 15:38:08.001,2020-07-09 15:20:43.786,CRM_UI,"
                 "lifecyclestage,customer,userId:9046541,TRUE\n")
    result = run("--db", db, "import", path, *WAREHOUSE)
    assert result.stdout == "CONTACT_PROPERTY_HISTORY.csv: read 2, stored 1, duplicate 0, " \
                            "rejected 0, skipped 1\n"
    assert [(f["field"], f["value"], f["attributes"]) for f in
            facts_of(db)["person:12831901"]] == [
        ("lifecyclestage", "customer", {"sourceId": "userId:9046541", "sourceType": "CRM_UI"})]
