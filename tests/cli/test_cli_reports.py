"""`lifecycle report stages/stamps/moves`: the exact JSON and CSV scripts rely on (SPEC §5)."""

from __future__ import annotations

import json
import time

import pytest
from cli_support import FACTS, IDS, Run, status, write_jsonl

from lifecycle.domain.starters import DATA
from lifecycle.domain.timeutil import format_instant, utc_now

STAMPS_HEADER = ("subject_type,subject_id,stage,first_reached_at,last_reached_at,"
                 "times_reached,inferred\n")
MOVES_HEADER = "subject_type,subject_id,occurred_at,from_stage,to_stage,direction,event_id\n"
LABELS = {  # b2b-2024, in definitions order
    "new": "New/Unverified", "verified": "Verified", "nurture": "Nurture/Recycle",
    "mql": "Marketing Qualified", "sal": "Sales Accepted/Working",
    "meeting_set": "Meeting Set", "sql": "Sales Qualified",
    "late_stage": "Late Stage Opportunity", "customer": "Customer", "churned": "Churned",
    "disqualified": "Disqualified", "not_a_target": "Not a Target",
    "inactive": "No Longer at Company/Inactive",
}


def stages_document(as_of: str, level: str, counts: dict[str, int],
                    known_at: str | None = None) -> dict:
    return {"as_of": as_of, "known_at": known_at, "definitions_version": "b2b-2024",
            "level": level, "total": sum(counts.values()),
            "stages": [{"stage": key, "label": label, "count": counts.get(key, 0)}
                       for key, label in LABELS.items()]}


def assert_json(text: str, expected: object) -> None:
    assert json.loads(text) == expected
    assert text == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"


@pytest.fixture
def loaded(run: Run, db: str) -> str:
    write_jsonl("facts.jsonl", *FACTS)
    assert run("--db", db, "import", "facts.jsonl").exit_code == 0
    return db


def test_labels_are_those_of_the_starter() -> None:
    text = (DATA / "b2b-2024.yaml").read_text("utf-8")
    assert all(f'label: "{label}"' in text for label in LABELS.values())


