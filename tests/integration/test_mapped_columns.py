"""`--columns` on warehouse tables: CSV and JSON Lines, `where=` row filters, a constant
that equals a column name ('quoted'), one-digit hours and milliseconds without a zone, and
a wide table's unmapped columns summarised.

The fixture is Fivetran's Marketo `activity_change_data_value` table (the columns of
fivetran/dbt_marketo_source, macros/get_activity_change_data_value_columns.sql:
_fivetran_synced, activity_date, activity_type_id, api_method_name, campaign_id, id,
lead_id, modifying_user, new_value, old_value, primary_attribute_value,
primary_attribute_value_id, reason, request_id, source), as a warehouse export writes it:
timestamps without a zone (UTC), an hour of one digit where the client did not pad it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lifecycle.importers.mapped import ColumnMap, ColumnsError, read_mapped
from tests.integration.import_support import Run, facts_of

DEFINITIONS = """\
version: "marketo-test"
stages:
  - {key: verified, kind: path, rank: 1}
  - {key: mql,      kind: path, rank: 2}
  - {key: sql,      kind: path, rank: 3}
map:
  status:
    Lead Status: {Lead: verified, MQL: mql, SQL: sql}
"""
COLUMNS = ["_fivetran_synced", "activity_date", "activity_type_id", "api_method_name",
           "campaign_id", "id", "lead_id", "modifying_user", "new_value", "old_value",
           "primary_attribute_value", "primary_attribute_value_id", "reason", "request_id",
           "source"]
ROWS: list[list[Any]] = [
    ["2021-01-08 02:00:11.480", "2021-01-07 6:49:18", 13, None, 1042, "9001", 51, "System",
     "Lead", None, "Lead Status", 54, "Form fill", None, "Web form fillout"],
    ["2021-01-08 02:00:11.480", "2021-01-07 16:02:00.250", 13, None, 1042, "9002", 51,
     "System", "MQL", "Lead", "Lead Status", 54, "Changed by Smart Campaign Score.MQL",
     None, "Marketo Flow Action"],
    ["2021-01-08 02:00:11.480", "2021-01-07 16:02:00", 13, None, 1042, "9003", 51, "System",
     "VP Sales", "Sales", "Job Title", 29, "Form fill", None, "Web form fillout"],
    ["2021-01-09 02:00:09.113", "2021-01-08 9:15:42.007", 13, "syncLead", None, "9004", 52,
     "api@example.com", "SQL", "MQL", "Lead Status", 54, None, "ab12-cd34", "Web service API"],
]
MAPPING = ("person_id=lead_id,occurred_at=activity_date,field=primary_attribute_value,"
           "value=new_value,previous=old_value,actor=modifying_user,type=status_changed,"
           "source=marketo,source_id=id,where=primary_attribute_value='Lead Status'")


def as_csv(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue()


def as_jsonl(rows: list[list[Any]]) -> str:
    return "".join(json.dumps(dict(zip(COLUMNS, row, strict=True))) + "\n" for row in rows)


@pytest.fixture
def db(run: Run, store_url: str, tmp_path: Path) -> str:
    (tmp_path / "definitions.yaml").write_text(DEFINITIONS, encoding="utf-8")
    assert run("--db", store_url, "init", "--definitions",
               tmp_path / "definitions.yaml").exit_code == 0
    return store_url


def fact(lead: str, value: str, when: str, source_id: str, actor: str,
         previous: str | None = None) -> dict[str, Any]:
    data = {"type": "status_changed", "person_id": lead, "field": "Lead Status",
            "value": value, "occurred_at": when, "source": "marketo",
            "source_id": source_id, "actor": actor}
    return data | ({"previous": previous} if previous else {})


EXPECTED = {
    "person:51": [fact("51", "Lead", "2021-01-07T06:49:18Z", "9001", "System"),
                  fact("51", "MQL", "2021-01-07T16:02:00.250000Z", "9002", "System", "Lead")],
    "person:52": [fact("52", "SQL", "2021-01-08T09:15:42.007000Z", "9004", "api@example.com",
                       "MQL")],
}
DESCRIBED = "\n".join([
    "Column mapping:",
    "  person_id    <- column 'lead_id'",
    "  occurred_at  <- column 'activity_date'",
    "  field        <- column 'primary_attribute_value'",
    "  value        <- column 'new_value'",
    "  previous     <- column 'old_value'",
    "  actor        <- column 'modifying_user'",
    "  source_id    <- column 'id'",
    "  type         =  'status_changed' (constant)",
    "  source       =  'marketo' (constant)",
    "  only rows where 'primary_attribute_value' = 'Lead Status'",
    "  not imported: '_fivetran_synced', 'activity_type_id', 'api_method_name', "
    "'campaign_id', 'primary_attribute_value_id', 'reason', 'request_id', 'source'"])


@pytest.mark.parametrize(("name", "content"), [("cdv.csv", as_csv(ROWS)),
                                               ("cdv.jsonl", as_jsonl(ROWS))])
def test_marketo_change_data_value(run: Run, db: str, tmp_path: Path, name: str,
                                   content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = run("--db", db, "import", path, "--columns", MAPPING, "--assume-tz", "UTC")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == DESCRIBED + (f"\n{name}: read 4, stored 3, duplicate 0, "
                                         "rejected 0, skipped 1\n")
    assert facts_of(db) == EXPECTED
    again = run("--db", db, "import", path, "--columns", MAPPING, "--assume-tz", "UTC")
    assert again.stdout.endswith("read 4, stored 0, duplicate 3, rejected 0, skipped 1\n")
    assert run("--db", db, "verify").exit_code == 0


def test_csv_and_json_lines_give_the_same_facts(run: Run, db: str, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(as_csv(ROWS), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(as_jsonl(ROWS), encoding="utf-8")
    run("--db", db, "import", "a.csv", "--columns", MAPPING, "--assume-tz", "UTC")
    second = run("--db", db, "import", "b.jsonl", "--columns", MAPPING, "--assume-tz", "UTC")
    assert second.stdout.endswith("b.jsonl: read 4, stored 0, duplicate 3, rejected 0, "
                                  "skipped 1\n")


def test_without_a_zone_the_rows_are_rejected(run: Run, db: str, tmp_path: Path) -> None:
    (tmp_path / "cdv.jsonl").write_text(as_jsonl(ROWS), encoding="utf-8")
    result = run("--db", db, "import", "cdv.jsonl", "--columns", MAPPING)
    assert result.exit_code == 3
    assert result.stderr.splitlines()[0] == (
        "  cdv.jsonl:1: activity_date: timestamp 2021-01-07T06:49:18 has no offset (add Z or "
        "+HH:MM, or pass --assume-tz)")


def test_filters_combine_and_compare_loosely(run: Run, db: str, tmp_path: Path) -> None:
    (tmp_path / "cdv.csv").write_text(as_csv(ROWS), encoding="utf-8")
    mapping = MAPPING.replace("where=primary_attribute_value='Lead Status'",
                              'where="primary_attribute_value"=lead status , '
                              "where=api_method_name!=SYNCLEAD")
    result = run("--db", db, "import", "cdv.csv", "--columns", mapping, "--assume-tz", "UTC")
    assert "  only rows where 'primary_attribute_value' = 'lead status'\n" in result.stdout
    assert "  only rows where 'api_method_name' != 'SYNCLEAD'\n" in result.stdout
    assert result.stdout.endswith("read 4, stored 2, duplicate 0, rejected 0, skipped 2\n")
    assert set(facts_of(db)) == {"person:51"}


def test_a_quoted_constant_may_equal_a_column_name(run: Run, db: str, tmp_path: Path) -> None:
    (tmp_path / "cdv.csv").write_text(as_csv(ROWS[:1]), encoding="utf-8")
    # `source` is a column of this table too: quoted, the constant wins.
    result = run("--db", db, "import", "cdv.csv", "--assume-tz", "UTC", "--columns",
                 "person_id=lead_id,occurred_at=activity_date,value=new_value,"
                 "field='Lead Status',type=status_changed,source='source',source_id=id")
    assert "  source       =  'source' (constant)\n" in result.stdout
    assert facts_of(db)["person:51"][0]["source"] == "source"
    unquoted = run("--db", db, "import", "cdv.csv", "--assume-tz", "UTC", "--columns",
                   "person_id=lead_id,occurred_at=activity_date,value=new_value,"
                   "field='Lead Status',type=status_changed,source=source,source_id=id")
    assert "  source       <- column 'source'\n" in unquoted.stdout


@pytest.mark.parametrize(("text", "pairs", "filters"), [
    ("field='It''s, here',type=x", [("field", "It's, here"), ("type", "x")], []),
    ('value="New, Status"', [("value", "New, Status")], []),
    ("source=O'Brien", [("source", "O'Brien")], []),
    ("where=IsDeleted!=1,where=\"Stage Name\"='Closed, Won'", [],
     [("IsDeleted", False, "1"), ("Stage Name", True, "Closed, Won")]),
])
def test_the_columns_syntax(text: str, pairs: list[tuple[str, str]],
                            filters: list[tuple[str, bool, str]]) -> None:
    parsed = ColumnMap.parse(text + ",person_id=a,occurred_at=b" + (
        "" if "type=" in text else ",type=status_changed"))
    assert [p for p in parsed.pairs if p[0] in dict(pairs)] == pairs
    assert [(f.name, f.equal, f.value) for f in parsed.filters] == filters


@pytest.mark.parametrize(("text", "message"), [
    ("where=IsDeleted", "'where=IsDeleted' is not where=COLUMN=VALUE or where=COLUMN!=VALUE"),
    ("value='open", "unbalanced single quote in"),
    ("value='a'b", "unexpected 'b' after \"value='a'\" (quote the whole value)"),
    ("where=", "is not where=COLUMN=VALUE"),
])
def test_the_columns_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(ColumnsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ColumnMap.parse("person_id=a,occurred_at=b,type=status_changed," + text)


def test_a_wide_table_summarises_its_unmapped_columns(run: Run, db: str,
                                                      tmp_path: Path) -> None:
    header = ["Id", "LastModifiedDate", "Status"] + [f"Field{i}__c" for i in range(365)]
    (tmp_path / "wide.csv").write_text(
        ",".join(header) + "\n" + ",".join(["L1", "2024-01-01T00:00:00Z", "MQL"]
                                           + [""] * 365) + "\n", encoding="utf-8")
    result = run("--db", db, "import", "wide.csv", "--columns",
                 "person_id=Id,occurred_at=LastModifiedDate,value=Status,"
                 "field='Lead Status',type=status_changed")
    assert result.stdout.splitlines()[-2] == (
        "  not imported: 'Field0__c', 'Field1__c', 'Field2__c', 'Field3__c', 'Field4__c', "
        "'Field5__c', 'Field6__c', 'Field7__c' and 357 more")
    missing = run("--db", db, "import", "wide.csv", "--columns",
                  'person_id=Id,occurred_at="Modified",type=status_changed')
    assert missing.exit_code == 1
    assert missing.stderr == (
        "Error: wide.csv: line 1: occurred_at=\"Modified\" is not a column of the file "
        "(columns: Id, LastModifiedDate, Status, Field0__c, Field1__c, Field2__c, Field3__c, "
        "Field4__c, Field5__c, Field6__c, Field7__c, Field8__c and 356 more)\n")


# ---- tables of record versions: until=COLUMN -------------------------------------------------

#: Fivetran's Salesforce `opportunity` table in history mode (Fivetran's history-mode docs:
#: `_fivetran_start`, `_fivetran_end` = the next version's start less 1 ms, `9999-12-31
#: 23:59:59.999` for the current version, `_fivetran_active`), snake_case columns.
HISTORY_MODE = """\
id,account_id,name,stage_name,amount,_fivetran_start,_fivetran_end,_fivetran_active,_fivetran_synced
0068c00000XyZ01AAB,0018c00002AcMe1AAB,Acme renewal,Prospecting,12000,2024-01-05 10:00:00.000,2024-02-01 9:29:59.999,false,2024-03-02 01:00:00.000
0068c00000XyZ01AAB,0018c00002AcMe1AAB,Acme renewal,Closed Won,15000,2024-02-01 9:30:00.000,9999-12-31 23:59:59.999,true,2024-03-02 01:00:00.000
0068c00000XyZ02AAB,0018c00002AcMe1AAB,Acme upsell,Prospecting,8000,2024-01-15 11:00:00.000,2024-03-01 08:00:00.000,false,2024-03-02 01:00:00.000
0068c00000XyZ03AAB,0018c00002GlOb1AAB,Globex,Prospecting,5000,2024-01-20 12:00:00.000,2024-01-25 12:59:59.999,false,2024-03-02 01:00:00.000
0068c00000XyZ03AAB,0018c00002GlOb1AAB,Globex,Qualification,5000,2024-01-25 13:00:00.000,2024-02-10 17:00:00.000,false,2024-03-02 01:00:00.000
"""  # noqa: E501
VERSIONS = ("opportunity_id=id,occurred_at=_fivetran_start,until=_fivetran_end,"
            "value=stage_name,field='StageName',type=status_changed")
VERSION_DEFINITIONS = """\
version: "versions-test"
stages:
  - {key: open,     kind: path, rank: 1}
  - {key: sql,      kind: path, rank: 2}
  - {key: customer, kind: path, rank: 3}
  - {key: deleted,  kind: exit}
