"""Usage errors, ids printed back verbatim, secrets kept out of messages, help texts."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from cli_support import Run, status, write_jsonl

from cli import main


@pytest.mark.parametrize("args", [
    ["nosuch"],
    ["report", "stages"],
    ["report", "stages", "--as-of", "soon"],
    ["report", "moves", "--format", "xml"],
    ["report", "moves", "--direction", "sideways"],
    ["report", "stamps", "--level", "team"],
    ["record", "teleported", "--person", "p1", "--at", "2024-01-01T00:00:00Z"],
    ["record", "status_changed", "--person", "p1"],
    ["import"],
    ["import", "facts.jsonl", "--format", "xml"],
    ["retract", "not-a-uuid"],
    ["audit", "team", "x"],
    ["audit", "person"],
    ["definitions", "validate"],
    ["--db"],
    ["init"],
], ids=lambda args: " ".join(args))
def test_usage_errors_exit_2(run: Run, sqlite_url: str, args: list[str]) -> None:
    result = run("--db", sqlite_url, *args) if args != ["--db"] else run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Error: " in result.stderr
    assert "Traceback" not in result.stderr


ODD_IDS = ["O'Brien \"Bob\"", "x'); DROP TABLE lifecycle_events; --", "Zoë 東京 🚀",
           "[bold]lead[/bold]", "a,b"]


def test_odd_ids_come_back_verbatim(run: Run, db: str) -> None:
    write_jsonl("odd.jsonl", *(status(pid, "lead", "2024-01-01T00:00:00Z") for pid in ODD_IDS),
                {"type": "person_linked", "person_id": ODD_IDS[0], "account_id": ODD_IDS[1],
                 "occurred_at": "2024-01-01T00:00:00Z"})
    imported = run("--db", db, "import", "odd.jsonl")
    assert imported.stdout == "odd.jsonl: read 6, stored 6, duplicate 0, rejected 0\n"
    recorded = run("--db", db, "record", "status_changed", "--person", ODD_IDS[1], "--value",
                   "customer", "--at", "2024-02-01T00:00:00Z")
    assert recorded.exit_code == 0

    moves = run("--db", db, "report", "moves", "--format", "csv", "--level", "person")
    lines = moves.stdout.splitlines()
    assert [line.split(",")[2:6] if not line.startswith('"') else None
            for line in lines[1:]][-2:] == [
        ["2024-01-01T00:00:00Z", "", "verified", "entry"],
        ["2024-02-01T00:00:00Z", "verified", "customer", "forward"]]
    assert [line.rsplit(",", 5)[0] for line in lines[1:]] == [
        'person,"O\'Brien ""Bob"""', "person,Zoë 東京 🚀", "person,[bold]lead[/bold]",
        'person,"a,b"', "person,x'); DROP TABLE lifecycle_events; --",
        "person,x'); DROP TABLE lifecycle_events; --"]
    rows = list(csv.DictReader(io.StringIO(moves.stdout)))
    assert sorted({r["subject_id"] for r in rows}) == sorted(ODD_IDS)

    as_json = json.loads(run("--db", db, "report", "stamps", "--format", "json").stdout)
    assert {r["subject_id"] for r in as_json if r["subject_type"] == "account"} == {ODD_IDS[1]}
    assert {r["subject_id"] for r in as_json if r["subject_type"] == "person"} == set(ODD_IDS)

    for pid in ODD_IDS:
        audit = run("--db", db, "audit", "person", pid, "--format", "json")
        assert audit.exit_code == 0, audit.stderr
        assert json.loads(audit.stdout)["subject_id"] == pid
        assert f'"subject_id": {json.dumps(pid, ensure_ascii=False)}' in audit.stdout
        table = run("--db", db, "audit", "person", pid)
        assert f"person {pid} · now in " in table.stdout
    table = run("--db", db, "report", "moves")
    for pid in ODD_IDS:
        assert pid in table.stdout
    assert run("--db", db, "verify").exit_code == 0


def test_a_password_in_the_db_url_is_never_printed(run: Run, pg_url: str) -> None:
    server, database = pg_url.split("@", 1)
    with_password = f"{server}:hunter2-secret@{database}"
    init = run("--db", with_password, "init", "--definitions", "b2b-2024")
    assert init.exit_code == 0
    assert init.stdout == f"Definitions b2b-2024 published in {server}:***@{database}\n"
    host = database.rsplit("/", 1)[0]
    missing = f"{server}:hunter2-secret@{host}/lifecycle_no_such_db"
    result = run("--db", missing, "report", "stages", "--as-of", "2024-01-01")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot connect to {server}:***@{host}/lifecycle_no_such_db: "
        'FATAL:  database "lifecycle_no_such_db" does not exist\n')
    for output in (init.stdout, init.stderr, result.stdout, result.stderr):
        assert "hunter2-secret" not in output


@pytest.mark.parametrize("url, message", [
    ("postgresql+psycopg://me:hunter2-secret@127.0.0.1:1/db",
     "Error: cannot connect to postgresql+psycopg://me:***@127.0.0.1:1/db: "
     "Connection refused\n"),
    ("mysql://me:hunter2-secret@localhost/db",
     "Error: unsupported database 'mysql' in 'mysql://me:***@localhost/db': use "
     "sqlite:///FILE or postgresql+psycopg://USER@HOST/DB\n"),
    ("hunter2-secret", "Error: not a database URL: '<unreadable URL>'\n"),
])
def test_bad_db_urls(run: Run, url: str, message: str) -> None:
    result = run("--db", url, "verify")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message)


def test_db_from_the_environment(run: Run, sqlite_url: str,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFECYCLE_DB", sqlite_url)
    result = run("init", "--definitions", "b2b-2024")
    assert result.stdout == f"Definitions b2b-2024 published in {sqlite_url}\n"


def test_default_db_is_in_the_working_directory(run: Run, tmp_path: Path) -> None:
    result = run("init", "--definitions", "b2b-2024")
    assert result.stdout == "Definitions b2b-2024 published in sqlite:///lifecycle.db\n"
    assert (tmp_path / "lifecycle.db").exists()


def _commands(group: click.Group, path: list[str]) -> list[list[str]]:
    found = [path]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _commands(command, [*path, name])
        else:
            found.append([*path, name])
    return found


@pytest.mark.parametrize("path", _commands(main, []), ids=lambda p: " ".join(p) or "lifecycle")
def test_every_command_has_an_example_in_its_help(run: Run, path: list[str]) -> None:
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert run(*path, "-h").stdout == result.stdout


def test_output_cut_short_by_the_reader_is_not_an_error(run: Run, sqlite_db: str) -> None:
    """`lifecycle report … | head` must not end with `Error: … Broken pipe`."""
    write_jsonl("many.jsonl", *(status(f"p{i}", "customer", "2024-01-01T00:00:00Z")
                                for i in range(800)))
    assert run("--db", sqlite_db, "import", "many.jsonl").exit_code == 0
    process = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "--db", sqlite_db, "report",
         "stamps", "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline() == b"[\n"
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Error" not in stderr and "Broken pipe" not in stderr, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
