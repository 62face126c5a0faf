"""A write says exactly what it did: never an error when the fact was stored, never a
success when it was not, and what was stored when it failed part-way.

Failures are made at the driver boundary, on both stores: the database's own "disk full"
error (SQLite's `database or disk is full`, PostgreSQL's `DiskFull`) raised when the
event store inserts a batch, or when the read models are written after it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from .conftest import load
from .stores import events, shadow_tables, state
from .strategies import invoke

RECORD = ["record", "status_changed", "--person", "w-1", "--value", "lead",
          "--at", "2024-01-01T00:00:00Z"]


def disk_full(url: str) -> Exception:
    """The error the store's own driver raises when its disk is full."""
    if url.startswith("sqlite"):
        return sqlite3.OperationalError("database or disk is full")
    import psycopg.errors

    return psycopg.errors.DiskFull('could not extend file "base/1/2": No space left on device')


def full(url: str) -> str:
    if url.startswith("sqlite"):
        return (f"the disk holding {url} is full. Free some space (or move the store to a "
                "larger disk) and run the command again (database or disk is full)")
    return (f"the disk holding {url} is full. Free some space (or move the store to a larger "
            'disk) and run the command again (could not extend file "base/1/2": No space '
            "left on device)")


def fail_views(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Every write to the read models fails as on a full disk (the log's writes work)."""
    from lifecycle.application import ledger as ledger_module

    real = ledger_module.read_models_engine

    def engine(url_: str, read_only: bool) -> Any:
        built = real(url_, read_only)

        @event.listens_for(built, "before_cursor_execute")
        def refuse(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
                raise disk_full(url)

        return built

    monkeypatch.setattr(ledger_module, "read_models_engine", engine)


def fail_log(monkeypatch: pytest.MonkeyPatch, url: str, after: int = 0) -> None:
    """The event store's inserts fail as on a full disk, after `after` that succeed."""
    from lifecycle.store import postgres, sqlite

    appender = sqlite._SQLiteAppend if url.startswith("sqlite") else postgres._PostgresAppend
    real = appender.insert
    calls = []

    def insert(self: Any, rows: Any, stored: Any) -> None:
        calls.append(1)
        real(self, rows, stored)  # the rows are sent, then the disk fills: nothing commits
        if len(calls) > after:
            raise disk_full(url)

    monkeypatch.setattr(appender, "insert", insert)


@pytest.fixture
def store(store_url: str, tmp_path: Path) -> str:
    return load(store_url, tmp_path, lines=[])


def test_a_recorded_fact_is_never_reported_as_an_error(store: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    before = events(store)
    with monkeypatch.context() as patch:
        fail_views(patch, store)
        result = invoke(["--db", store, *RECORD])
    assert result.exit_code == 4, result.output
    assert result.stdout.startswith("Recorded status_changed ")
    assert result.stderr == (f"Warning: stored, but the projections are behind the log: "
                             f"{full(store)}. The next report or `lifecycle project` brings "
                             "them up to date once that is fixed.\n")
    assert events(store) == before + 1
    again = invoke(["--db", store, *RECORD])
    assert again.stdout.startswith("Already recorded: ")  # the same fact, stored once
    stages = json.loads(invoke(["--db", store, "report", "stages", "--as-of", "2024-02-01",
                                "--format", "json"]).stdout)
    assert stages["total"] == 1  # the report caught up
    assert invoke(["--db", store, "verify"]).exit_code == 0


def test_retract_init_and_import_say_what_they_stored(store: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke(["--db", store, *RECORD]).exit_code == 0
    audit = json.loads(invoke(["--db", store, "audit", "person", "w-1", "--format",
                               "json"]).stdout)
    target = audit["facts"][0]["event_id"]
    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps({"type": "status_changed", "person_id": f"w-{i}",
                                        "value": "lead", "occurred_at": "2024-01-02T00:00:00Z"})
                            + "\n" for i in (2, 3)), "utf-8")
    with monkeypatch.context() as patch:
        fail_views(patch, store)
        retracted = invoke(["--db", store, "retract", target])
        imported = invoke(["--db", store, "import", str(path)])
    assert retracted.exit_code == 4 and retracted.stdout.startswith(f"Retracted {target} ")
    assert imported.exit_code == 4
    assert imported.stdout == "two.jsonl: read 2, stored 2, duplicate 0, rejected 0\n"
    assert imported.stderr.startswith("Warning: stored, but the projections are behind")
    assert events(store) == 5  # definitions, the fact, its retraction, two more
    assert invoke(["--db", store, "verify"]).exit_code == 0


def test_init_says_it_published(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        fail_views(patch, store_url)
        result = invoke(["--db", store_url, "init", "--definitions", "b2b-2024"])
    assert result.exit_code == 4, result.output
    assert result.stdout == f"Definitions b2b-2024 published in {store_url}\n"
    assert events(store_url) == 1
    assert shadow_tables(store_url) == []  # the failed replay dropped what it had made
    assert invoke(["--db", store_url, "verify"]).exit_code == 0


def test_a_write_that_reports_failure_stored_nothing(store: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = state(store)
    with monkeypatch.context() as patch:
        fail_log(patch, store)
        result = invoke(["--db", store, *RECORD])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"Error: {full(store)}\n"
    assert state(store) == before


def test_an_import_that_fails_part_way_says_what_it_stored(
        store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps({"type": "status_changed", "person_id": f"m{i}",
                                        "value": "lead", "occurred_at": "2024-01-01T00:00:00Z"})
                            + "\n" for i in range(6_000)), "utf-8")
    with monkeypatch.context() as patch:
        fail_log(patch, store, after=1)
        result = invoke(["--db", store, "import", str(path)])
    assert result.exit_code == 1
    assert result.stdout == "many.jsonl: read 6000, stored 5000, duplicate 0, rejected 0\n"
    assert result.stderr == (
        f"Error: {full(store)}. 5000 fact(s) of many.jsonl were stored before the failure "
        "(whole batches; the failing one was rolled back): run the same import again to "
        "store the rest, what is stored counts as duplicate\n")
    assert events(store) == 1 + 5_000
    again = invoke(["--db", store, "import", str(path)])
    assert again.stdout == "many.jsonl: read 6000, stored 1000, duplicate 5000, rejected 0\n"
    assert invoke(["--db", store, "verify"]).exit_code == 0


def test_a_strict_import_that_fails_stored_nothing(store: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps({"type": "status_changed", "person_id": f"s{i}",
                                        "value": "lead", "occurred_at": "2024-01-01T00:00:00Z"})
                            + "\n" for i in range(6_000)), "utf-8")
    before = state(store)
    with monkeypatch.context() as patch:
        fail_log(patch, store, after=1)
        result = invoke(["--db", store, "import", str(path), "--strict"])
    assert (result.exit_code, result.stderr) == (1, f"Error: {full(store)}\n")
    assert state(store) == before
