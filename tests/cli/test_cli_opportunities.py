"""`--level opportunity` (SPEC §7) and merged ids (SPEC §8) as scripts see them: exact JSON
and CSV, on SQLite and PostgreSQL. Definitions: the b2b-2024 starter (StageName mapped, the
contact-role cascade on, won and lost closed, Renewal opportunities flagging accounts)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cli_support import Run, event_id, status, write_jsonl

MOVES = "subject_type,subject_id,occurred_at,from_stage,to_stage,direction,event_id\n"
STAMPS = ("subject_type,subject_id,stage,first_reached_at,last_reached_at,times_reached,"
          "inferred\n")


def stage(opportunity: str, value: str, when: str) -> dict:
    return {"type": "status_changed", "opportunity_id": opportunity, "field": "StageName",
            "value": value, "occurred_at": when, "source": "salesforce",
            "source_id": f"008-{opportunity}-{when}"}


#: One account, a lost new-business opportunity and a won renewal; two contacts with roles.
PIPELINE = [
    {"type": "person_linked", "person_id": "c1", "account_id": "acme",
     "occurred_at": "2024-01-02T00:00:00Z"},
    status("c1", "lead", "2024-01-02T00:00:00Z"),
    {"type": "opportunity_linked", "opportunity_id": "o1", "account_id": "acme",
     "kind": "New Business", "occurred_at": "2024-02-01T00:00:00Z"},
    stage("o1", "Qualification", "2024-02-01T00:00:00Z"),
    {"type": "contact_role", "opportunity_id": "o1", "person_id": "c1", "role": "Champion",
     "occurred_at": "2024-02-01T00:00:00Z"},
    stage("o1", "Negotiation/Review", "2024-03-01T00:00:00Z"),
    stage("o1", "Closed Lost", "2024-04-01T00:00:00Z"),
    {"type": "opportunity_linked", "opportunity_id": "o2", "account_id": "acme",
     "kind": "Renewal", "occurred_at": "2024-05-01T00:00:00Z"},
    stage("o2", "Qualification", "2024-05-01T00:00:00Z"),
    {"type": "contact_role", "opportunity_id": "o2", "person_id": "c2",
     "occurred_at": "2024-05-02T00:00:00Z"},
    stage("o2", "Closed Won", "2024-06-01T00:00:00Z"),
]
IDS = [event_id(f) for f in PIPELINE]


@pytest.fixture
def pipeline(run: Run, db: str) -> str:
    write_jsonl("pipeline.jsonl", *PIPELINE)
    result = run("--db", db, "import", "pipeline.jsonl")
    assert (result.exit_code, result.stderr) == (0, ""), result.stdout
    return db


def test_opportunity_moves_and_stamps_csv(run: Run, pipeline: str) -> None:
    moves = run("--db", pipeline, "report", "moves", "--level", "opportunity", "--format", "csv")
    assert moves.stdout == MOVES + (
        f"opportunity,o1,2024-02-01T00:00:00Z,,sql,entry,{IDS[3]}\n"
        f"opportunity,o1,2024-03-01T00:00:00Z,sql,late_stage,forward,{IDS[5]}\n"
        f"opportunity,o1,2024-04-01T00:00:00Z,late_stage,nurture,backward,{IDS[6]}\n"
        f"opportunity,o2,2024-05-01T00:00:00Z,,sql,entry,{IDS[8]}\n"
        f"opportunity,o2,2024-06-01T00:00:00Z,sql,customer,forward,{IDS[10]}\n")
    stamps = run("--db", pipeline, "report", "stamps", "--level", "opportunity", "--stage",
                 "customer", "--format", "csv")
    assert stamps.stdout == STAMPS + (
        "opportunity,o2,customer,2024-06-01T00:00:00Z,2024-06-01T00:00:00Z,1,false\n")


def test_opportunity_stage_counts_json(run: Run, pipeline: str) -> None:
    result = run("--db", pipeline, "report", "stages", "--as-of", "2024-05-15T00:00:00Z",
                 "--level", "opportunity", "--format", "json")
    document = json.loads(result.stdout)
    assert {s["stage"]: s["count"] for s in document["stages"] if s["count"]} == {
        "nurture": 1, "sql": 1}
    assert (document["level"], document["total"]) == ("opportunity", 2)


def test_the_pipeline_funnel_by_kind_is_the_win_rate_per_kind(run: Run, pipeline: str
                                                               ) -> None:
    """At opportunity level the funnel starts where opportunities really start (sql here,
    not `new`), and `--by kind` splits it by Type: New Business 0 of 1 won, Renewal 1."""
    result = run("--db", pipeline, "report", "funnel", "--level", "opportunity", "--by",
                 "kind", "--format", "csv")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "kind,stage,label,cohort,reached,inferred,share_of_cohort,share_of_previous,"
        "median_days\n"
        "New Business,sql,Sales Qualified,1,1,0,1.0,,\n"
        "New Business,late_stage,Late Stage Opportunity,1,1,0,1.0,1.0,29.0\n"
        "New Business,customer,Customer,1,0,0,0.0,0.0,\n"
        "Renewal,sql,Sales Qualified,1,1,0,1.0,,\n"
        "Renewal,late_stage,Late Stage Opportunity,1,1,1,1.0,1.0,31.0\n"
        "Renewal,customer,Customer,1,1,0,1.0,1.0,31.0\n")
    persons = run("--db", pipeline, "report", "funnel", "--by", "kind")
    assert (persons.exit_code, persons.stdout, persons.stderr) == (1, "", (
        "Error: --by kind: only opportunities have a kind; add --level opportunity\n"))


def test_people_take_their_opportunities_stages(run: Run, pipeline: str) -> None:
    result = run("--db", pipeline, "report", "moves", "--level", "person", "--format", "csv")
    assert result.stdout == MOVES + (
        f"person,c1,2024-01-02T00:00:00Z,,verified,entry,{IDS[1]}\n"
        f"person,c1,2024-02-01T00:00:00Z,verified,sql,forward,{IDS[3]}\n"
        f"person,c1,2024-03-01T00:00:00Z,sql,late_stage,forward,{IDS[5]}\n"
        f"person,c1,2024-04-01T00:00:00Z,late_stage,nurture,backward,{IDS[6]}\n"
        f"person,c2,2024-05-02T00:00:00Z,,sql,entry,{IDS[9]}\n"
        f"person,c2,2024-06-01T00:00:00Z,sql,customer,forward,{IDS[10]}\n")


def test_the_account_rolls_up_opportunities_and_is_flagged_by_the_open_renewal(
        run: Run, pipeline: str) -> None:
    moves = run("--db", pipeline, "report", "moves", "--level", "account", "--format", "csv")
    assert [line.split(",")[2:6] for line in moves.stdout.splitlines()[1:]] == [
        ["2024-01-02T00:00:00Z", "", "verified", "entry"],
        ["2024-02-01T00:00:00Z", "verified", "sql", "forward"],
        ["2024-03-01T00:00:00Z", "sql", "late_stage", "forward"],
        ["2024-04-01T00:00:00Z", "late_stage", "nurture", "backward"],
        ["2024-05-01T00:00:00Z", "nurture", "sql", "forward"],
        ["2024-06-01T00:00:00Z", "sql", "customer", "forward"]]
    flags = run("--db", pipeline, "report", "flags", "--as-of", "2024-05-20T00:00:00Z",
                "--format", "json")
    assert [(r["account_id"], r["flag"], r["raised_at"], r["subject_type"], r["subject_id"])
            for r in json.loads(flags.stdout)["rows"]] == [
        ("acme", "renewal", "2024-05-01T00:00:00Z", "account", "acme"),
        ("acme", "renewal", "2024-05-01T00:00:00Z", "person", "c1")]
    after = run("--db", pipeline, "report", "flags", "--as-of", "2024-06-02T00:00:00Z",
                "--format", "json")
    assert json.loads(after.stdout)["rows"] == []  # won: no longer open


def test_audit_opportunity(run: Run, pipeline: str) -> None:
    result = run("--db", pipeline, "audit", "opportunity", "o1", "--format", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    document = json.loads(result.stdout)
    assert (document["subject_type"], document["subject_id"], document["current_stage"]) == (
        "opportunity", "o1", "nurture")
    assert [(f["type"], f["derived"], f["derived_detail"]) for f in document["facts"]] == [
        ("opportunity_linked", "recorded", "linked to account acme (New Business)"),
        ("status_changed", "transition", "(none) -> sql (entry)"),
        ("contact_role", "recorded", "role (Champion) added for person c1"),
        ("status_changed", "transition", "sql -> late_stage (forward)"),
        ("status_changed", "transition", "late_stage -> nurture (backward)")]
    assert document["memberships"] == [{"account_id": "acme", "kind": "New Business",
                                        "from": "2024-02-01T00:00:00Z", "to": None}]
    person = json.loads(run("--db", pipeline, "audit", "person", "c1", "--format",
                            "json").stdout)
    assert [(c["opportunity_id"], c["event_id"], c["derived"]) for c in person["cascaded"]] == [
        ("o1", IDS[3], "transition"), ("o1", IDS[4], "no_change"),
        ("o1", IDS[5], "transition"), ("o1", IDS[6], "transition")]


# ---- merged identities -----------------------------------------------------------------------

LEAD = [status("00Q1", "marketingqualifiedlead", "2024-01-10T00:00:00Z"),
        status("0031", "salesqualifiedlead", "2024-02-01T00:00:00Z"),
        status("0031", "customer", "2024-04-01T00:00:00Z")]
MERGE = {"type": "merged", "person_id": "0031", "merged_id": "00Q1",
         "occurred_at": "2024-02-01T00:00:00Z", "source": "salesforce", "source_id": "00Q1"}


def _stamp_rows(run: Run, db: str, *extra: str) -> list[str]:
    result = run("--db", db, "report", "stamps", "--level", "person", "--format", "csv", *extra)
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()[1:]


def test_a_converted_lead_and_its_contact_are_one_person(run: Run, db: str) -> None:
    write_jsonl("history.jsonl", *LEAD)
    assert run("--db", db, "import", "history.jsonl").exit_code == 0
    write_jsonl("merge.jsonl", MERGE)
    assert run("--db", db, "import", "merge.jsonl").exit_code == 0
    assert _stamp_rows(run, db) == [
        "person,0031,new,2024-01-10T00:00:00Z,,0,true",
        "person,0031,verified,2024-01-10T00:00:00Z,,0,true",
        "person,0031,mql,2024-01-10T00:00:00Z,2024-01-10T00:00:00Z,1,false",
        "person,0031,sal,2024-02-01T00:00:00Z,,0,true",
        "person,0031,meeting_set,2024-02-01T00:00:00Z,,0,true",
        "person,0031,sql,2024-02-01T00:00:00Z,2024-02-01T00:00:00Z,1,false",
        "person,0031,late_stage,2024-04-01T00:00:00Z,,0,true",
        "person,0031,customer,2024-04-01T00:00:00Z,2024-04-01T00:00:00Z,1,false"]
    merges = run("--db", db, "report", "merges", "--format", "json")
    [row] = json.loads(merges.stdout)
    assert {k: row[k] for k in ("subject_type", "alias_id", "merged_into", "survivor_id",
                                "status", "source")} == {
        "subject_type": "person", "alias_id": "00Q1", "merged_into": "0031",
        "survivor_id": "0031", "status": "in_effect", "source": "salesforce"}
    audit = json.loads(run("--db", db, "audit", "person", "00Q1", "--format", "json").stdout)
    assert (audit["subject_id"], audit["audited_id"], audit["merged_into"]["event_id"],
            audit["aliases"]) == ("0031", "00Q1", event_id(MERGE), ["00Q1"])
    assert [f["recorded_as"] for f in audit["facts"]] == ["00Q1", "0031", "0031", "0031"]


def test_known_at_before_the_merge_and_after_its_retraction_two_persons(run: Run,
                                                                        db: str) -> None:
    write_jsonl("history.jsonl", *LEAD)
    assert run("--db", db, "import", "history.jsonl").exit_code == 0
    write_jsonl("merge.jsonl", MERGE)
    assert run("--db", db, "import", "merge.jsonl").exit_code == 0
    [row] = json.loads(run("--db", db, "report", "merges", "--format", "json").stdout)
    merged = row["recorded_at"]
    ids = {line.split(",")[1] for line in _stamp_rows(run, db)}
    assert ids == {"0031"}
    # one microsecond before the merge was recorded
    moment = (datetime.fromisoformat(merged.replace("Z", "+00:00"))
              - timedelta(microseconds=1)).isoformat().replace("+00:00", "Z")
    assert {line.split(",")[1] for line in _stamp_rows(run, db, "--known-at", moment)} == {
        "0031", "00Q1"}
    retracted = run("--db", db, "retract", event_id(MERGE), "--reason", "wrong lead")
    assert retracted.exit_code == 0, retracted.stderr
    assert {line.split(",")[1] for line in _stamp_rows(run, db)} == {"0031", "00Q1"}
    [row] = json.loads(run("--db", db, "report", "merges", "--format", "json").stdout)
    assert (row["status"], row["survivor_id"]) == ("retracted", None)


def test_a_merge_that_would_make_an_id_its_own_alias_is_rejected(run: Run, db: str) -> None:
    write_jsonl("merges.jsonl",
                {"type": "merged", "person_id": "b", "merged_id": "a",
                 "occurred_at": "2024-01-01T00:00:00Z"},
                {"type": "merged", "person_id": "c", "merged_id": "b",
                 "occurred_at": "2024-01-02T00:00:00Z"},
                {"type": "merged", "person_id": "a", "merged_id": "c",
                 "occurred_at": "2024-01-03T00:00:00Z"},
                {"type": "merged", "person_id": "d", "merged_id": "d",
                 "occurred_at": "2024-01-03T00:00:00Z"})
    result = run("--db", db, "import", "merges.jsonl", "--rejects", "rejects.jsonl")
    assert result.exit_code == 3
    assert result.stdout == "merges.jsonl: read 4, stored 2, duplicate 0, rejected 2\n"
    rejects = [json.loads(line) for line in
               Path("rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["field"], r["reason"]) for r in rejects] == [
        (3, "merged_id", "person 'a' is already merged into 'c' (directly or through a "
                         "chain): merging 'c' into it would make it its own alias"),
        (4, "merged_id", "person 'd' cannot be merged into itself")]


def test_the_html_report_has_the_pipeline_by_quarter_opened(run: Run, pipeline: str) -> None:
    result = run("--db", pipeline, "report", "html", "-o", "report.html")
    assert result.exit_code == 0, result.stderr
    page = Path("report.html").read_text("utf-8")
    section = page[page.index('id="pipeline"'):page.index("<h2>Aging</h2>")]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", section)
    assert cells == ["2024-Q1", "1", "0", "0.0%", "–",  # o1, lost
                     "2024-Q2", "1", "1", "100.0%", "31.0"]  # o2, won in 31 days
