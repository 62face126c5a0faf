"""Every storage error is an `Error:` naming the store and what to do, and leaves the store
as it was: a full disk, a read-only file or folder, a garbage or truncated `.db`, a lock
held beyond the timeout, a PostgreSQL server that refuses writes.

A full disk is real SQLite behaviour: the connections are capped at the pages they have
(`PRAGMA max_page_count`, set where the ledger sets its pragmas), so a write that needs one
more page fails with SQLITE_FULL exactly as on a full disk; where the machine allows it, a
real full tmpfs is used as well. Read-only files and folders are real too: permissions for
a normal user, a read-only bind mount for root (whom permissions do not stop).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from lifecycle.store import settings
from lifecycle.store.failures import explain

from .conftest import load
from .stores import events, sqlite_file, state
from .strategies import invoke

FULL = "Error: the disk holding {url} is full. Free some space (or move the store to a " \
       "larger disk) and run the command again (database or disk is full)\n"


def facts_file(path: Path, count: int, prefix: str = "f") -> Path:
    path.write_text("".join(json.dumps({
        "type": "status_changed", "person_id": f"{prefix}{i}", "value": "lead",
        "occurred_at": "2024-01-01T00:00:00Z"}) + "\n" for i in range(count)), "utf-8")
    return path


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    cap_pages(monkeypatch)


def cap_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every connection the ledger writes through may use the pages the file has now,
    and none more (SQLite then fails a growing write with SQLITE_FULL)."""
    from lifecycle.application import engines as engines_module
    from lifecycle.store import sqlite as store_sqlite

    real = settings.sqlite_pragmas

    def capped(cursor: sqlite3.Cursor, read_only: bool = False) -> None:
        real(cursor, read_only)
        cursor.execute("PRAGMA max_page_count = 1")  # raised to the current size

    monkeypatch.setattr(store_sqlite, "sqlite_pragmas", capped)
    monkeypatch.setattr(engines_module, "sqlite_pragmas", capped)


@pytest.mark.parametrize("command", [
    ["import", "many.jsonl"], ["import", "many.jsonl", "--strict"], ["rebuild"]])
def test_a_full_disk_is_an_error_and_changes_nothing(sqlite_url: str, tmp_path: Path,
                                                     command: list[str],
                                                     request: pytest.FixtureRequest) -> None:
    load(sqlite_url, tmp_path)
    facts_file(tmp_path / "many.jsonl", 6_000)
    before = state(sqlite_url)
    request.getfixturevalue("full_disk")
    result = invoke(["--db", sqlite_url, *command])
    assert (result.exit_code, result.stderr) == (1, FULL.format(url=sqlite_url))
    assert state(sqlite_url) == before
    assert not any(t.startswith("lc_next_") for t in _tables(sqlite_url))


