"""`--read-only` (and LIFECYCLE_READ_ONLY=1) refuses to write, on both stores.

Every writing command is refused with `Error:` and exit status 1 before it touches the
store, which is then exactly as it was (every table's rows compared); the commands that
read still work. Below the commands, the store itself is opened so that nothing can
write: a write sent straight to its connections fails (SQLite `mode=ro` and
`query_only`, PostgreSQL `default_transaction_read_only`).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from lifecycle.application.ledger import Ledger
from lifecycle.domain.facts import parse_fact
from lifecycle.store.base import IndexRow
from lifecycle.store.failures import ReadOnlyStore

from .conftest import load
from .harness import alt_definitions_yaml
from .stores import sqlite_file, state
from .strategies import invoke

FACT = {"type": "status_changed", "person_id": "ro-1", "value": "lead",
        "occurred_at": "2024-01-01T00:00:00Z"}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def loaded_store(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """One loaded store per backend for the module: every test here leaves it as it was
    (and checks so), so it is loaded once."""
    folder = tmp_path_factory.mktemp("read-only")
    url = (f"sqlite:///{folder / 'ledger.db'}" if request.param == "sqlite"
           else request.getfixturevalue("module_pg_url"))
    load(url, folder)
    (folder / "more.jsonl").write_text(json.dumps(FACT) + "\n", "utf-8")
    (folder / "alt.yaml").write_text(alt_definitions_yaml(), "utf-8")
    return url, folder


@pytest.fixture
def loaded(loaded_store: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> str:
    url, folder = loaded_store
    monkeypatch.chdir(folder)
    return url


def _a_stored_fact(url: str) -> str:
    with Ledger(url, read_only=True) as ledger:
        _, facts = next(iter(ledger.iter_subjects()))
        return str(facts[0].event_id)


WRITERS = {
    "init": ["init", "--definitions", "b2b-2024"],
    "init other": ["init", "--definitions", "alt.yaml"],
    "record": ["record", "status_changed", "--person", "ro-2", "--value", "lead",
               "--at", "2024-01-01T00:00:00Z"],
    "retract": ["retract", "{fact}"],
    "import": ["import", "more.jsonl"],
    "import strict": ["import", "more.jsonl", "--strict"],
    "import stdin": ["import", "-", "--format", "jsonl"],
    "backfill": ["backfill", "alt.yaml"],
    "rebuild": ["rebuild"],
    "project": ["project"],
    "project partition": ["project", "--partition", "0/2"],
    "project inline": ["project", "--inline"],
    "project follow": ["project", "--follow", "--max-seconds", "0"],
    "sync hubspot": ["sync", "hubspot"],
    "sync salesforce": ["sync", "salesforce"],
}


@pytest.mark.parametrize(("command", "how"), [
    *((command, "option") for command in sorted(WRITERS)),
    *((command, "environment") for command in ("import", "init", "record", "rebuild"))])
def test_every_writing_command_is_refused(loaded: str, command: str, how: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    args = [a.replace("{fact}", _a_stored_fact(loaded)) for a in WRITERS[command]]
    before = state(loaded)
    if how == "option":
        flags = ["--read-only"]
    else:
        flags = []
        monkeypatch.setenv("LIFECYCLE_READ_ONLY", "1")
    result = invoke(["--db", loaded, *flags, *args], input=json.dumps(FACT) + "\n")
    assert result.exit_code == 1, result.output
    name = args[0]
    assert result.stderr == (
        f"Error: `lifecycle {name}` writes, and {loaded} is open read-only (--read-only or "
        "LIFECYCLE_READ_ONLY): nothing was done. Run it without them, against a writable "
        "store\n")
    assert result.stdout == ""
    assert state(loaded) == before


READERS = [
    ["report", "stages", "--as-of", "2024-06-01"],
    ["report", "stages", "--as-of", "2024-06-01", "--known-at", "now"],
    ["report", "stamps", "--format", "csv"],
    ["report", "moves", "--format", "json"],
    ["report", "funnel"],
    ["report", "timeline", "--format", "csv"],
    ["audit", "person", "10001"],
    ["definitions", "show"],
    ["definitions", "log"],
    ["backfill", "alt.yaml", "--dry-run"],
    ["verify"],
]


def test_reading_commands_work_and_write_nothing(loaded: str) -> None:
    before = state(loaded)
    for args in READERS:
        writable = invoke(["--db", loaded, *args])
        read_only = invoke(["--db", loaded, "--read-only", *args])
        assert read_only.exit_code == 0, (args, read_only.output)
        assert read_only.exit_code == writable.exit_code, args
        if "now" not in args and "--dry-run" not in args and args[0] != "verify":
            assert read_only.stdout == writable.stdout, args
    assert state(loaded) == before


def test_the_store_itself_refuses_writes(loaded: str) -> None:
    """Below the commands' refusal: each connection a read-only ledger makes is read-only."""
    before = state(loaded)
    with Ledger(loaded, read_only=True) as ledger:
        row = IndexRow(uuid.uuid4(), "x", "person", "forged", "status_changed")
        refused = pytest.raises(Exception, match="(?i)read-?only")
        with refused, ledger.log.recorder.append_transaction() as tx:
            tx.insert([row], [])
        for statement in ("DELETE FROM lc_current", "CREATE TABLE lc_forged (x integer)"):
            with pytest.raises(Exception, match="(?i)read-?only"), \
                    ledger.engine.begin() as conn:
                conn.execute(text(statement))
    assert state(loaded) == before


def test_the_ledger_refuses_every_write_before_touching_the_store(loaded: str) -> None:
    from lifecycle.domain.definitions import load_definitions

    before = state(loaded)
    fact = parse_fact(FACT)
    with Ledger(loaded, read_only=True) as ledger:
        for write in (lambda: ledger.record(fact), lambda: ledger.append([]),
                      lambda: ledger.append_all([]), ledger.rebuild,
                      lambda: ledger.project(None), ledger.stop_workers,
                      lambda: ledger.publish(load_definitions(alt_definitions_yaml()))):
            with pytest.raises(ReadOnlyStore):
                write()
        assert ledger.catch_up() == 0  # reports read the views as they stand
    assert state(loaded) == before


def test_a_missing_sqlite_store_is_not_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nowhere.db'}"
    result = invoke(["--db", url, "--read-only", "report", "stamps"])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: no store at {url}: --read-only opens an existing store "
                             "and never creates one\n")
    assert list(tmp_path.iterdir()) == []


def test_a_sqlite_store_that_is_not_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    before = path.read_bytes()
    result = invoke(["--db", f"sqlite:///{path}", "--read-only", "report", "stamps"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: sqlite:///{path} lacks a table the ledger needs")
    assert path.read_bytes() == before  # not even switched to WAL


def test_read_only_sqlite_opens_with_mode_ro(sqlite_url: str, tmp_path: Path) -> None:
    load(sqlite_url, tmp_path, lines=[])
    with Ledger(sqlite_url, read_only=True) as ledger, ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA query_only").scalar() == 1
    assert sqlite_file(sqlite_url).is_file()