map:
  status:
    StageName: {Prospecting: open, Qualification: sql, Closed Won: customer}
    IsDeleted: {"true": deleted}
"""


def test_a_record_whose_last_version_ended_was_deleted(run: Run, store_url: str,
                                                        tmp_path: Path) -> None:
    (tmp_path / "definitions.yaml").write_text(VERSION_DEFINITIONS, encoding="utf-8")
    assert run("--db", store_url, "init", "--definitions", "definitions.yaml").exit_code == 0
    (tmp_path / "opportunity.csv").write_text(HISTORY_MODE, encoding="utf-8")
    result = run("--db", store_url, "import", "opportunity.csv", "--columns", VERSIONS,
                 "--assume-tz", "UTC")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines()[-3:] == [
        "  until          <- column '_fivetran_end' (a record whose last version ended was "
        "deleted)",
        "  not imported: 'account_id', 'name', 'amount', '_fivetran_active', "
        "'_fivetran_synced'",
        "opportunity.csv: read 7, stored 7, duplicate 0, rejected 0"]

    def stage(value: str, when: str, field: str = "StageName") -> dict[str, Any]:
        return {"type": "status_changed", "field": field, "value": value, "occurred_at": when}

    deleted = {"field": "IsDeleted", "value": "true"}
    facts = {subject: [{k: v for k, v in f.items() if k != "opportunity_id"} for f in fs]
             for subject, fs in facts_of(store_url).items()}
    assert facts == {
        "opportunity:0068c00000XyZ01AAB": [stage("Prospecting", "2024-01-05T10:00:00Z"),
                                           stage("Closed Won", "2024-02-01T09:30:00Z")],
        "opportunity:0068c00000XyZ02AAB": [stage("Prospecting", "2024-01-15T11:00:00Z"),
                                           stage(**deleted, when="2024-03-01T08:00:00Z")],
        "opportunity:0068c00000XyZ03AAB": [stage("Prospecting", "2024-01-20T12:00:00Z"),
                                           stage("Qualification", "2024-01-25T13:00:00Z"),
                                           stage(**deleted, when="2024-02-10T17:00:00Z")]}
    counts = run("--db", store_url, "report", "stages", "--as-of", "2024-06-01", "--level",
                 "opportunity", "--format", "json")
    assert {s["stage"]: s["count"] for s in json.loads(counts.stdout)["stages"]} == {
        "open": 0, "sql": 0, "customer": 1, "deleted": 2}
    again = run("--db", store_url, "import", "opportunity.csv", "--columns", VERSIONS,
                "--assume-tz", "UTC")
    assert again.stdout.endswith("read 7, stored 0, duplicate 7, rejected 0\n")
    assert run("--db", store_url, "verify").exit_code == 0


def test_until_with_a_source_gives_the_deletion_an_id() -> None:
    rows = list(read_mapped(io.BytesIO(HISTORY_MODE.encode()), ZoneInfo("UTC"),
                            mapping=ColumnMap.parse(VERSIONS + ",source=fivetran")))
    deletions = [r.candidate.fact for r in rows[5:] if r.candidate is not None]
    assert [(f.opportunity_id, f.source_id) for f in deletions] == [
        ("0068c00000XyZ02AAB", "0068c00000XyZ02AAB:deleted:2024-03-01 08:00:00.000"),
        ("0068c00000XyZ03AAB", "0068c00000XyZ03AAB:deleted:2024-02-10 17:00:00.000")]
    assert [r.line for r in rows[5:]] == [4, 6]  # the line of the record's last version


@pytest.mark.parametrize(("text", "message"), [
    ("until='x'", "until=COLUMN names one column"),
    ("until=a,until=b", "until=COLUMN names one column"),
])
def test_until_syntax(text: str, message: str) -> None:
    with pytest.raises(ColumnsError, match=message):
        ColumnMap.parse("person_id=a,occurred_at=b,type=status_changed," + text)
