"""`lifecycle init` and `lifecycle record`: exact messages and exit codes."""

from __future__ import annotations

from pathlib import Path

from cli_support import Run, event_id, status


def test_init_publishes_the_definitions_once(run: Run, store_url: str,
                                             definitions_yaml: str) -> None:
    Path("definitions.yaml").write_text(definitions_yaml, encoding="utf-8")
    first = run("--db", store_url, "init", "--definitions", "definitions.yaml")
    assert (first.exit_code, first.stderr) == (0, "")
    assert first.stdout == f"Definitions b2b-2024 published in {store_url}\n"
    again = run("--db", store_url, "init", "--definitions", "b2b-2024")
    assert (again.exit_code, again.stderr) == (0, "")
    assert again.stdout == f"Definitions b2b-2024 already published in {store_url}\n"


def test_init_with_other_content_under_the_same_label_fails(run: Run, sqlite_db: str,
                                                           definitions_yaml: str) -> None:
    Path("changed.yaml").write_text(
        definitions_yaml.replace("stamp_skipped: true", "stamp_skipped: false"), "utf-8")
    result = run("--db", sqlite_db, "init", "--definitions", "changed.yaml")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: definitions version 'b2b-2024' is already published with other content; "
        "give the new definitions a new version label\n")


def test_init_with_bad_definitions_names_file_and_key(run: Run, sqlite_url: str,
                                                      definitions_yaml: str) -> None:
    Path("bad.yaml").write_text(definitions_yaml.replace("account_rollup:", "acount_rollup:"),
                                "utf-8")
    result = run("--db", sqlite_url, "init", "--definitions", "bad.yaml")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "Error: bad.yaml: acount_rollup: unknown key\n"

    Path("rank.yaml").write_text(definitions_yaml.replace(
        "kind: off_path, rank: 2}", "kind: off_path, rank: 9}"), "utf-8")
    result = run("--db", sqlite_url, "init", "--definitions", "rank.yaml")
    assert result.exit_code == 1
    assert result.stderr == ("Error: rank.yaml: stages: off_path stage 'nurture' has rank 9, "
                             "which no path stage has\n")

    Path("yaml.yaml").write_text("version: [unclosed\n", "utf-8")
    result = run("--db", sqlite_url, "init", "--definitions", "yaml.yaml")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: yaml.yaml: not valid YAML at line ")
    assert "Traceback" not in result.stderr


def test_init_with_a_missing_file(run: Run, sqlite_url: str) -> None:
    result = run("--db", sqlite_url, "init", "--definitions", "nowhere.yaml")
    assert result.exit_code == 1
    assert result.stderr == "Error: nowhere.yaml: No such file or directory\n"


def test_commands_before_init_say_what_to_do(run: Run, sqlite_url: str) -> None:
    result = run("--db", sqlite_url, "report", "stages", "--as-of", "2024-01-01")
    assert result.exit_code == 1
    assert result.stderr == ("Error: this ledger has no definitions yet: run "
                             "`lifecycle init --definitions FILE`\n")


def test_record_one_fact(run: Run, db: str) -> None:
    fact = status("p1", "marketingqualifiedlead", "2024-01-22T08:00:03Z", source="hubspot",
                  source_id="h-1", actor="28604240")
    args = ["--db", db, "record", "status_changed", "--person", "p1", "--value",
            "marketingqualifiedlead", "--at", "2024-01-22T09:00:03+01:00", "--source",
            "hubspot", "--source-id", "h-1", "--actor", "28604240"]
    result = run(*args)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"Recorded status_changed {event_id(fact)}\n"
    again = run(*args)
    assert again.exit_code == 0
    assert again.stdout == f"Already recorded: {event_id(fact)}\n"
    moves = run("--db", db, "report", "moves", "--format", "csv")
    assert moves.stdout == (
        "subject_type,subject_id,occurred_at,from_stage,to_stage,direction,event_id\n"
        f"person,p1,2024-01-22T08:00:03Z,,mql,entry,{event_id(fact)}\n")


def test_record_other_types(run: Run, sqlite_db: str) -> None:
    link = run("--db", sqlite_db, "record", "person_linked", "--person", "p1", "--account",
               "acme", "--at", "2024-01-08T15:02:11Z")
    fact = {"type": "person_linked", "person_id": "p1", "account_id": "acme",
            "occurred_at": "2024-01-08T15:02:11Z"}
    assert (link.exit_code, link.stdout) == (0, f"Recorded person_linked {event_id(fact)}\n")
    flag = run("--db", sqlite_db, "record", "renewal_flagged", "--account", "acme", "--flag",
               "at_risk", "--state", "raised", "--at", "2024-02-01T00:00:00Z")
    assert flag.exit_code == 0
    assert flag.stdout.startswith("Recorded renewal_flagged ")


def test_record_a_naive_timestamp_names_the_field(run: Run, sqlite_db: str) -> None:
    result = run("--db", sqlite_db, "record", "status_changed", "--person", "p1", "--value",
                 "lead", "--at", "2024-01-22T08:00:03")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == ("Error: occurred_at: timestamp 2024-01-22T08:00:03 has no offset "
                             "(add Z or +HH:MM, or pass --assume-tz)\n")
    zoned = run("--db", sqlite_db, "record", "status_changed", "--person", "p1", "--value",
                "lead", "--at", "2024-01-22T08:00:03", "--assume-tz", "Europe/Berlin")
    assert zoned.exit_code == 0
    fact = status("p1", "lead", "2024-01-22T07:00:03Z")
    assert zoned.stdout == f"Recorded status_changed {event_id(fact)}\n"


def test_record_bad_input_names_the_field(run: Run, sqlite_db: str) -> None:
    no_subject = run("--db", sqlite_db, "record", "disqualified", "--at",
                     "2024-01-22T08:00:03Z")
    assert no_subject.exit_code == 1
    assert no_subject.stderr == (
        "Error: person_id: exactly one of person_id, account_id or opportunity_id must name "
        "the subject\n")
    bad_fit = run("--db", sqlite_db, "record", "hand_raised", "--person", "p1", "--kind",
                  "demo_request", "--fit", "huge", "--at", "2024-01-22T08:00:03Z")
    assert bad_fit.exit_code == 1
    assert bad_fit.stderr.startswith("Error: fit: ")
    wrong_kind = run("--db", sqlite_db, "record", "hand_raised", "--account", "acme",
                     "--kind", "demo_request", "--at", "2024-01-22T08:00:03Z")
    assert wrong_kind.exit_code == 1
    assert wrong_kind.stderr == (
        "Error: account_id: a hand_raised fact is about a person, not an account\n")
