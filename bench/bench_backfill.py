"""Backfill and known-at replay of a whole log, against a raw scan of the same events.

    python bench/bench_backfill.py --facts 1000000        # after bench/bench.py made the store

A backfill publishes new definitions and rebuilds every projection under them; a known-at
replay derives everything as the ledger knew it at a moment, into a scratch copy. Both
read and decode every stored event, so the baseline is a raw scan of the same rows
(fetch + json.loads), measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lifecycle.application.backfill import backfill
from lifecycle.application.ledger import Ledger
from lifecycle.domain.definitions import load_definitions
from lifecycle.domain.starters import starter_text
from lifecycle.domain.timeutil import utc_now


def raw_scan(url: str, table: str) -> tuple[float, int]:
    start = time.perf_counter()
    rows = 0
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        for (state,) in conn.execute(f"SELECT state FROM {table}"):
            json.loads(state)
            rows += 1
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn, \
                conn.cursor(name="scan") as cursor:
            cursor.execute(f"SELECT state FROM {table}")
            for (state,) in cursor:
                json.loads(bytes(state))
                rows += 1
    return time.perf_counter() - start, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    base = starter_text("b2b-2024") or ""
    print("| facts | store | measure | lifecycle (facts/s) | raw scan (facts/s) | ratio |")
    print("|---:|---|---|---:|---:|---:|")
    for store in args.stores.split(","):
        url = (f"sqlite:///{ROOT / 'bench/out' / f'ledger-{args.facts}.db'}" if store == "sqlite"
               else f"postgresql+psycopg://postgres@127.0.0.1:5432/lifecycle_bench_{args.facts}")
        with Ledger(url) as ledger:
            table = ledger.log.recorder.events_table_name  # type: ignore[attr-defined]
            raw_s, events = raw_scan(url, table)
            known_at = utc_now()
            version = f"bench-{int(time.time())}"
            new = load_definitions(base.replace('version: "b2b-2024"', f'version: "{version}"')
                                   .replace("salesqualifiedlead: sql", "salesqualifiedlead: sal"))
            start = time.perf_counter()
            backfill(ledger, new)
            backfill_s = time.perf_counter() - start
            start = time.perf_counter()
            ledger.scratch(ledger.active_definitions(known_at).definitions,
                           known_at=known_at).dispose()
            known_s = time.perf_counter() - start
        for measure, seconds in (("backfill", backfill_s), ("known-at replay", known_s)):
            print(f"| {events:,} | {store} | {measure} | {events / seconds:,.0f} | "
                  f"{events / raw_s:,.0f} | {raw_s / seconds:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
