"""`lifecycle audit`, `retract` and `verify`."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from cli_support import FACTS, IDS, Run, write_jsonl

INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def loaded(run: Run, db: str) -> str:
    write_jsonl("facts.jsonl", *FACTS)
    assert run("--db", db, "import", "facts.jsonl").exit_code == 0
    return db


def audit_json(run: Run, db: str, kind: str, sid: str) -> dict[str, Any]:
    result = run("--db", db, "audit", kind, sid, "--format", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    document = json.loads(result.stdout)
    for fact in document["facts"]:
        assert INSTANT.match(fact.pop("recorded_at"))
        assert isinstance(fact.pop("seq"), int)
    return document


def fact_row(event_id: str, kind: str, when: str, details: dict[str, Any], derived: str,
             detail: str, **common: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": kind, "occurred_at": when,
            "source": common.get("source"), "source_id": common.get("source_id"),
            "actor": common.get("actor"), "campaign": common.get("campaign"),
            "details": details, "derived": derived, "derived_detail": detail,
            "retracted": common.get("retracted"),
            "recorded_as": common.get("recorded_as", "p2")}


P2_TRANSITIONS = [
    {"occurred_at": "2024-01-06T00:00:00Z", "from_stage": None, "to_stage": "mql",
     "direction": "entry", "event_id": IDS[3]},
    {"occurred_at": "2024-01-20T00:00:00Z", "from_stage": "mql", "to_stage": "verified",
     "direction": "backward", "event_id": IDS[4]},
]


def test_audit_person_json_lists_each_fact_with_its_event_id(run: Run, loaded: str) -> None:
    document = audit_json(run, loaded, "person", "p2")
    assert document == {
        "subject_type": "person", "subject_id": "p2", "definitions_version": "b2b-2024",
        "current_stage": "verified",
        "facts": [
            fact_row(IDS[5], "person_linked", "2024-01-05T00:00:00Z", {}, "recorded",
                     "linked to account acme"),
            fact_row(IDS[3], "status_changed", "2024-01-06T00:00:00Z",
                     {"field": "lifecycle_stage", "value": "marketingqualifiedlead"},
                     "transition", "(none) -> mql (entry)"),
            fact_row(IDS[4], "status_changed", "2024-01-20T00:00:00Z",
                     {"field": "lifecycle_stage", "value": "lead"},
                     "transition", "mql -> verified (backward)"),
        ],
        "transitions": P2_TRANSITIONS,
        "stamps": [
            {"stage": "new", "first_reached_at": "2024-01-06T00:00:00Z",
             "last_reached_at": None, "times_reached": 0, "inferred": True,
             "caused_by": IDS[3], "from_stage": None, "account_id": "acme"},
            {"stage": "verified", "first_reached_at": "2024-01-06T00:00:00Z",
             "last_reached_at": "2024-01-20T00:00:00Z", "times_reached": 1,
             "inferred": False, "caused_by": IDS[3], "from_stage": None,
             "account_id": "acme"},
            {"stage": "mql", "first_reached_at": "2024-01-06T00:00:00Z",
             "last_reached_at": "2024-01-06T00:00:00Z", "times_reached": 1,
             "inferred": False, "caused_by": IDS[3], "from_stage": None,
             "account_id": "acme"},
        ],
        "intervals": [
            {"stage": "mql", "entered_at": "2024-01-06T00:00:00Z",
             "exited_at": "2024-01-20T00:00:00Z"},
            {"stage": "verified", "entered_at": "2024-01-20T00:00:00Z", "exited_at": None},
        ],
        "memberships": [{"account_id": "acme", "from": "2024-01-05T00:00:00Z", "to": None}],
        "cascaded": [],
        "flags": [],
        # SPEC §8: the id asked for, the merge that made it an alias (none), its aliases.
        "audited_id": "p2", "merged_into": None, "aliases": [],
    }


def test_audit_person_shows_signals_and_source(run: Run, loaded: str) -> None:
    document = audit_json(run, loaded, "person", "p1")
    assert [(f["event_id"], f["derived"], f["source"], f["source_id"])
            for f in document["facts"]] == [
        (IDS[0], "transition", "crm", "1"), (IDS[1], "transition", None, None),
        (IDS[2], "transition", None, None)]
    assert document["facts"][1]["details"] == {"kind": "demo_request", "fit": "high"}


def test_audit_account_rolls_up_its_persons(run: Run, loaded: str) -> None:
    document = audit_json(run, loaded, "account", "acme")
    assert (document["subject_type"], document["subject_id"], document["current_stage"],
            document["facts"]) == ("account", "acme", "verified", [])
    assert document["transitions"] == P2_TRANSITIONS


def test_audit_csv_and_unknown_subject(run: Run, loaded: str) -> None:
    result = run("--db", loaded, "audit", "person", "p2", "--format", "csv")
    lines = result.stdout.splitlines()
    assert lines[0] == ("occurred_at,recorded_at,type,details,source,actor,event_id,derived,"
                        "retracted")
    assert [line.split(",")[0] for line in lines[1:]] == [
        "2024-01-05T00:00:00Z", "2024-01-06T00:00:00Z", "2024-01-20T00:00:00Z"]
    unknown = run("--db", loaded, "audit", "person", "p404")
    assert unknown.exit_code == 1
    assert unknown.stderr == "Error: no facts are recorded about person 'p404'\n"


def test_retract_then_reports_and_audit_leave_the_fact_out(run: Run, loaded: str) -> None:
    result = run("--db", loaded, "retract", IDS[4], "--reason", "typo", "--actor", "ops")
    assert (result.exit_code, result.stderr) == (0, "")
    match = re.fullmatch(rf"Retracted {IDS[4]} \(retraction ({UUID})\)\n", result.stdout)
    assert match
    retraction = match.group(1)

    moves = run("--db", loaded, "report", "moves", "--level", "person", "--format", "csv")
    assert [line.split(",")[1:6] for line in moves.stdout.splitlines()[1:]] == [
        ["p1", "2024-01-01T00:00:00Z", "", "new", "entry"],
        ["p1", "2024-01-10T00:00:00Z", "new", "mql", "forward"],
        ["p1", "2024-02-01T00:00:00Z", "mql", "sql", "forward"],
        ["p2", "2024-01-06T00:00:00Z", "", "mql", "entry"]]

    document = audit_json(run, loaded, "person", "p2")
    by_id = {f["event_id"]: f for f in document["facts"]}
    target = by_id[IDS[4]]
    assert (target["derived"], target["derived_detail"]) == ("retracted", "typo")
    assert target["retracted"]["event_id"] == retraction
    assert (target["retracted"]["actor"], target["retracted"]["reason"]) == ("ops", "typo")
    assert INSTANT.match(target["retracted"]["recorded_at"])
    assert by_id[retraction]["type"] == "retracted"
    assert by_id[retraction]["details"] == {"target_event_id": IDS[4], "reason": "typo"}
    assert document["current_stage"] == "mql"

    verify = run("--db", loaded, "verify")
    assert (verify.exit_code, verify.stderr) == (0, "")
    assert verify.stdout.endswith(": intact\n")


def test_retract_errors(run: Run, loaded: str) -> None:
    first = run("--db", loaded, "retract", IDS[4])
    retraction = re.search(rf"retraction ({UUID})", first.stdout).group(1)  # type: ignore[union-attr]
    twice = run("--db", loaded, "retract", IDS[4])
    assert (twice.exit_code, twice.stdout) == (1, "")
    assert twice.stderr == f"Error: fact {IDS[4]} is already retracted (by {retraction})\n"
    undo = run("--db", loaded, "retract", retraction)
    assert (undo.exit_code, undo.stderr) == (1, "Error: a retraction cannot be retracted\n")
    unknown = "00000000-0000-4000-8000-000000000000"
    missing = run("--db", loaded, "retract", unknown)
    assert (missing.exit_code, missing.stderr) == (1, f"Error: no fact {unknown} is recorded\n")


def test_verify_on_a_fresh_and_a_loaded_ledger(run: Run, db: str) -> None:
    empty = run("--db", db, "verify")
    assert (empty.exit_code, empty.stderr) == (0, "")
    assert empty.stdout.endswith(": intact\n")
    write_jsonl("facts.jsonl", *FACTS)
    run("--db", db, "import", "facts.jsonl")
    loaded = run("--db", db, "verify")
    assert (loaded.exit_code, loaded.stderr) == (0, "")
    assert loaded.stdout.endswith(": intact\n")