def test_a_backfill_on_a_full_disk_says_what_it_published(
        sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new definitions fit in the pages there are; the rebuild under them does not. The
    publish is not undone (facts and definitions are never deleted): exit status 4 says so,
    and once there is room the next report rebuilds under them."""
    from .harness import ALT_VERSION, alt_definitions_yaml

    load(sqlite_url, tmp_path)
    (tmp_path / "alt.yaml").write_text(alt_definitions_yaml(), "utf-8")
    with monkeypatch.context() as patch:
        cap_pages(patch)
        result = invoke(["--db", sqlite_url, "backfill", "alt.yaml"])
    if result.exit_code == 1:  # the definitions did not fit either: nothing was stored
        assert result.stderr == FULL.format(url=sqlite_url)
        return
    assert result.exit_code == 4, result.output
    assert result.stdout.startswith(f"Definitions {ALT_VERSION} published; the projections "
                                    "are not rebuilt under them yet.\n")
    assert result.stderr.startswith("Warning: stored, but the projections are behind the log: "
                                    f"{FULL.format(url=sqlite_url)[7:-1]}. The next report")
    assert not any(t.startswith("lc_next_") for t in _tables(sqlite_url))
    stages = invoke(["--db", sqlite_url, "report", "stamps", "--format", "json"])
    assert stages.exit_code == 0
    assert invoke(["--db", sqlite_url, "verify"]).exit_code == 0


def _tables(url: str) -> list[str]:
    with closing(sqlite3.connect(sqlite_file(url))) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]


@contextmanager
def tiny_disk(folder: Path, kilobytes: int) -> Iterator[bool]:
    """A tmpfs of `kilobytes` mounted on `folder` when the machine allows (root with
    CAP_SYS_ADMIN); yields whether it is mounted."""
    folder.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={kilobytes}k", "tmpfs", str(folder)],
        capture_output=True, check=False).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:  # lazily: a connection the runner left to the collector may be open
            subprocess.run(["umount", "--lazy", str(folder)], check=True)


def test_a_really_full_disk(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The same on a real, small file system when one can be mounted (else on the page
    cap): the import fails whole, the store is intact and takes the facts later."""
    with tiny_disk(tmp_path / "disk", 900) as mounted:
        url = f"sqlite:///{tmp_path / 'disk' / 'ledger.db'}"
        load(url, tmp_path, lines=[])
        facts_file(tmp_path / "many.jsonl", 6_000)
        if not mounted:
            request.getfixturevalue("full_disk")
        before = state(url)
        result = invoke(["--db", url, "import", str(tmp_path / "many.jsonl")])
        assert (result.exit_code, result.stderr) == (1, FULL.format(url=url))
        assert state(url) == before
        assert invoke(["--db", url, "verify"]).exit_code == 0
        small = facts_file(tmp_path / "few.jsonl", 3)
        if mounted:  # room is made (the disk grows): the store takes facts again
            subprocess.run(["mount", "-o", "remount,size=8m", str(tmp_path / "disk")],
                           check=True)
            assert invoke(["--db", url, "import", str(small)]).exit_code == 0
            assert events(url) == 4


# ---- garbage, truncated -------------------------------------------------------------------

def _truncated(url: str, tmp_path: Path) -> Path:
    load(url, tmp_path)
    data = sqlite_file(url).read_bytes()
    path = tmp_path / "truncated.db"
    path.write_bytes(data[:20_000])
    return path


@pytest.mark.parametrize("kind", ["garbage", "truncated", "text"])
@pytest.mark.parametrize("args", [
    ["record", "status_changed", "--person", "p", "--value", "lead", "--at", "2024-01-01"
     "T00:00:00Z"], ["import", "few.jsonl"], ["init", "--definitions", "b2b-2024"],
    ["report", "stamps"], ["report", "stages", "--as-of", "now"], ["verify"], ["rebuild"],
    ["--read-only", "report", "moves"], ["audit", "person", "p"]])
def test_a_damaged_file_is_an_error_and_stays_as_it_was(sqlite_url: str, tmp_path: Path,
                                                        kind: str, args: list[str]) -> None:
    facts_file(tmp_path / "few.jsonl", 3)
    if kind == "garbage":
        path = tmp_path / "garbage.db"
        path.write_bytes(os.urandom(64 * 1024))
    elif kind == "text":
        path = tmp_path / "notes.db"
        path.write_text("these are my notes, not a database\n" * 100, "utf-8")
    else:
        path = _truncated(sqlite_url, tmp_path)
    before = path.read_bytes()
    url = f"sqlite:///{path}"
    result = invoke(["--db", url, *args])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(
        f"Error: {url} is not a readable SQLite database: the file is damaged, truncated or "
        "not a ledger. Nothing was changed. Restore it from a backup, or point --db at the "
        "right file ("), result.stderr
    assert path.read_bytes() == before


# ---- read-only files and folders ------------------------------------------------------------

@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` (a file or a folder) that cannot be written: by its mode for a normal user,
    by a read-only bind mount for root."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


WRITES = [["record", "status_changed", "--person", "p", "--value", "lead", "--at",
           "2024-01-01T00:00:00Z"], ["import", "{few}"], ["rebuild"]]


@pytest.mark.parametrize("args", WRITES)
def test_a_read_only_store_file(sqlite_url: str, tmp_path: Path, args: list[str]) -> None:
    load(sqlite_url, tmp_path)
    few = facts_file(tmp_path / "few.jsonl", 3)
    path = sqlite_file(sqlite_url)
    before = state(sqlite_url)
    with read_only(path):
        result = invoke(["--db", sqlite_url, *(a.format(few=few) for a in args)])
        assert result.exit_code == 1, result.output
        assert result.stderr == (
            f"Error: {sqlite_url} cannot be written: its file, its folder or the server is "
            "read-only (or the store was opened with --read-only). Make them writable by the "
            "user running lifecycle, or point --db at a writable store (attempt to write a "
            "readonly database)\n")
        stamps = invoke(["--db", sqlite_url, "report", "stamps", "--format", "csv"])
        assert stamps.exit_code == 0 and stamps.stdout.count("\n") > 10  # reads still work
    assert state(sqlite_url) == before


@pytest.mark.parametrize("args", [*WRITES, ["report", "stamps"], ["verify"]])
def test_a_read_only_store_folder(tmp_path: Path, args: list[str]) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    url = f"sqlite:///{folder / 'ledger.db'}"
    load(url, tmp_path)
    few = facts_file(tmp_path / "few.jsonl", 3)
    before = state(url)
    with read_only(folder):
        result = invoke(["--db", url, *(a.format(few=few) for a in args)])
        opened = f"Error: {url} cannot be opened: check that its folder exists"
        if args in WRITES:
            assert result.exit_code == 1, result.output
            assert result.stderr.startswith((opened, f"Error: {url} cannot be written")), \
                result.stderr
        else:  # SQLite reads a WAL store in a read-only folder if its -shm file is there
            assert result.exit_code == 0 or result.stderr.startswith(opened), result.output
    assert state(url) == before


# ---- locks ----------------------------------------------------------------------------------

def test_a_lock_held_beyond_the_timeout(store_url: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    load(store_url, tmp_path, lines=[])
    monkeypatch.setattr(settings, "LOCK_TIMEOUT", 1)
    before = events(store_url)
    with _write_lock(store_url):
        result = invoke(["--db", store_url, "record", "status_changed", "--person", "p",
                         "--value", "lead", "--at", "2024-01-01T00:00:00Z"])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(
        f"Error: {store_url} is locked by another process and stayed locked beyond the "
        "timeout (1 s). Nothing was changed. Run the command again once the other writer")
    assert events(store_url) == before


@contextmanager
def _write_lock(url: str) -> Iterator[None]:
    """Another process's write transaction, holding the lock the ledger's writers take."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sqlite_file(url), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.rollback()
            conn.close()
        return
    import psycopg

    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                         dbname=parsed.database) as conn:
        conn.execute("LOCK TABLE lifecycle_events IN EXCLUSIVE MODE")
        yield
        conn.rollback()


# ---- a PostgreSQL server that refuses writes ----------------------------------------------

def test_a_read_only_postgresql_server(pg_url: str, tmp_path: Path) -> None:
    """A hot standby or a database set read-only: writes are an Error, reads work."""
    import psycopg

    load(pg_url, tmp_path)
    parsed = make_url(pg_url)
    admin = dict(host=parsed.host, port=parsed.port, user=parsed.username, autocommit=True)
    with psycopg.connect(dbname="postgres", **admin) as conn:
        conn.execute(f'ALTER DATABASE "{parsed.database}" SET default_transaction_read_only '
                     "= on")
    try:
        before = state(pg_url)
        result = invoke(["--db", pg_url, "record", "status_changed", "--person", "p",
                         "--value", "lead", "--at", "2024-01-01T00:00:00Z"])
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(f"Error: {pg_url} cannot be written: its file, its "
                                         "folder or the server is read-only")
        assert invoke(["--db", pg_url, "report", "stamps"]).exit_code == 0
        assert state(pg_url) == before
    finally:
        with psycopg.connect(dbname="postgres", **admin) as conn:
            conn.execute(f'ALTER DATABASE "{parsed.database}" RESET '
                         "default_transaction_read_only")


# ---- what each PostgreSQL failure is called -------------------------------------------------

@pytest.mark.parametrize(("error", "kind"), [
    ("DiskFull", "disk full"), ("ReadOnlySqlTransaction", "read-only"),
    ("LockNotAvailable", "locked"), ("UndefinedTable", "not a ledger"),
    ("AdminShutdown", "connection lost"), ("IoError", "i/o error")])
def test_postgresql_failures_are_told_apart(error: str, kind: str) -> None:
    import psycopg.errors

    url = "postgresql+psycopg://u:s3cret@db.example/ledger"
    failure = explain(getattr(psycopg.errors, error)("the server's words"), url)
    assert failure is not None and failure.kind == kind
    assert "s3cret" not in str(failure) and "postgresql+psycopg://u:***@db.example/ledger" \
        in str(failure)


def test_other_errors_are_not_storage_failures() -> None:
    assert explain(ValueError("database or disk is full"), "sqlite:///x.db") is None
    assert explain(KeyError("x"), "sqlite:///x.db") is None
