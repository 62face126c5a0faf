"""Silent zeros: `lifecycle definitions check`, and the warnings of `import`, `init`,
`backfill`, `report stages` and `report funnel` when the definitions map (almost) nothing.
Exact output, under the b2b-2024 definitions."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import Run, event_id, status, write_jsonl

from lifecycle.domain.starters import starter_text

OPPORTUNITY = {"type": "status_changed", "opportunity_id": "006A", "field": "StageName",
               "occurred_at": "2024-01-05T00:00:00Z"}
FACTS = [
    status("p1", "subscriber", "2024-01-01T00:00:00Z"),
    status("p1", " LEAD ", "2024-01-02T00:00:00Z"),  # matched trimmed, case-insensitively
    status("p2", "lead", "2024-01-03T00:00:00Z"),
    status("p4", "lead", "2024-01-03T00:00:00Z"),  # shown as its commonest spelling
    status("p2", "", "2024-01-04T00:00:00Z"),  # cleared
    status("p3", "Working", "2024-01-04T00:00:00Z", field="Lead Status"),  # no such field
    {**OPPORTUNITY, "value": "Negociación"},
    {**OPPORTUNITY, "value": "Closed Won", "occurred_at": "2024-02-01T00:00:00Z"},
]
CSV = """subject_type,field,value,facts,stage
opportunity,StageName,Closed Won,1,customer
opportunity,StageName,Negociación,1,unmapped
person,Lead Status,Working,1,unmapped
person,lifecycle_stage,,1,cleared
person,lifecycle_stage,lead,3,verified
person,lifecycle_stage,subscriber,1,new
"""
#: The table, its lines' trailing spaces left out.
TABLE = """\

  subject_type   field             value         facts   stage
 ─────────────────────────────────────────────────────────────────
  opportunity    StageName         Closed Won        1   customer
  opportunity    StageName         Negociación       1   unmapped
  person         Lead Status       Working           1   unmapped
  person         lifecycle_stage                     1   cleared
  person         lifecycle_stage   lead              3   verified
  person         lifecycle_stage   subscriber        1   new

