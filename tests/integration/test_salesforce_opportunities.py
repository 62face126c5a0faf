"""Salesforce opportunities, contact roles and converted leads through `lifecycle import`:
the same journeys rendered as Data Loader/SOQL, Data Export and Fivetran files derive the
canonical file's stamps, moves and flags (tests/data/make_opportunity_exports.py), and each
object's rows become the facts docs/importing.md says, checked one by one."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.importers.canonical import FileFormatError
from lifecycle.importers.salesforce import read_salesforce
from tests.integration.import_support import Run, facts_of

DATA = Path(__file__).parent.parent / "data"
JOURNEYS = DATA / "opportunities"
SAMPLES = DATA / "samples"
DEFINITIONS = DATA / "opportunities_definitions.yaml"


@pytest.fixture
def db(run: Run, sqlite_url: str) -> str:
    assert run("--db", sqlite_url, "init", "--definitions", DEFINITIONS).exit_code == 0
    return sqlite_url


def write(path: Path, content: str) -> Path:
    path.write_text(content, "utf-8")
    return path


def rejects(path: Path) -> list[tuple[int, str | None, str]]:
    return [(r["line"], r["field"], r["reason"]) for r in
            map(json.loads, path.read_text("utf-8").splitlines())]


# ---- three renderings of the same journeys ---------------------------------------------------

ORDER = ["Contact", "Lead", "LeadHistory", "Opportunity", "OpportunityHistory",
         "OpportunityContactRole"]
FILES = {
    "soql": [f"soql/{name}.csv" for name in ORDER],
    "dataexport": [f"dataexport/{name}.csv" for name in ORDER],
    # the history-mode opportunity table gives the links and the stages
    "fivetran": [f"fivetran/{name}.csv" for name in
                 ("contact", "lead", "lead_history", "opportunity", "opportunity_contact_role")],
}
COUNTS = {  # per file: read, stored, skipped
    "soql": [(4, 3, 1), (4, 3, 1), (7, 7, 0), (6, 6, 0), (19, 19, 0), (3, 3, 0)],
    "dataexport": [(4, 3, 1), (4, 3, 1), (7, 7, 0), (6, 6, 0), (19, 19, 0), (3, 3, 0)],
    "fivetran": [(4, 3, 1), (4, 3, 1), (7, 7, 0), (23, 23, 0), (3, 3, 0)],
}


def _reports(run: Run, url: str) -> tuple[str, str, str]:
    stamps = run("--db", url, "report", "stamps", "--format", "csv")
    moves = run("--db", url, "report", "moves", "--format", "csv")
    flags = run("--db", url, "report", "flags", "--format", "csv",
                "--as-of", "2025-01-20T00:00:00Z")
    assert stamps.exit_code == moves.exit_code == flags.exit_code == 0
    # event ids differ between renderings (they are other facts): compare the moves only
    return stamps.stdout, "\n".join(line.rsplit(",", 1)[0] for line in
                                    moves.stdout.splitlines()), flags.stdout


@pytest.mark.parametrize("rendering", ["soql", "dataexport", "fivetran"])
def test_renderings_derive_the_canonical_stamps_moves_and_flags(
        run: Run, tmp_path: Path, store_url: str, rendering: str) -> None:
    canonical = f"sqlite:///{tmp_path / 'canonical.db'}"
    for url in (canonical, store_url):
        assert run("--db", url, "init", "--definitions", DEFINITIONS).exit_code == 0
    assert run("--db", canonical, "import", JOURNEYS / "journeys.jsonl").exit_code == 0
    for file, (read, stored, skipped) in zip(FILES[rendering], COUNTS[rendering],
                                             strict=True):
        result = run("--db", store_url, "import", JOURNEYS / file, "--format", "salesforce",
                     "--assume-tz", "UTC")
        assert (result.exit_code, result.stderr) == (0, "")
        assert result.stdout == (f"{Path(file).name}: read {read}, stored {stored}, "
                                 f"duplicate 0, rejected 0, skipped {skipped}\n")
    stamps, moves, flags = _reports(run, canonical)
    assert stamps.count("\n") == 90 and moves.count("\n") == 44  # the journeys are all there
    assert flags.count("\n") == 7  # renewal and upgrade, on the account and its 2 contacts
    # the converted lead's contact became a customer through the won opportunity
    assert "person,0038c00000CoN003AAA,customer,2024-05-13T06:49:18Z" in stamps
    assert "person,00Q8c00000LeA001AAA" not in stamps  # merged into the contact
    assert _reports(run, store_url) == (stamps, moves, flags)
    assert run("--db", store_url, "verify").exit_code == 0
    for file in FILES[rendering]:  # importing again (or syncing the same rows) adds nothing
        again = run("--db", store_url, "import", JOURNEYS / file, "--format", "salesforce",
                    "--assume-tz", "UTC")
        assert ", stored 0, " in again.stdout and again.exit_code == 0


def test_data_export_timestamps_need_their_zone(run: Run, db: str) -> None:
    """The Data Export writes UTC without an offset: without --assume-tz every row is
    rejected, naming the column (SPEC §2); nothing half-written with --strict."""
    path = JOURNEYS / "dataexport" / "Opportunity.csv"
    result = run("--db", db, "import", path, "--format", "salesforce", "--rejects", "r.jsonl")
    assert result.exit_code == 3
    assert rejects(Path("r.jsonl"))[0] == (
        2, "CreatedDate", "timestamp 2024-03-05T06:49:18 has no offset (add Z or +HH:MM, or "
        "pass --assume-tz)")
    assert facts_of(db) == {}
    tokyo = run("--db", db, "import", path, "--format", "salesforce", "--assume-tz",
                "Asia/Tokyo")
    assert tokyo.exit_code == 0
    assert facts_of(db)["opportunity:0068c00000OpP001AAA"][0]["occurred_at"] == \
        "2024-03-04T21:49:18Z"  # 6:49:18 (one-digit hour) in Tokyo


# ---- each object, fact by fact ---------------------------------------------------------------

def test_opportunity_rows_link_to_accounts_with_their_type(run: Run, db: str,
                                                           tmp_path: Path) -> None:
    path = write(tmp_path / "Opportunity.csv",
                 '"ID","ACCOUNTID","TYPE","CREATEDDATE","ISDELETED","LASTMODIFIEDDATE",'
                 '"CONTRACTID"\n'
                 '"006A","001A","Renewal","2024-01-08T15:02:11.000Z","false",'
                 '"2024-02-01T00:00:00.000Z","800X"\n'
                 '"006B","001A","","2024-01-09T15:02:11.000Z","false","",""\n'
                 '"006C","","New Business","2024-01-10T15:02:11.000Z","false","",""\n'
                 '"006D","001B","","2024-01-11T15:02:11.000Z","true",'
                 '"2024-03-01T10:00:00.000Z",""\n'
                 '"006E","001B","","2024-01-11T15:02:11.000Z","true","",""\n')
    result = run("--db", db, "import", path, "--format", "salesforce", "--rejects", "r.jsonl")
    assert result.stdout == ("Opportunity.csv: read 7, stored 5, duplicate 0, rejected 1, "
                             "skipped 1\n")
    assert rejects(Path("r.jsonl")) == [(6, "LASTMODIFIEDDATE", "a deleted record needs the "
                                         "time it was deleted (LastModifiedDate or "
                                         "SystemModstamp)")]
    facts = facts_of(db)
    assert facts["opportunity:006A"] == [{
        "type": "opportunity_linked", "opportunity_id": "006A", "account_id": "001A",
        "kind": "Renewal", "occurred_at": "2024-01-08T15:02:11Z", "source": "salesforce",
        "source_id": "opportunity:006A:account:001A:type:Renewal"}]
    assert facts["opportunity:006B"] == [{
        "type": "opportunity_linked", "opportunity_id": "006B", "account_id": "001A",
        "occurred_at": "2024-01-09T15:02:11Z", "source": "salesforce",
        "source_id": "opportunity:006B:account:001A"}]
    assert "opportunity:006C" not in facts  # no account: skipped
    assert facts["opportunity:006D"][1] == {
        "type": "status_changed", "opportunity_id": "006D", "field": "IsDeleted",
        "value": "true", "occurred_at": "2024-03-01T10:00:00Z", "source": "salesforce",
        "source_id": "opportunity:006D:deleted"}


def test_opportunity_history_rows_are_stage_changes_in_file_order(
        run: Run, db: str, tmp_path: Path) -> None:
    sample = run("--db", db, "import", SAMPLES / "sf_opportunityhistory.csv", "--format",
                 "salesforce")
    assert sample.stdout == ("sf_opportunityhistory.csv: read 4, stored 4, duplicate 0, "
                             "rejected 0, skipped 0\n")
    assert facts_of(db)["opportunity:0068c00000LmN3oAAF"][0] == {
        "type": "status_changed", "opportunity_id": "0068c00000LmN3oAAF",
        "field": "StageName", "value": "Qualification", "occurred_at": "2024-02-02T13:31:10Z",
        "source": "salesforce", "source_id": "0088c00000Qw1aAAAR",
        "actor": "0058c00000AbCdEAAV", "attributes": {"object": "OpportunityHistory"}}
    same_second = write(tmp_path / "OpportunityHistory.csv",
                        "Id,OpportunityId,CreatedDate,StageName,FromOpportunityStageName,"
                        "IsDeleted\n"
                        "008a,006X,2024-01-08T15:02:11.000+0000,Closed Won,,false\n"
                        "008b,006X,2024-01-08T15:02:11.000+0000,Prospecting,Closed Won,false\n"
                        "008c,006X,2024-01-08T15:02:12.000+0000,Gone,,true\n")
    result = run("--db", db, "import", same_second, "--format", "salesforce")
    assert result.stdout.endswith("read 3, stored 2, duplicate 0, rejected 0, skipped 1\n")
    assert [(f["value"], f.get("previous")) for f in facts_of(db)["opportunity:006X"]] == [
        ("Closed Won", None), ("Prospecting", "Closed Won")]
    moves = run("--db", db, "report", "moves", "--format", "csv").stdout.splitlines()
    assert [m.split(",")[3:6] for m in moves if ",006X," in m] == [
        ["", "customer", "entry"], ["customer", "meeting_set", "backward"]]


def test_opportunity_field_history_names_the_opportunity(run: Run, db: str) -> None:
    result = run("--db", db, "import", SAMPLES / "sf_opportunityfieldhistory.csv",
                 "--format", "salesforce")
    assert result.exit_code == 0
    facts = facts_of(db)["opportunity:0068c00000LmN3oAAF"]
    assert facts[2] == {
        "type": "status_changed", "opportunity_id": "0068c00000LmN3oAAF",
        "field": "StageName", "value": "Closed Won", "previous": "Needs Analysis",
        "occurred_at": "2024-03-28T17:40:02Z", "source": "salesforce",
        "source_id": "0178c00002Op1cAAAR", "actor": "0058c00000AbCdEAAV",
        "attributes": {"object": "Opportunity", "DataType": "Picklist"}}


def test_contact_roles_added_and_removed(run: Run, db: str) -> None:
    result = run("--db", db, "import", JOURNEYS / "soql" / "OpportunityContactRole.csv",
                 "--format", "salesforce")
    assert result.exit_code == 0
    role = {"type": "contact_role", "opportunity_id": "0068c00000OpP002AAA",
            "person_id": "0038c00000CoN002AAA", "role": "Evaluator", "source": "salesforce"}
    assert facts_of(db)["opportunity:0068c00000OpP002AAA"][1:] == [
        {**role, "state": "added", "occurred_at": "2024-03-15T06:49:18Z",
         "source_id": "contact_role:00K8c00000RoL002AAA:contact:0038c00000CoN002AAA:"
                      "role:Evaluator:added"},
        {**role, "state": "removed", "occurred_at": "2024-03-20T08:49:18Z",
         "source_id": "contact_role:00K8c00000RoL002AAA:contact:0038c00000CoN002AAA:removed"}]


def test_a_converted_lead_merges_into_its_contact(run: Run, db: str, tmp_path: Path) -> None:
    result = run("--db", db, "import", JOURNEYS / "soql" / "Lead.csv", "--format",
                 "salesforce", "--assume-tz", "America/New_York")
    assert result.stdout == "Lead.csv: read 4, stored 3, duplicate 0, rejected 0, skipped 1\n"
    lead, contact = "00Q8c00000LeA001AAA", "0038c00000CoN003AAA"
    common = {"occurred_at": "2024-04-13T04:00:00Z", "source": "salesforce"}  # NY midnight
    facts = facts_of(db)
    assert facts[f"person:{contact}"] == [
        {"type": "merged", "person_id": contact, "merged_id": lead, **common,
         "source_id": f"lead:{lead}:converted:{contact}"},
        {"type": "person_linked", "person_id": contact, "account_id": "0018c00000AcO003AAA",
         **common, "source_id": f"lead:{lead}:contact:{contact}:account:0018c00000AcO003AAA"}]
    assert facts["opportunity:0068c00000OpP006AAA"] == [
        {"type": "contact_role", "opportunity_id": "0068c00000OpP006AAA", "person_id": contact,
         "state": "added", "role": "Converted lead", **common,
         "source_id": f"lead:{lead}:opportunity:0068c00000OpP006AAA:contact:{contact}"}]
    merges = run("--db", db, "report", "merges", "--format", "csv").stdout
    assert f"{lead},{contact}" in merges


def test_the_id_prefix_decides_the_object(run: Run, db: str, tmp_path: Path) -> None:
    """Columns that look like an Opportunity export (a Type), rows of Contacts (003)."""
    path = write(tmp_path / "c.csv", "Id,AccountId,Type,CreatedDate\n"
                                     "0038c0P,0018c0A,x,2024-01-01T00:00:00Z\n")
    assert run("--db", db, "import", path, "--format", "salesforce").exit_code == 0
    assert facts_of(db) == {"person:0038c0P": [{
        "type": "person_linked", "person_id": "0038c0P", "account_id": "0018c0A",
        "occurred_at": "2024-01-01T00:00:00Z", "source": "salesforce",
        "source_id": "contact:0038c0P:account:0018c0A"}]}


def test_full_data_export_files_import_whatever_their_other_id_columns(
        run: Run, db: str) -> None:
    """JigsawContactId, DandbCompanyId, ContractId, ReportsToId...: ignored."""
    for name in ("Contact", "Lead", "Opportunity", "OpportunityContactRole"):
        result = run("--db", db, "import", JOURNEYS / "dataexport" / f"{name}.csv",
                     "--format", "salesforce", "--assume-tz", "UTC")
        assert (result.exit_code, result.stderr) == (0, "")
    assert facts_of(db)["person:0038c00000CoN001AAA"][0]["source_id"] == \
        "contact:0038c00000CoN001AAA:account:0018c00000AcO001AAA"


@pytest.mark.parametrize(("content", "message"), [
    ('"Id","IsDeleted","Name","Type","ParentId"\n"0018c000001","0","Acme","Prospect",""\n',
     "line 2: Id '0018c000001' is the id of an Account, which is not imported"),
    ("Id,AccountId,Type\n00Q8c0P,0018c0A,x\n",
     "line 2: Id '00Q8c0P' is the id of a Lead, not of an Opportunity"),
    # an Account's Id in what looks like an Opportunity export
    ("Id,AccountId,Type,CreatedDate\n0018c0P,0018c0A,x,2024-01-01T00:00:00Z\n",
     "line 2: Id '0018c0P' is the id of an Account, not of an Opportunity"),
    ("Id,Name\n0068c0P,x\n",
     "line 1: a CSV with the columns Id, Name cannot be imported"),
    ("Id,IsConverted,ConvertedContactId\n00Q1,true,0031\n",
     "line 1: a Lead export needs the column(s) converteddate"),
    ("Id,OpportunityId,ContactId,ContactId,CreatedDate\n",
     "line 1: column 'ContactId' appears 2 times in the header (columns 3 and 4)"),
])
def test_exports_that_cannot_be_read(run: Run, db: str, tmp_path: Path, content: str,
                                     message: str) -> None:
    result = run("--db", db, "import", write(tmp_path / "x.csv", content), "--format",
                 "salesforce")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: x.csv: {message}")
    assert facts_of(db) == {}


# ---- Fivetran ----------------------------------------------------------------------------------

HISTORY_MODE = ("_fivetran_active,_fivetran_start,_fivetran_end,_fivetran_synced,id,"
                "account_id,type,stage_name,created_date,is_deleted,_fivetran_active\n")


def test_fivetran_history_mode_versions_and_deletions(run: Run, db: str,
                                                      tmp_path: Path) -> None:
    path = write(tmp_path / "opportunity.csv", HISTORY_MODE + "\n".join([
        "false,2024-01-08 15:02:11,2024-01-09 09:59:59.999,2024-06-01 00:00:00,006A,001A,,"
        "Prospecting,2024-01-08 15:02:11,false,false",
        "false,2024-01-09 10:00:00,2024-02-01 11:59:59.999,2024-06-01 00:00:00,006A,001A,,"
        "Prospecting,2024-01-08 15:02:11,false,false",  # an amount changed: nothing new
        "false,2024-02-01 12:00:00,2024-03-01 08:00:00,2024-06-01 00:00:00,006A,001B,Renewal,"
        "Qualification,2024-01-08 15:02:11,false,false",  # the last version ended: deleted
        "true,2024-01-10 00:00:00,9999-12-31 23:59:59,2024-06-01 00:00:00,006B,001A,,"
        "Prospecting,2024-01-05 00:00:00,false,true",
        "true,2024-01-09 00:00:00,9999-12-31 23:59:59,2024-06-01 00:00:00,006B,001A,,"
        "Prospecting,2024-01-05 00:00:00,false,true",  # out of order
    ]) + "\n")
    result = run("--db", db, "import", path, "--format", "salesforce", "--assume-tz", "UTC",
                 "--rejects", "r.jsonl")
    assert result.stdout == ("opportunity.csv: read 8, stored 7, duplicate 0, rejected 1, "
                             "skipped 0\n")
    assert rejects(Path("r.jsonl")) == [(6, "_fivetran_start", (
        "history-mode rows must be ordered by id, then _fivetran_start: this version comes "
        "before the one on line 5"))]
    key = "fivetran:opportunity:006A"
    assert [(f["type"], f.get("account_id"), f.get("kind"), f.get("value"),
             f.get("previous"), f["occurred_at"], f["source_id"])
            for f in facts_of(db)["opportunity:006A"]] == [
        ("opportunity_linked", "001A", None, None, None, "2024-01-08T15:02:11Z",
         f"{key}:2024-01-08T15:02:11Z:linked"),
        ("status_changed", None, None, "Prospecting", None, "2024-01-08T15:02:11Z",
         f"{key}:2024-01-08T15:02:11Z:StageName"),
        ("opportunity_linked", "001B", "Renewal", None, None, "2024-02-01T12:00:00Z",
         f"{key}:2024-02-01T12:00:00Z:linked"),
        ("status_changed", None, None, "Qualification", "Prospecting",
         "2024-02-01T12:00:00Z", f"{key}:2024-02-01T12:00:00Z:StageName"),
        ("status_changed", None, None, "true", None, "2024-03-01T08:00:00Z",
         f"{key}:deleted:2024-03-01 08:00:00"),
    ]
    assert [f["occurred_at"] for f in facts_of(db)["opportunity:006B"]] == [
        "2024-01-05T00:00:00Z", "2024-01-10T00:00:00Z"]  # linked from its creation
    stages = run("--db", db, "report", "stages", "--level", "opportunity", "--format", "csv",
                 "--as-of", "2024-04-01T00:00:00Z").stdout
    assert "deleted,1" in stages.replace(" ", "")


def test_fivetran_soft_delete_tables(run: Run, db: str, tmp_path: Path) -> None:
    """The `opportunity_history` table (OpportunityHistory) and a soft-deleted
    `opportunity`, as Fivetran names their columns."""
    history = write(tmp_path / "opportunity_history.csv",
                    "id,_fivetran_synced,amount,close_date,created_by_id,created_date,"
                    "expected_revenue,forecast_category,is_deleted,opportunity_id,probability,"
                    "stage_name,system_modstamp\n"
                    "0081,2024-06-01 00:00:00.829,100,2024-03-01,0051,2024-01-08 15:02:11,"
                    "10,Pipeline,false,006A,10,Prospecting,2024-01-08 15:02:11\n")
    opportunity = write(tmp_path / "opportunity.csv",
                        "id,_fivetran_synced,account_id,type,created_date,is_deleted,"
                        "last_modified_date\n"
                        "006A,2024-06-01 00:00:00,001A,Renewal,2024-01-08 15:02:11,true,"
                        "2024-05-01 09:00:00\n")
    for path in (history, opportunity):
        result = run("--db", db, "import", path, "--format", "salesforce", "--assume-tz",
                     "UTC")
        assert result.exit_code == 0, result.stdout
    assert [(f["type"], f.get("value"), f["occurred_at"])
            for f in facts_of(db)["opportunity:006A"]] == [
        ("status_changed", "Prospecting", "2024-01-08T15:02:11Z"),
        ("opportunity_linked", None, "2024-01-08T15:02:11Z"),
        ("status_changed", "true", "2024-05-01T09:00:00Z")]


# ---- whatever the cells, rows or rejections, never a traceback ---------------------------------

HEADERS = [path.read_text("utf-8").splitlines()[0] for path in
           sorted(JOURNEYS.glob("*/*.csv"))] + [HISTORY_MODE.strip()]
CELLS = st.sampled_from(["", "true", "1", "0", "false", "006A", "003B", "00QC", "2024-01-08",
                         "2024-01-08 6:02:11", "2024-01-08T15:02:11.000+0000", "9999-12-31",
                         "9999-12-31 23:59:59", "Closed Won", "x\x00y", '"', "a,b"])


@settings(max_examples=200, deadline=None)
@given(data=st.data(), header=st.sampled_from(HEADERS),
       assume_tz=st.sampled_from([None, ZoneInfo("UTC")]))
def test_odd_rows_are_rows_or_rejections(data: st.DataObject, header: str,
                                          assume_tz: ZoneInfo | None) -> None:
    width = len(next(csv.reader([header])))
    rows = data.draw(st.lists(st.one_of(st.lists(CELLS, min_size=width, max_size=width),
                                        st.lists(CELLS, max_size=4)), max_size=6))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
    text = (header + "\n" + out.getvalue()).encode("utf-8")
    try:
        read = list(read_salesforce(io.BytesIO(text), assume_tz))
    except FileFormatError:
        return  # a file error names the file's line: e.g. an Account's Id first
    for row in read:
        assert (row.candidate is None) != (row.rejection is None) or row.skipped


#: fivetran/dbt_salesforce integration_tests/seeds/sf_lead_history_data.csv: a history-mode
#: `lead` table, its header (`_fivetran_active` twice) and its one row, verbatim.
FIVETRAN_LEAD = (
    "_fivetran_active,_fivetran_start,_fivetran_end,country,email_bounced_reason,"
    "email_bounced_date,owner_id,lead_source,converted_date,last_modified_date,"
    "master_record_id,last_modified_by_id,system_modstamp,geocode_accuracy,"
    "converted_contact_id,id,photo_url,state,longitude,last_referenced_date,"
    "last_activity_date,country_code,phone,name,jigsaw_contact_id,created_by_id,salutation,"
    "is_converted,state_code,is_unread_by_owner,status,city,latitude,industry,title,"
    "_fivetran_synced,last_viewed_date,converted_opportunity_id,is_deleted,street,company,"
    "first_name,email,website,last_name,number_of_employees,created_date,postal_code,"
    "has_opted_out_of_email,converted_account_id,mobile_phone,annual_revenue,description,"
    "fax,individual_id,_fivetran_active\n"
    "false,2019-11-11 17:23:34,2019-11-11 17:23:35,,,,00537000003tmTnAAI,,"
    "2019-11-11 17:23:34,2019-11-11 17:23:34,,0051G000007F2JGQA0,2019-11-11 17:23:34,,"
    "0031G00001QtDPlQAN,00Q1G00000nDnM5UAK,/services/images/photo/00Q1G00000nDnM5UAK,,,,,,,"
    "h,,0051G0000060XhiQAE,,TRUE,,FALSE,Converted,,,Internet Software & Services,,"
    "2019-11-11 17:23:34,,,FALSE,,Z,H,h@gmail.com,,Croc,,2019-11-11 17:23:34,,FALSE,"
    "0011G00000tLWKnQAO,,280522000,,,,\n")


def test_the_fivetran_lead_seed_converts(run: Run, db: str, tmp_path: Path) -> None:
    """A converted date written with a time is still the day it holds."""
    path = write(tmp_path / "lead.csv", FIVETRAN_LEAD)
    result = run("--db", db, "import", path, "--format", "salesforce")
    assert result.stdout == "lead.csv: read 2, stored 2, duplicate 0, rejected 0, skipped 0\n"
    assert [(f["type"], f.get("merged_id"), f.get("account_id"), f["occurred_at"])
            for f in facts_of(db)["person:0031G00001QtDPlQAN"]] == [
        ("merged", "00Q1G00000nDnM5UAK", None, "2019-11-11T00:00:00Z"),
        ("person_linked", None, "0011G00000tLWKnQAO", "2019-11-11T00:00:00Z")]


def test_fivetran_history_mode_recycle_bin_version(run: Run, db: str, tmp_path: Path) -> None:
    path = write(tmp_path / "opportunity.csv", HISTORY_MODE + "\n".join([
        "false,2024-01-08 15:02:11,2024-01-09 09:59:59.999,2024-06-01 00:00:00,006C,001A,,"
        "Prospecting,2024-01-08 15:02:11,false,false",
        "true,2024-01-09 10:00:00,9999-12-31 23:59:59,2024-06-01 00:00:00,006C,001A,,"
        "Prospecting,2024-01-08 15:02:11,true,true",
    ]) + "\n")
    result = run("--db", db, "import", path, "--format", "salesforce", "--assume-tz", "UTC")
    assert result.stdout == ("opportunity.csv: read 3, stored 3, duplicate 0, rejected 0, "
                             "skipped 0\n")
    assert [(f["type"], f.get("field"), f.get("value"), f["occurred_at"])
            for f in facts_of(db)["opportunity:006C"]] == [
        ("opportunity_linked", None, None, "2024-01-08T15:02:11Z"),
        ("status_changed", "StageName", "Prospecting", "2024-01-08T15:02:11Z"),
        ("status_changed", "IsDeleted", "true", "2024-01-09T10:00:00Z")]
