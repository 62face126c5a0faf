"""The ledger against the limit of this machine: one command, figures as ratios.

    python bench/bench.py                         # 100k facts, SQLite and PostgreSQL
    python bench/bench.py --facts 1000000
    python bench/bench.py --sizes 100000,300000,1000000 --stores sqlite

Every figure is measured in the same run as its baseline (these machines are noisy):
- import: facts stored per second, against a raw idempotent loader of the same file (read,
  json.loads, executemany in one transaction into a table with a unique index on the fact
  identity; on PostgreSQL, COPY into such a table);
- import, storage alone: the rows the import stored, written raw into empty copies of the
  ledger's own tables (keys, indexes, a commit per batch): the ratio import could reach
  with no reading, validation or hashing at all;
- rebuild: every projection replayed from the log, against a raw scan of the stored events
  (fetch + json.loads) plus a raw insert of the same projection rows;
- report stages --as-of: the `lifecycle` command, process start-up included, against
  DuckDB computing the same counts from the raw JSONL (the answers must be equal);
- latency: record one fact until it is visible in the projections, p50 and p99.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lifecycle.application.importing import ImportSummary, _batches
from lifecycle.application.ledger import BATCH, Ledger
from lifecycle.domain.definitions import Definitions, load_definitions
from lifecycle.domain.facts import parse_fact
from lifecycle.domain.starters import starter_text
from lifecycle.importers.canonical import read_jsonl
from projections import tables

AS_OF = "2024-12-31T23:59:59Z"
PG_SERVER = os.environ.get("LIFECYCLE_BENCH_PG", "postgres@127.0.0.1:5432")


@dataclass
class Figure:
    size: int
    store: str
    measure: str
    ours: str
    baseline: str
    ratio: float
    target: str
    met: bool | None


def timed(func: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def facts_file(size: int, folder: Path) -> Path:
    path = folder / f"facts-{size}.jsonl"
    if not path.exists():
        subprocess.run([sys.executable, str(ROOT / "bench/gen_facts.py"), "--facts", str(size),
                        "--out", str(path)], check=True, cwd=ROOT)
    return path


# ---- stores -------------------------------------------------------------------------------

def fresh_store(store: str, folder: Path, size: int) -> str:
    if store == "sqlite":
        path = folder / f"ledger-{size}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    name = f"lifecycle_bench_{size}"
    with psycopg.connect(f"postgresql://{PG_SERVER}/test", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{PG_SERVER}/{name}"


def raw_rows(path: Path) -> list[tuple[str, str]]:
    """What a hand-written idempotent loader keeps of each line: identity and body."""
    rows = []
    with path.open("rb") as lines:
        for line in lines:
            data = json.loads(line)
            identity = (f"{data['source']}:{data['source_id']}" if data.get("source_id")
                        else hashlib.sha256(line).hexdigest())
            rows.append((identity, line.decode()))
    return rows


def raw_load(store: str, url: str, path: Path) -> float:
    """Seconds for the raw loader: read, parse, insert in one transaction, unique index."""
    def sqlite_load() -> None:
        db = Path(tempfile.mkdtemp()) / "raw.db"
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE facts (identity TEXT PRIMARY KEY, body TEXT)")
        with conn:
            conn.executemany("INSERT OR IGNORE INTO facts VALUES (?, ?)", raw_rows(path))
        conn.close()

    def pg_copy() -> None:
        import psycopg

        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as conn:
            conn.execute("DROP TABLE IF EXISTS raw_facts")
            conn.execute("CREATE TABLE raw_facts (identity text PRIMARY KEY, body text)")
            rows = {identity: body for identity, body in raw_rows(path)}
            with conn.cursor().copy("COPY raw_facts (identity, body) FROM STDIN") as copy:
                for row in rows.items():
                    copy.write_row(row)
            conn.execute("DROP TABLE raw_facts")

    seconds, _ = timed(sqlite_load if store == "sqlite" else pg_copy)
    return seconds


def storage_floor(store: str, url: str, events: str) -> float:
    """Seconds to write the rows the import stored into empty copies of the ledger's own
    tables (events, fact index and log chain, their keys and indexes), raw: executemany (SQLite,
    `synchronous = FULL` as the ledger) or COPY (PostgreSQL), one transaction per import
    batch. No reading, validation, identity or hashing: what the ledger's storage alone
    costs, so raw / this is the best import ratio the schema allows."""
    def sqlite_floor() -> float:
        source = sqlite3.connect(url.removeprefix("sqlite:///"))
        schema = [sql for (sql,) in source.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name IN (?, 'fact_index', 'log_chain') "
            "AND sql IS NOT NULL ORDER BY type DESC", [events])]
        index_rows = source.execute("SELECT * FROM fact_index ORDER BY rowid").fetchall()
        chain_rows = source.execute("SELECT * FROM log_chain ORDER BY entry").fetchall()
        event_rows = source.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {events} "
            "ORDER BY rowid").fetchall()
        source.close()
        target = sqlite3.connect(Path(tempfile.mkdtemp()) / "floor.db", isolation_level=None)
        target.execute("PRAGMA journal_mode=WAL")
        target.execute("PRAGMA synchronous=FULL")
        for statement in schema:
            target.execute(statement)
        width = len(index_rows[0]) if index_rows else 7
        start = time.perf_counter()
        for at in range(0, len(event_rows), BATCH):
            target.execute("BEGIN IMMEDIATE")
            target.executemany(f"INSERT INTO fact_index VALUES ({','.join('?' * width)})",
                               index_rows[at:at + BATCH])
            target.executemany(f"INSERT INTO {events} VALUES (?,?,?,?)",
                               event_rows[at:at + BATCH])
            target.executemany("INSERT INTO log_chain VALUES (?,?,?,?)",
                               chain_rows[at:at + BATCH])
            target.execute("COMMIT")
        seconds = time.perf_counter() - start
        target.close()
        return seconds

    def pg_floor() -> float:
        import psycopg

        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as conn:
            index_rows = conn.execute("SELECT * FROM fact_index").fetchall()
            chain_rows = conn.execute("SELECT * FROM log_chain ORDER BY entry").fetchall()
            event_rows = conn.execute(
                f"SELECT originator_id, originator_version, topic, state FROM {events} "
                "ORDER BY notification_id").fetchall()
            conn.execute("DROP TABLE IF EXISTS floor_index, floor_events, floor_chain")
            conn.execute("CREATE TABLE floor_index (LIKE fact_index INCLUDING ALL)")
            conn.execute("CREATE TABLE floor_chain (LIKE log_chain INCLUDING ALL)")
            conn.execute("CREATE TABLE floor_events (originator_id uuid NOT NULL, "
                         "originator_version bigint NOT NULL, topic text, state bytea, "
                         "notification_id bigserial UNIQUE, "
                         "PRIMARY KEY (originator_id, originator_version))")
            conn.commit()
            start = time.perf_counter()
            for at in range(0, len(event_rows), BATCH):
                with conn.cursor().copy("COPY floor_index FROM STDIN") as copy:
                    for row in index_rows[at:at + BATCH]:
                        copy.write_row(row)
                with conn.cursor().copy("COPY floor_events (originator_id, "
                                        "originator_version, topic, state) FROM STDIN") as copy:
                    for row in event_rows[at:at + BATCH]:
                        copy.write_row(row)
                with conn.cursor().copy("COPY floor_chain FROM STDIN") as copy:
                    for row in chain_rows[at:at + BATCH]:
                        copy.write_row(row)
                conn.commit()
            seconds = time.perf_counter() - start
            conn.execute("DROP TABLE floor_index, floor_events, floor_chain")
        return seconds

    return sqlite_floor() if store == "sqlite" else pg_floor()


# ---- measures -----------------------------------------------------------------------------

def measure_import(ledger: Ledger, path: Path) -> tuple[float, int]:
    summary = ImportSummary(rejections=[])
    stored = 0

    def run() -> None:
        nonlocal stored
        for batch in _batches(read_jsonl(path.open("rb")), summary, BATCH):
            stored += len(ledger.append(batch).stored)

    seconds, _ = timed(run)
    return seconds, stored


def projection_rows(ledger: Ledger) -> dict[str, list[tuple]]:
    with ledger.engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(t.select())] for t in tables.VIEW_TABLES}


def raw_rebuild(store: str, url: str, rows: dict[str, list[tuple]], events: str) -> float:
    """A raw scan of the stored events (fetch + decode) plus a raw insert of the rows."""
    def scan_sqlite() -> None:
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        for (state,) in conn.execute(f"SELECT state FROM {events}"):
            json.loads(state)
        target = sqlite3.connect(Path(tempfile.mkdtemp()) / "raw.db")
        with target:
            for name, values in rows.items():
                if not values:
                    continue
                width = len(values[0])
                target.execute(f"CREATE TABLE {name} ({', '.join(f'c{i}' for i in range(width))})")
                target.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * width)})",
                                   [tuple(_plain(v) for v in row) for row in values])
        conn.close()
        target.close()

    def scan_pg() -> None:
        import psycopg

        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as conn:
            with conn.cursor(name="scan") as cursor:
                cursor.execute(f"SELECT state FROM {events}")
                for (state,) in cursor:
                    json.loads(bytes(state))
            for name, values in rows.items():
                if not values:
                    continue
                width = len(values[0])
                conn.execute(f"CREATE TEMP TABLE raw_{name} "
                             f"({', '.join(f'c{i} text' for i in range(width))})")
                with conn.cursor().copy(f"COPY raw_{name} FROM STDIN") as copy:
                    for row in values:
                        copy.write_row([_plain(v) for v in row])

    seconds, _ = timed(scan_sqlite if store == "sqlite" else scan_pg)
    return seconds


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def lifecycle_stages(url: str) -> tuple[float, dict[str, int]]:
    """`lifecycle report stages` as a user runs it: a new process each time; best of 3."""
    times, counts = [], {}
    for _ in range(3):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "cli", "--db", url, "report", "stages",
                              "--as-of", AS_OF, "--format", "json"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        times.append(time.perf_counter() - start)
        counts = {s["stage"]: s["count"] for s in json.loads(out)["stages"]}
    return statistics.median(times), counts


def duckdb_stages(path: Path, definitions: Definitions) -> tuple[float, dict[str, int]]:
    """The same person counts from the raw JSONL, the rules of SPEC §4 written in SQL."""
    import duckdb

    mapping = ", ".join(
        f"({_q(field)}, {_q(value)}, {_q(stage)})"
        for field, values in definitions.status_lookup.items() for value, stage in values.items())
    ranks = ", ".join(f"({_q(s.key)}, {s.rank if s.rank is not None else 'NULL'})"
                      for s in definitions.stages)
    hand = definitions.map.hand_raised
    assert hand is not None
    kinds = ", ".join(_q(k) for k in definitions.hand_raise_kinds)
    fits = {"low": 1, "medium": 2, "high": 3}
    min_fit = fits[hand.min_fit] if hand.min_fit else 0
    hand_rank = definitions.rank(hand.to)
    query = f"""
    WITH raw AS (
      SELECT row_number() OVER () AS seq, * FROM read_json('{path}',
        format = 'newline_delimited',
        columns = {{type: 'VARCHAR', person_id: 'VARCHAR', account_id: 'VARCHAR',
                   occurred_at: 'VARCHAR', field: 'VARCHAR', value: 'VARCHAR',
                   kind: 'VARCHAR', fit: 'VARCHAR'}})),
    map(field, value, stage) AS (VALUES {mapping}),
    ranks(stage, rank) AS (VALUES {ranks}),
    f AS (
      SELECT r.person_id, r.occurred_at::TIMESTAMPTZ AS t, r.seq,
        CASE r.type
          WHEN 'status_changed' THEN m.stage
          WHEN 'hand_raised' THEN CASE
            WHEN lower(trim(r.kind)) IN ({kinds})
             AND coalesce(CASE lower(trim(r.fit)) WHEN 'low' THEN 1 WHEN 'medium' THEN 2
                                                  WHEN 'high' THEN 3 END, 0) >= {min_fit}
             AND ({min_fit} = 0 OR r.fit IS NOT NULL)
            THEN '#hand' END
          WHEN 'disqualified' THEN {_q(definitions.map.disqualified or '')}
          WHEN 'person_left' THEN {_q(definitions.map.person_left or '')}
        END AS target
      FROM raw r LEFT JOIN map m
        ON m.field = coalesce(r.field, 'lifecycle_stage') AND m.value = lower(trim(r.value))
      WHERE r.person_id IS NOT NULL AND r.type <> 'person_linked'
        AND r.occurred_at::TIMESTAMPTZ <= TIMESTAMPTZ '{AS_OF}'),
    g AS (
      SELECT *, last_value(CASE WHEN target <> '#hand' THEN target END IGNORE NULLS) OVER (
          PARTITION BY person_id ORDER BY t, seq
          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
      FROM f WHERE target IS NOT NULL AND target <> ''),
    h AS (
      SELECT g.person_id, g.t, g.seq,
        CASE WHEN g.target <> '#hand' THEN g.target
             WHEN g.before IS NULL OR rb.rank < {hand_rank} THEN {_q(hand.to)}
             ELSE g.before END AS stage
      FROM g LEFT JOIN ranks rb ON rb.stage = g.before),
    last AS (SELECT person_id, arg_max(stage, (t, seq)) AS stage FROM h GROUP BY person_id)
    SELECT stage, count(*) FROM last GROUP BY stage"""
    times, counts = [], {}
    for _ in range(3):
        start = time.perf_counter()
        conn = duckdb.connect()
        counts = dict(conn.execute(query).fetchall())
        conn.close()
        times.append(time.perf_counter() - start)
    return statistics.median(times), counts


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def latency(ledger: Ledger, samples: int = 200) -> tuple[float, float]:
    """Record one fact, until its stage is visible in the projections: p50 and p99 (ms)."""
    from lifecycle.domain.facts import Subject
    from projections.queries.stages import current_stage

    rng = random.Random(5)
    waits = []
    for i in range(samples):
        person = f"latency-{i}"
        fact = parse_fact({"type": "status_changed", "person_id": person,
                           "occurred_at": "2025-01-01T00:00:00Z",
                           "value": rng.choice(["lead", "customer"])})
        start = time.perf_counter()
        ledger.record(fact)
        with ledger.engine.connect() as conn:
            assert current_stage(conn, "person", Subject("person", person).id) is not None
        waits.append((time.perf_counter() - start) * 1000)
    waits.sort()
    return waits[len(waits) // 2], waits[min(len(waits) - 1, int(len(waits) * 0.99))]


# ---- the run --------------------------------------------------------------------------------

def run(size: int, store: str, folder: Path, definitions: Definitions) -> list[Figure]:
    path = facts_file(size, folder)
    url = fresh_store(store, folder, size)
    figures: list[Figure] = []
    limit = "COPY" if store == "postgresql" else "executemany"
    with Ledger(url) as ledger:
        ledger.publish(definitions)
        seconds, stored = measure_import(ledger, path)
        raw = raw_load(store, url, path)
        figures.append(Figure(size, store, "import (facts/s)", f"{stored / seconds:,.0f}",
                              f"{stored / raw:,.0f} raw {limit}", raw / seconds, ">= 0.5",
                              raw / seconds >= 0.5))
        floor = storage_floor(store, url, ledger.log.recorder.events_table_name)  # type: ignore[attr-defined]
        figures.append(Figure(size, store, "import, storage alone (facts/s)",
                              f"{stored / floor:,.0f}", f"{stored / raw:,.0f} raw {limit}",
                              raw / floor, "(the best import can reach)", None))
        rebuild_s, _ = timed(ledger.rebuild)
        raw_s = raw_rebuild(store, url, projection_rows(ledger),
                            ledger.log.recorder.events_table_name)  # type: ignore[attr-defined]
        figures.append(Figure(size, store, "rebuild (facts/s)", f"{stored / rebuild_s:,.0f}",
                              f"{stored / raw_s:,.0f} raw scan+insert", raw_s / rebuild_s,
                              ">= 0.3", raw_s / rebuild_s >= 0.3))
        ours_s, ours = lifecycle_stages(url)
        duck_s, duck = duckdb_stages(path, definitions)
        same = {k: v for k, v in ours.items() if v} == duck
        figures.append(Figure(size, store, "report stages --as-of (s)", f"{ours_s:.3f}",
                              f"{duck_s:.3f} DuckDB" + ("" if same else " (COUNTS DIFFER)"),
                              duck_s / ours_s, ">= 10", same and duck_s / ours_s >= 10))
        p50, p99 = latency(ledger)
        figures.append(Figure(size, store, "record-to-visible (ms)", f"p50 {p50:.1f}",
                              f"p99 {p99:.1f}", 20 / p50, "p50 <= 20", p50 <= 20))
    return figures


def table(figures: list[Figure]) -> str:
    lines = ["| facts | store | measure | lifecycle | baseline | ratio | target | met |",
             "|---:|---|---|---:|---:|---:|---|---|"]
    for f in figures:
        met = "" if f.met is None else ("yes" if f.met else "no")
        lines.append(f"| {f.size:,} | {f.store} | {f.measure} | {f.ours} | {f.baseline} | "
                     f"{f.ratio:.2f} | {f.target} | {met} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--sizes", help="comma-separated sizes, for growth (overrides --facts)")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--folder", default=str(ROOT / "bench/out"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.facts]
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    definitions = load_definitions(starter_text("b2b-2024") or "")
    figures: list[Figure] = []
    print(f"# lifecycle bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} cores, python {sys.version.split()[0]}")
    for size in sizes:
        for store in args.stores.split(","):
            figures += run(size, store, folder, definitions)
            print(table([f for f in figures if f.size == size and f.store == store]),
                  flush=True)
    print()
    print(table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
