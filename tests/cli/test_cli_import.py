"""`lifecycle import`: the summary line, rejects, --strict, idempotency (SPEC §5, §6)."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import FACTS, Run, status, write_jsonl

HEADER = "subject_type,subject_id,occurred_at,from_stage,to_stage,direction,event_id\n"


def test_import_then_reimport(run: Run, db: str) -> None:
    write_jsonl("facts.jsonl", *FACTS)
    first = run("--db", db, "import", "facts.jsonl")
    assert (first.exit_code, first.stderr) == (0, "")
    assert first.stdout == "facts.jsonl: read 6, stored 6, duplicate 0, rejected 0\n"
    again = run("--db", db, "import", "facts.jsonl")
    assert (again.exit_code, again.stderr) == (0, "")
    assert again.stdout == "facts.jsonl: read 6, stored 0, duplicate 6, rejected 0\n"


def test_duplicates_within_the_file_and_blank_lines(run: Run, sqlite_db: str) -> None:
    write_jsonl("dups.jsonl", FACTS[0], "", FACTS[0], "   ", FACTS[1],
                {**FACTS[1], "occurred_at": "2024-01-10T01:00:00+01:00"})
    result = run("--db", sqlite_db, "import", "dups.jsonl")
    assert result.exit_code == 0
    assert result.stdout == "dups.jsonl: read 4, stored 2, duplicate 2, rejected 0\n"


def test_bad_lines_are_rejected_with_line_field_and_reason(run: Run, db: str) -> None:
    bad_time = status("p3", "lead", "2024-01-03T00:00:00")
    unknown = {**status("p4", "lead", "2024-01-03T00:00:00Z"), "colour": "red"}
    conflict = {**FACTS[0], "value": "customer"}  # same source + source_id, other content
    write_jsonl("facts.jsonl", FACTS[0], "{not json", "", bad_time, FACTS[3], unknown,
                "[1, 2]", conflict)
    result = run("--db", db, "import", "facts.jsonl", "--rejects", "rejects.jsonl")
    assert result.exit_code == 3
    assert result.stdout == "facts.jsonl: read 7, stored 2, duplicate 0, rejected 5\n"
    assert result.stderr == (
        "  facts.jsonl:2: not valid JSON: Expecting property name enclosed in double quotes "
        "at column 2\n"
        "  facts.jsonl:4: occurred_at: timestamp 2024-01-03T00:00:00 has no offset "
        "(add Z or +HH:MM, or pass --assume-tz)\n"
        "  facts.jsonl:6: colour: unknown field\n"
        "  facts.jsonl:7: a fact must be a JSON object\n"
        "  facts.jsonl:8: source_id: a fact with this source and source_id is already "
        "recorded with other content\n")
    rejects = [json.loads(line) for line in
               Path("rejects.jsonl").read_text("utf-8").splitlines()]
    assert rejects == [
        {"line": 2, "field": None,
         "reason": "not valid JSON: Expecting property name enclosed in double quotes at "
                   "column 2", "raw": "{not json"},
        {"line": 4, "field": "occurred_at",
         "reason": "timestamp 2024-01-03T00:00:00 has no offset (add Z or +HH:MM, or pass "
                   "--assume-tz)", "raw": json.dumps(bad_time)},
        {"line": 6, "field": "colour", "reason": "unknown field", "raw": json.dumps(unknown)},
        {"line": 7, "field": None, "reason": "a fact must be a JSON object", "raw": "[1, 2]"},
        {"line": 8, "field": "source_id",
         "reason": "a fact with this source and source_id is already recorded with other "
                   "content", "raw": json.dumps(conflict)},
    ]
    # The good rows are stored.
    moves = run("--db", db, "report", "moves", "--format", "csv")
    assert [line.split(",")[1] for line in moves.stdout.splitlines()[1:]] == ["p1", "p2"]


def test_more_than_five_rejects_are_summarised(run: Run, sqlite_db: str) -> None:
    write_jsonl("bad.jsonl", *["nope"] * 7)
    result = run("--db", sqlite_db, "import", "bad.jsonl")
    assert result.exit_code == 3
    assert result.stdout == "bad.jsonl: read 7, stored 0, duplicate 0, rejected 7\n"
    assert result.stderr.splitlines()[-1] == "  … and 2 more"


def test_strict_stores_nothing(run: Run, db: str) -> None:
    write_jsonl("facts.jsonl", *FACTS, status("p3", "lead", "yesterday"))
    result = run("--db", db, "import", "facts.jsonl", "--strict")
    assert result.exit_code == 1
    assert result.stdout == "facts.jsonl: read 7, stored 0, duplicate 0, rejected 1\n"
    assert result.stderr == (
        "  facts.jsonl:7: occurred_at: not an ISO 8601 timestamp: 'yesterday'\n"
        "Error: facts.jsonl: 1 bad row(s); nothing was stored (--strict)\n")
    moves = run("--db", db, "report", "moves", "--format", "csv")
    assert moves.stdout == HEADER
    write_jsonl("facts.jsonl", *FACTS)
    good = run("--db", db, "import", "facts.jsonl", "--strict")
    assert good.exit_code == 0
    assert good.stdout == "facts.jsonl: read 6, stored 6, duplicate 0, rejected 0\n"


def test_assume_tz(run: Run, sqlite_db: str) -> None:
    write_jsonl("naive.jsonl", status("p1", "lead", "2024-07-01T10:00:00"))
    result = run("--db", sqlite_db, "import", "naive.jsonl", "--assume-tz", "Europe/Berlin")
    assert result.exit_code == 0
    moves = run("--db", sqlite_db, "report", "moves", "--format", "csv")
    assert moves.stdout.splitlines()[1].startswith("person,p1,2024-07-01T08:00:00Z,,verified,")
    bad_zone = run("--db", sqlite_db, "import", "naive.jsonl", "--assume-tz", "Mars/Olympus")
    assert bad_zone.exit_code == 1
    assert bad_zone.stderr == "Error: unknown time zone 'Mars/Olympus'\n"


def test_csv_import(run: Run, db: str) -> None:
    Path("facts.csv").write_text(
        "type,person_id,account_id,value,field,occurred_at\n"
        "status_changed,p1,,subscriber,,2024-01-01T00:00:00Z\n"
        "status_changed,p1,,Working - Contacted,Status,2024-01-02T00:00:00Z\n"
        "person_linked,p1,acme,,,2024-01-01T00:00:00Z\n"
        "status_changed,,acme,,,2024-01-03T00:00:00Z\n"
        "status_changed,p2,,lead,,2024-01-02\n", encoding="utf-8")
    result = run("--db", db, "import", "facts.csv")
    assert result.exit_code == 3
    assert result.stdout == "facts.csv: read 5, stored 4, duplicate 0, rejected 1\n"
    assert result.stderr == "  facts.csv:6: occurred_at: timestamp 2024-01-02T00:00:00 has " \
                            "no offset (add Z or +HH:MM, or pass --assume-tz)\n"
    again = run("--db", db, "import", "facts.csv")
    assert again.stdout == "facts.csv: read 5, stored 0, duplicate 4, rejected 1\n"


def test_import_file_problems(run: Run, sqlite_db: str) -> None:
    missing = run("--db", sqlite_db, "import", "missing.jsonl")
    assert (missing.exit_code, missing.stderr) == (1, "Error: missing.jsonl: no such file\n")
    Path("facts.txt").write_text("{}\n", "utf-8")
    unknown = run("--db", sqlite_db, "import", "facts.txt")
    assert unknown.exit_code == 1
    assert unknown.stderr == ("Error: cannot tell the format of facts.txt from its name: "
                              "pass --format jsonl or csv\n")
    Path("bad.csv").write_text("type,colour\n", "utf-8")
    header = run("--db", sqlite_db, "import", "bad.csv")
    assert header.exit_code == 1
    assert header.stderr.startswith("Error: bad.csv: line 1: unknown column 'colour'")


def test_a_file_rejected_only_for_missing_offsets_gets_a_hint(run: Run, sqlite_db: str
                                                              ) -> None:
    """A weekly Data Export writes UTC without an offset (SPEC §2 rejects it without
    --assume-tz): the import says what to run instead of leaving 2 rejections to decode."""
    Path("OpportunityHistory.csv").write_text(
        '"Id","IsDeleted","OpportunityId","CreatedById","CreatedDate","StageName"\n'
        '"0088c00000Qw1aAAAR","0","0068c00000LmN3oAAF","0058c00000AbCdEAAV",'
        '"2024-02-02 13:31:10","Qualification"\n'
        '"0088c00000Qw1bAAAR","0","0068c00000LmN3oAAF","0058c00000AbCdEAAV",'
        '"2024-02-19 10:05:44","Closed Won"\n', "utf-8")
    result = run("--db", sqlite_db, "import", "OpportunityHistory.csv", "--format",
                 "salesforce")
    assert (result.exit_code, result.stdout) == (3, (
        "OpportunityHistory.csv: read 2, stored 0, duplicate 0, rejected 2, skipped 0\n"))
    assert result.stderr.splitlines()[-1] == (
        "Hint: every row was rejected for a timestamp without an offset. Salesforce's Data "
        "Export, Fivetran and Airbyte write UTC: run the same import again with --assume-tz "
        "UTC (or the zone the export was written in)")
    again = run("--db", sqlite_db, "import", "OpportunityHistory.csv", "--format",
                "salesforce", "--assume-tz", "UTC")
    assert (again.exit_code, again.stdout, again.stderr) == (0, (
        "OpportunityHistory.csv: read 2, stored 2, duplicate 0, rejected 0, skipped 0\n"), "")


def test_columns_take_the_opportunity_and_merge_fields(run: Run, sqlite_db: str) -> None:
    """`--columns` maps opportunity_id, kind, role, state and merged_id (issues 14, 15); the
    mapping lines stay aligned however long the field names."""
    Path("m.csv").write_text(
        "Kind,Opp,Acct,Who,When,Role,State,Old,Type\n"
        "opportunity_linked,o1,a1,,2024-01-01T00:00:00Z,,,,Renewal\n"
        "contact_role,o1,,p1,2024-01-02T00:00:00Z,Buyer,added,,\n"
        "merged,,,p1,2024-01-03T00:00:00Z,,,p0,\n", "utf-8")
    result = run("--db", sqlite_db, "import", "m.csv", "--columns",
                 "type=Kind,opportunity_id=Opp,account_id=Acct,person_id=Who,occurred_at=When,"
                 "role=Role,state=State,merged_id=Old,kind=Type")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "Column mapping:\n"
        "  type           <- column 'Kind'\n"
        "  opportunity_id <- column 'Opp'\n"
        "  account_id     <- column 'Acct'\n"
        "  person_id      <- column 'Who'\n"
        "  occurred_at    <- column 'When'\n"
        "  role           <- column 'Role'\n"
        "  state          <- column 'State'\n"
        "  merged_id      <- column 'Old'\n"
        "  kind           <- column 'Type'\n"
        "m.csv: read 3, stored 3, duplicate 0, rejected 0\n")
    merges = run("--db", sqlite_db, "report", "merges", "--format", "json")
    assert [(m["alias_id"], m["survivor_id"]) for m in json.loads(merges.stdout)] \
        == [("p0", "p1")]