def test_stages_json(run: Run, loaded: str) -> None:
    result = run("--db", loaded, "report", "stages", "--as-of", "2024-02-15T01:00:00+01:00",
                 "--format", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    assert_json(result.stdout, stages_document("2024-02-15T00:00:00Z", "person",
                                               {"verified": 1, "sql": 1}))
    accounts = run("--db", loaded, "report", "stages", "--as-of", "2024-01-10",
                   "--level", "account", "--format", "json")
    assert_json(accounts.stdout, stages_document("2024-01-10T00:00:00Z", "account",
                                                 {"mql": 1}))


def test_stages_json_on_an_empty_ledger_lists_every_stage(run: Run, db: str) -> None:
    result = run("--db", db, "report", "stages", "--as-of", "2024-01-01T00:00:00Z",
                 "--format", "json")
    assert result.exit_code == 0
    assert_json(result.stdout, stages_document("2024-01-01T00:00:00Z", "person", {}))


def test_stages_csv_and_table(run: Run, loaded: str) -> None:
    result = run("--db", loaded, "report", "stages", "--as-of", "2024-01-06", "--format",
                 "csv")
    assert result.stdout == "stage,label,count\n" + "".join(
        f"{key},{label},{ {'new': 1, 'mql': 1}.get(key, 0)}\n"
        for key, label in LABELS.items())
    table = run("--db", loaded, "report", "stages", "--as-of", "2024-01-06")
    assert table.exit_code == 0
    assert "Marketing Qualified" in table.stdout
    assert "persons as of 2024-01-06T00:00:00Z · definitions b2b-2024 · total 2" in table.stdout


def test_stages_known_at(run: Run, db: str) -> None:
    write_jsonl("first.jsonl", *FACTS[:3])
    run("--db", db, "import", "first.jsonl")
    args = ["--db", db, "report", "stages", "--as-of", "2024-03-01T00:00:00Z", "--format",
            "json"]
    before = run(*args).stdout
    time.sleep(0.01)
    known_at = format_instant(utc_now())
    time.sleep(0.01)
    write_jsonl("second.jsonl", *FACTS[3:])
    run("--db", db, "import", "second.jsonl")
    assert json.loads(run(*args).stdout)["total"] == 2
    then = run(*args, "--known-at", known_at)
    assert then.exit_code == 0
    assert then.stdout == before.replace('"known_at": null', f'"known_at": "{known_at}"')
    assert json.loads(before)["known_at"] is None


def test_stamps_csv(run: Run, loaded: str) -> None:
    result = run("--db", loaded, "report", "stamps", "--format", "csv")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == STAMPS_HEADER + (
        "account,acme,new,2024-01-06T00:00:00Z,,0,true\n"
        "account,acme,verified,2024-01-06T00:00:00Z,2024-01-20T00:00:00Z,1,false\n"
        "account,acme,mql,2024-01-06T00:00:00Z,2024-01-06T00:00:00Z,1,false\n"
        "person,p1,new,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z,1,false\n"
        "person,p1,verified,2024-01-10T00:00:00Z,,0,true\n"
        "person,p1,mql,2024-01-10T00:00:00Z,2024-01-10T00:00:00Z,1,false\n"
        "person,p1,sal,2024-02-01T00:00:00Z,,0,true\n"
        "person,p1,meeting_set,2024-02-01T00:00:00Z,,0,true\n"
        "person,p1,sql,2024-02-01T00:00:00Z,2024-02-01T00:00:00Z,1,false\n"
        "person,p2,new,2024-01-06T00:00:00Z,,0,true\n"
        "person,p2,verified,2024-01-06T00:00:00Z,2024-01-20T00:00:00Z,1,false\n"
        "person,p2,mql,2024-01-06T00:00:00Z,2024-01-06T00:00:00Z,1,false\n")


def test_stamps_filters(run: Run, loaded: str) -> None:
    mql = run("--db", loaded, "report", "stamps", "--stage", "mql", "--level", "person",
              "--format", "csv")
    assert mql.stdout == STAMPS_HEADER + (
        "person,p1,mql,2024-01-10T00:00:00Z,2024-01-10T00:00:00Z,1,false\n"
        "person,p2,mql,2024-01-06T00:00:00Z,2024-01-06T00:00:00Z,1,false\n")
    as_json = run("--db", loaded, "report", "stamps", "--stage", "sal", "--format", "json")
    assert_json(as_json.stdout, [
        {"subject_type": "person", "subject_id": "p1", "stage": "sal",
         "first_reached_at": "2024-02-01T00:00:00Z", "last_reached_at": None,
         "times_reached": 0, "inferred": True}])
    unknown = run("--db", loaded, "report", "stamps", "--stage", "lead")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("Error: unknown stage 'lead' (stages: new, verified, ")


def test_moves_csv(run: Run, loaded: str) -> None:
    result = run("--db", loaded, "report", "moves", "--format", "csv")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == MOVES_HEADER + (
        f"account,acme,2024-01-06T00:00:00Z,,mql,entry,{IDS[3]}\n"
        f"account,acme,2024-01-20T00:00:00Z,mql,verified,backward,{IDS[4]}\n"
        f"person,p1,2024-01-01T00:00:00Z,,new,entry,{IDS[0]}\n"
        f"person,p1,2024-01-10T00:00:00Z,new,mql,forward,{IDS[1]}\n"
        f"person,p1,2024-02-01T00:00:00Z,mql,sql,forward,{IDS[2]}\n"
        f"person,p2,2024-01-06T00:00:00Z,,mql,entry,{IDS[3]}\n"
        f"person,p2,2024-01-20T00:00:00Z,mql,verified,backward,{IDS[4]}\n")


def test_moves_since_is_inclusive_until_exclusive(run: Run, loaded: str) -> None:
    result = run("--db", loaded, "report", "moves", "--level", "person", "--since",
                 "2024-01-10T00:00:00Z", "--until", "2024-02-01T00:00:00Z", "--format", "csv")
    assert result.stdout == MOVES_HEADER + (
        f"person,p1,2024-01-10T00:00:00Z,new,mql,forward,{IDS[1]}\n"
        f"person,p2,2024-01-20T00:00:00Z,mql,verified,backward,{IDS[4]}\n")
    dates = run("--db", loaded, "report", "moves", "--since", "2024-01-06", "--until",
                "2024-01-07", "--format", "csv")
    assert dates.stdout == MOVES_HEADER + (
        f"account,acme,2024-01-06T00:00:00Z,,mql,entry,{IDS[3]}\n"
        f"person,p2,2024-01-06T00:00:00Z,,mql,entry,{IDS[3]}\n")


def test_moves_direction_and_json(run: Run, loaded: str) -> None:
    result = run("--db", loaded, "report", "moves", "--direction", "backward", "--level",
                 "person", "--format", "json")
    assert_json(result.stdout, [
        {"subject_type": "person", "subject_id": "p2", "occurred_at": "2024-01-20T00:00:00Z",
         "from_stage": "mql", "to_stage": "verified", "direction": "backward",
         "event_id": IDS[4]}])
    several = run("--db", loaded, "report", "moves", "--direction", "entry", "--direction",
                  "backward", "--level", "person", "--format", "csv")
    assert [line.split(",")[5] for line in several.stdout.splitlines()[1:]] == [
        "entry", "entry", "backward"]


def test_subject_ids_sort_as_strings(run: Run, db: str) -> None:
    write_jsonl("ids.jsonl", *(status(pid, "lead", "2024-01-01T00:00:00Z")
                               for pid in ("10", "9", "100", "B", "a")))
    run("--db", db, "import", "ids.jsonl")
    result = run("--db", db, "report", "moves", "--format", "csv")
    assert [line.split(",")[1] for line in result.stdout.splitlines()[1:]] == [
        "10", "100", "9", "B", "a"] == sorted(["10", "9", "100", "B", "a"])