Definitions b2b-2024: 2 of 7 status change(s) with a value map to no stage.
"""


def test_definitions_check(run: Run, db: str) -> None:
    write_jsonl("facts.jsonl", *FACTS)
    imported = run("--db", db, "import", "facts.jsonl")
    assert (imported.exit_code, imported.stderr) == (0, "")  # 2 of 7 unmapped: no warning
    as_csv = run("--db", db, "definitions", "check", "--format", "csv")
    assert (as_csv.exit_code, as_csv.stdout, as_csv.stderr) == (0, CSV, "")
    as_table = run("--db", db, "definitions", "check")
    assert as_table.exit_code == 0
    assert [line.rstrip() for line in as_table.stdout.splitlines()] == TABLE.splitlines()
    as_json = run("--db", db, "definitions", "check", "--format", "json")
    assert json.loads(as_json.stdout) == {"definitions_version": "b2b-2024", "rows": [
        {"subject_type": "opportunity", "field": "StageName", "value": "Closed Won",
         "facts": 1, "stage": "customer"},
        {"subject_type": "opportunity", "field": "StageName", "value": "Negociación",
         "facts": 1, "stage": "unmapped"},
        {"subject_type": "person", "field": "Lead Status", "value": "Working", "facts": 1,
         "stage": "unmapped"},
        {"subject_type": "person", "field": "lifecycle_stage", "value": "", "facts": 1,
         "stage": "cleared"},
        {"subject_type": "person", "field": "lifecycle_stage", "value": "lead", "facts": 3,
         "stage": "verified"},
        {"subject_type": "person", "field": "lifecycle_stage", "value": "subscriber",
         "facts": 1, "stage": "new"}]}


def test_retracted_facts_are_left_out(run: Run, db: str) -> None:
    write_jsonl("facts.jsonl", *FACTS)
    run("--db", db, "import", "facts.jsonl")
    working = next(f for f in FACTS if f["value"] == "Working")
    assert run("--db", db, "retract", event_id(working)).exit_code == 0
    result = run("--db", db, "definitions", "check", "--format", "csv")
    assert result.stdout == CSV.replace("person,Lead Status,Working,1,unmapped\n", "")


def test_check_other_definitions(run: Run, db: str, tmp_path: Path) -> None:
    write_jsonl("facts.jsonl", *FACTS)
    run("--db", db, "import", "facts.jsonl")
    result = run("--db", db, "definitions", "check", "--definitions", "salesforce-default",
                 "--format", "json")
    data = json.loads(result.stdout)
    assert data["definitions_version"] != "b2b-2024"
    assert {row["value"]: row["stage"] for row in data["rows"]}["subscriber"] == "unmapped"


def test_empty_ledger(run: Run, db: str) -> None:
    result = run("--db", db, "definitions", "check", "--format", "csv")
    assert (result.exit_code, result.stdout) == (0, "subject_type,field,value,facts,stage\n")


def load_starter(name: str) -> str:
    text = starter_text(name)
    assert text is not None
    return text


MISSPELT = [  # HubSpot's property name under the canonical field: nothing maps
    status("p1", "lead", "2024-01-01T00:00:00Z", field="lifecycle stage"),
    status("p2", "customer", "2024-01-02T00:00:00Z", field="lifecycle stage"),
    status("p2", "Customer", "2024-01-03T00:00:00Z", field="lifecycle stage"),
    status("p3", "subscriber", "2024-01-02T00:00:00Z"),
]
UNMAPPED = ("3 of 4 status changes {where} map to no stage under definitions b2b-2024: "
            "lifecycle stage = 'Customer' (2), lifecycle stage = 'lead' (1); see "
            "`lifecycle definitions check`")


def test_import_init_and_backfill_warn(run: Run, sqlite_db: str) -> None:
    write_jsonl("misspelt.jsonl", *MISSPELT)
    imported = run("--db", sqlite_db, "import", "misspelt.jsonl")
    assert (imported.exit_code, imported.stdout, imported.stderr) == (
        0, "misspelt.jsonl: read 4, stored 4, duplicate 0, rejected 0\n",
        "Warning: " + UNMAPPED.format(where="in misspelt.jsonl") + "\n")
    again = run("--db", sqlite_db, "import", "misspelt.jsonl")  # duplicates count too
    assert again.stderr == "Warning: " + UNMAPPED.format(where="in misspelt.jsonl") + "\n"
    init = run("--db", sqlite_db, "init", "--definitions", "b2b-2024")
    assert (init.exit_code, init.stderr) == (
        0, "Warning: " + UNMAPPED.format(where="in the ledger") + "\n")
    dry = run("--db", sqlite_db, "backfill", "b2b-2024", "--dry-run", "--format", "json")
    assert dry.exit_code == 0
    assert dry.stderr == "Warning: " + UNMAPPED.format(where="in the ledger") + "\n"
    newer = Path("b2b-2025.yaml")
    newer.write_text(load_starter("b2b-2024").replace('version: "b2b-2024"',
                                                      'version: "b2b-2025"'), "utf-8")
    backfill = run("--db", sqlite_db, "backfill", str(newer))
    assert backfill.exit_code == 0
    assert backfill.stderr == "Warning: " + UNMAPPED.format(where="in the ledger").replace(
        "b2b-2024", "b2b-2025") + "\n"


def test_no_warning_when_most_values_map(run: Run, sqlite_db: str) -> None:
    write_jsonl("facts.jsonl", *MISSPELT[:1], *MISSPELT[3:], status(
        "p4", "lead", "2024-01-02T00:00:00Z"))
    imported = run("--db", sqlite_db, "import", "facts.jsonl")
    assert (imported.exit_code, imported.stderr) == (0, "")
    assert run("--db", sqlite_db, "init", "--definitions", "b2b-2024").stderr == ""


def test_report_stages_says_no_subject_has_a_stage(run: Run, sqlite_db: str) -> None:
    write_jsonl("misspelt.jsonl", *MISSPELT[:3])
    run("--db", sqlite_db, "import", "misspelt.jsonl")
    result = run("--db", sqlite_db, "report", "stages", "--as-of", "2024-06-01",
                 "--format", "csv")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == "new,New/Unverified,0"
    assert result.stderr == (
        "Note: the ledger holds 3 facts but no subject has a stage: 3 of 3 status changes in "
        "the ledger map to no stage under definitions b2b-2024: lifecycle stage = 'Customer' "
        "(2), lifecycle stage = 'lead' (1); see `lifecycle definitions check`\n")


def test_reports_on_another_level_hint_at_level(run: Run, sqlite_db: str) -> None:
    write_jsonl("deals.jsonl", {**OPPORTUNITY, "value": "Prospecting"},
                {**OPPORTUNITY, "opportunity_id": "006B", "value": "Closed Won"})
    run("--db", sqlite_db, "import", "deals.jsonl")
    hint = ("Note: no person has a stage, but 2 opportunities do: pass --level opportunity\n")
    funnel = run("--db", sqlite_db, "report", "funnel", "--format", "csv")
    assert (funnel.exit_code, funnel.stderr) == (0, hint)
    assert funnel.stdout.splitlines()[1] == "new,New/Unverified,0,0,0,,,"
    stages = run("--db", sqlite_db, "report", "stages", "--as-of", "2024-06-01")
    assert (stages.exit_code, stages.stderr) == (0, hint)
    by_level = run("--db", sqlite_db, "report", "funnel", "--level", "opportunity",
                   "--entry-stage", "meeting_set", "--format", "csv")
    assert (by_level.exit_code, by_level.stderr) == (0, "")
    accounts = run("--db", sqlite_db, "report", "stages", "--as-of", "2024-06-01",
                   "--level", "account", "--format", "json")
    assert accounts.stderr == ("Note: no account has a stage, but 2 opportunities do: pass "
                               "--level opportunity\n")
