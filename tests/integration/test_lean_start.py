"""What a command loads and how the store is set up for bulk work (issue 17).

Not timed: each test checks a fact that makes the speed possible (which modules a process
has imported, which pragmas a connection has, the order rows are written in), so it cannot
pass or fail with the machine's load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from lifecycle.application.importing import import_rows
from lifecycle.application.ledger import Ledger
from lifecycle.domain.definitions import load_definitions
from lifecycle.domain.starters import starter_text
from lifecycle.importers.canonical import read_jsonl
from lifecycle.store import settings

ROOT = Path(__file__).resolve().parents[2]
#: Libraries that cost tens of milliseconds each to import.
HEAVY = ("pydantic", "sqlalchemy", "eventsourcing", "rich", "yaml", "psycopg")

LOADED = """
import sys
sys.argv = ["lifecycle", *sys.argv[1:]]
from cli import main
try:
    main(standalone_mode=False)
finally:
    sys.stdout.flush()
    print("LOADED " + " ".join(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def loaded(*args: str) -> tuple[str, set[str]]:
    """Run the command line in a new interpreter: its stdout, and the top-level packages
    it had imported when it finished."""
    done = subprocess.run([sys.executable, "-c", LOADED, *args], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    last = [line for line in done.stderr.splitlines() if line.startswith("LOADED ")][-1]
    return done.stdout, set(last.split()[1:])


def test_importing_the_command_line_loads_no_heavy_library() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, cli; print(' '.join(sorted(sys.modules)))"],
        cwd=ROOT, capture_output=True, text=True, check=True)
    modules = set(done.stdout.split())
    assert not {m for m in modules if m.split(".")[0] in HEAVY}
    assert "lifecycle.domain.facts" not in modules  # pydantic's models


def _store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'lean.db'}"
    facts = tmp_path / "facts.jsonl"
    facts.write_text(
        json.dumps({"type": "status_changed", "person_id": "p1", "value": "lead",
                    "occurred_at": "2024-01-02T00:00:00Z"}) + "\n"
        + json.dumps({"type": "status_changed", "person_id": "p2", "value": "customer",
                      "occurred_at": "2024-01-03T00:00:00Z"}) + "\n", encoding="utf-8")
    with Ledger(url) as ledger:
        ledger.publish(load_definitions(starter_text("b2b-2024") or ""))
        with facts.open("rb") as stream:
            import_rows(ledger, lambda: read_jsonl(stream))
    return url


def test_report_stages_as_json_or_csv_loads_no_heavy_library(tmp_path: Path) -> None:
    url = _store(tmp_path)
    out, modules = loaded("--db", url, "report", "stages", "--as-of",
                          "2024-12-31T00:00:00Z", "--format", "json")
    counts = {row["stage"]: row["count"] for row in json.loads(out)["stages"]}
    assert counts["verified"] == 1 and counts["customer"] == 1  # lead: verified (b2b-2024)
    assert not modules & set(HEAVY), modules & set(HEAVY)
    out, modules = loaded("--db", url, "report", "stages", "--as-of",
                          "2024-12-31T00:00:00Z", "--format", "csv")
    assert out.splitlines()[0] == "stage,label,count"
    assert "customer,Customer,1" in out.splitlines()
    assert not modules & set(HEAVY), modules & set(HEAVY)


def test_a_report_on_sqlite_loads_neither_rich_nor_the_postgresql_driver(
        tmp_path: Path) -> None:
    """Off a terminal nothing is drawn, so rich is not imported; a SQLite store never
    loads psycopg."""
    url = _store(tmp_path)
    out, modules = loaded("--db", url, "report", "funnel", "--format", "json")
    assert json.loads(out)["cohort"] == 2
    assert "rich" not in modules
    assert "psycopg" not in modules


def test_sqlite_connections_have_a_page_cache_sized_for_bulk_work(tmp_path: Path) -> None:
    """The writer's and the read models' connections: 64 MiB of page cache (a negative
    cache_size counts KiB), besides synchronous = FULL."""
    assert settings.SQLITE_CACHE_KIB == 65_536
    with Ledger(f"sqlite:///{tmp_path / 'cache.db'}") as ledger:
        with ledger.log.recorder.append_transaction() as tx:
            cursor = tx.c  # type: ignore[attr-defined]
            assert cursor.execute("PRAGMA cache_size").fetchone()[0] == -65_536
            assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 2
        with ledger.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -65_536


def test_a_batch_writes_its_fact_index_rows_in_key_order(tmp_path: Path) -> None:
    """The index rows of one batch are inserted sorted by event id (one ordered pass over
    the key's index), while the events keep the batch's order in the log."""
    url = f"sqlite:///{tmp_path / 'order.db'}"
    facts = tmp_path / "many.jsonl"
    facts.write_text("".join(
        json.dumps({"type": "status_changed", "person_id": f"p{n}", "value": "lead",
                    "occurred_at": f"2024-01-{1 + n % 28:02d}T00:00:00Z"}) + "\n"
        for n in range(300)), encoding="utf-8")
    with Ledger(url) as ledger:
        ledger.publish(load_definitions(starter_text("b2b-2024") or ""))
        with facts.open("rb") as stream:
            summary = import_rows(ledger, lambda: read_jsonl(stream), batch_size=100)
        assert summary.stored == 300
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        ids = [r[0] for r in conn.execute(
            "SELECT event_id FROM fact_index WHERE fact_type = 'status_changed' "
            "ORDER BY rowid")]
        persons = [r[0] for r in conn.execute(
            "SELECT json_extract(state, '$.person_id') FROM stored_events "
            "WHERE topic = 'lifecycle:StatusChanged' ORDER BY rowid")]
        conn.close()
    assert len(ids) == 300
    for start in range(0, 300, 100):
        assert ids[start:start + 100] == sorted(ids[start:start + 100])
    assert ids != sorted(ids)  # sorted per batch, not across the whole import
    assert persons == [f"p{n}" for n in range(300)]  # the log keeps the file's order


def test_a_new_sqlite_store_gives_back_the_pages_a_rebuild_frees(tmp_path: Path) -> None:
    """A new file is made with auto_vacuum = INCREMENTAL; a rebuild's swap frees the old
    tables' pages (about as many as the views hold), and they leave the file at once."""
    import sqlite3

    from projections import rebuild

    url = _store(tmp_path)
    path = url.removeprefix("sqlite:///")

    def state() -> tuple[int, int, int]:
        conn = sqlite3.connect(path)
        try:
            return tuple(conn.execute(f"PRAGMA {name}").fetchone()[0]  # type: ignore[return-value]
                         for name in ("auto_vacuum", "freelist_count", "page_count"))
        finally:
            conn.close()

    assert state()[0] == 2  # INCREMENTAL, from the file's first table
    with Ledger(url) as ledger:
        rebuild.rebuild(ledger.engine, ledger.log, ledger.active_definitions().definitions)
        _, freed, before = state()
        assert freed >= before * 0.2  # what the swap left behind
        ledger.rebuild()
    _, free, after = state()
    assert free < after * 0.2
    assert after < before
    from click.testing import CliRunner

    from cli import main

    verified = CliRunner().invoke(main, ["--db", url, "verify"])
    assert verified.exit_code == 0 and verified.output.endswith(": intact\n"), verified.output


def test_verify_holds_one_view_table_at_a_time(tmp_path: Path, monkeypatch: Any) -> None:
    """verify reads each view table from the store and from a fresh replay, compares the
    two and lets them go before reading the next: never every table at once."""
    import gc
    import weakref

    from lifecycle.application import verify as verifying
    from projections.queries.stages import rows_of

    class Rows(list):  # type: ignore[type-arg]
        """A list that can be watched with a weak reference."""

    alive: list[weakref.ref[Rows]] = []
    most = 0
    read: list[str] = []

    def watched(conn: Any, view: Any) -> Rows:
        nonlocal most
        gc.collect()
        held = sum(1 for ref in alive if ref() is not None)
        most = max(most, held)
        rows = Rows(rows_of(conn, view))
        alive.append(weakref.ref(rows))
        read.append(view.name)
        return rows

    monkeypatch.setattr(verifying, "rows_of", watched)
    url = _store(tmp_path)
    with Ledger(url) as ledger:
        report = verifying.verify(ledger)
    assert report.ok, report.problems
    assert len(read) == 2 * len(verifying.VIEW_TABLES)  # every table, both copies
    assert most <= 1  # at most the live copy of the table being read, nothing before it
