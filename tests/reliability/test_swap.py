"""Rebuilds swap shadow tables in atomically, and a build killed half-way leaves nothing
behind once the next build runs; SQLite's durability settings are what docs/reliability.md
says.

A kill cannot be aimed at one SQL statement from outside, so these tests fail the swap
from inside (an exception raised as the third table is renamed): the transaction is rolled
back exactly as it would be by a process dying, and the live views must be untouched.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, inspect

from lifecycle.application.ledger import Ledger
from projections import rebuild, tables
from projections.queries.stages import table_rows

from .conftest import load


def _views(ledger: Ledger) -> dict:
    with ledger.engine.connect() as conn:
        return table_rows(conn)


def _shadows(ledger: Ledger) -> list[str]:
    with ledger.engine.connect() as conn:
        return [n for n in inspect(conn).get_table_names() if n.startswith("lc_next_")]


class Boom(Exception):
    pass


def test_a_swap_that_fails_half_way_leaves_the_live_views_whole(store_url: str,
                                                               tmp_path: Path) -> None:
    with Ledger(load(store_url, tmp_path)) as ledger:
        before = _views(ledger)
        renames = []

        def fail_third_rename(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            if "RENAME TO" in statement:
                renames.append(statement)
                if len(renames) == 3:
                    raise Boom("the process dies here")

        event.listen(ledger.engine, "before_cursor_execute", fail_third_rename)
        try:
            with pytest.raises(Boom):
                ledger.rebuild()
        finally:
            event.remove(ledger.engine, "before_cursor_execute", fail_third_rename)
        with ledger.engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
        assert {t.name for t in tables.VIEW_TABLES} <= names, "a live table went missing"
        assert _views(ledger) == before, "part of the swap was committed"
        assert _shadows(ledger) == []


def test_shadow_tables_of_a_killed_build_are_dropped_by_the_next(store_url: str,
                                                                 tmp_path: Path) -> None:
    with Ledger(load(store_url, tmp_path)) as ledger:
        for shadow in tables.shadow_tables("dead0001").values():  # what a kill leaves
            shadow.create(ledger.engine)
        assert len(_shadows(ledger)) == len(tables.VIEW_TABLES)
        ledger.rebuild()
        assert _shadows(ledger) == []


def test_a_failed_build_drops_its_shadow_tables_at_once(store_url: str,
                                                      tmp_path: Path) -> None:
    """A build that fails (here: its indexes cannot be made) drops what it made before
    the error reaches the user, without waiting for the next build."""
    with Ledger(load(store_url, tmp_path)) as ledger:
        before = _views(ledger)
        real = rebuild._create_indexes

        def fail(conn, table):  # type: ignore[no-untyped-def]
            raise Boom("the disk filled up")

        rebuild._create_indexes = fail
        try:
            with pytest.raises(Boom):
                ledger.rebuild()
        finally:
            rebuild._create_indexes = real
        assert _shadows(ledger) == []
        assert _views(ledger) == before


def test_shadow_tables_that_could_not_be_dropped_go_at_the_next_open(
        store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When even dropping fails (a full disk refuses that write too), the build's own error
    is the one raised, and the next command that opens the store drops the leftovers,
    unless a build is running."""
    url = load(store_url, tmp_path)
    with Ledger(url) as ledger:
        monkeypatch.setattr(rebuild, "_create_indexes", lambda *_: (_ for _ in ()).throw(
            Boom("the disk filled up")))
        real_drop = rebuild.drop_shadows

        def drop(engine, token=None):  # type: ignore[no-untyped-def]
            if token is not None:  # the failed build's own clean-up
                raise OSError("no space left to drop them either")
            real_drop(engine, token)

        monkeypatch.setattr(rebuild, "drop_shadows", drop)
        with pytest.raises(Boom):
            ledger.rebuild()
        assert len(_shadows(ledger)) == len(tables.VIEW_TABLES)
        monkeypatch.undo()
        # While a build is running (it holds the lock), they are left alone.
        with rebuild.build_lock(ledger.engine), Ledger(url) as other:
            assert len(_shadows(other)) == len(tables.VIEW_TABLES)
    with Ledger(url) as ledger:
        assert _shadows(ledger) == []


def test_builds_hold_a_lock_that_a_second_build_waits_for(sqlite_url: str,
                                                          tmp_path: Path) -> None:
    """While one build holds the lock, another process's `lifecycle rebuild` waits; it
    finishes once the lock is released (a killed holder releases it too)."""
    import subprocess
    import sys
    import time

    from .harness import ROOT

    with Ledger(load(sqlite_url, tmp_path)) as ledger:
        with rebuild.build_lock(ledger.engine):
            other = subprocess.Popen(
                [sys.executable, "-c", "from cli import main; main()", "--db", sqlite_url,
                 "rebuild"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True)
            time.sleep(3)
            assert other.poll() is None, "the second build did not wait"
        out, err = other.communicate(timeout=120)
        assert other.returncode == 0, err
        assert "rebuilt" in out


def test_sqlite_durability_settings(sqlite_url: str, tmp_path: Path) -> None:
    """WAL journal and synchronous=FULL on both connections the ledger writes through."""
    from lifecycle.store import settings

    assert settings.SQLITE_SYNCHRONOUS == "FULL"
    with Ledger(load(sqlite_url, tmp_path)) as ledger:
        with ledger.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        with ledger.log.recorder.append_transaction() as tx:
            cursor = tx.c  # type: ignore[attr-defined]
            assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 2
            assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"



def _shape(ledger: Ledger) -> dict[str, tuple]:
    """Each view table's primary key and indexes as the store has them, by columns (a
    rebuild's indexes carry its token in their names)."""
    with ledger.engine.connect() as conn:
        inspector = inspect(conn)
        return {t.name: (tuple(inspector.get_pk_constraint(t.name)["constrained_columns"]),
                         sorted((tuple(i["column_names"]), bool(i["unique"]))
                                for i in inspector.get_indexes(t.name)))
                for t in tables.VIEW_TABLES}


def _declared() -> dict[str, tuple]:
    """The same, as projections/tables.py declares them."""
    return {t.name: (tuple(c.name for c in t.primary_key.columns),
                     sorted((tuple(c.name for c in i.columns), bool(i.unique))
                            for i in t.indexes))
            for t in tables.VIEW_TABLES}


def test_a_rebuilt_view_has_every_declared_key_and_index(store_url: str,
                                                          tmp_path: Path) -> None:
    """A rebuild loads its shadow tables bare and adds keys and indexes after the rows:
    none may be missing after the swap, or reports would scan and duplicates pass."""
    with Ledger(load(store_url, tmp_path)) as ledger:
        rows = _views(ledger)
        ledger.rebuild()
        assert _shape(ledger) == _declared()
        assert _views(ledger) == rows
