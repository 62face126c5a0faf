"""The long crash-safety run: kill `lifecycle` commands with SIGKILL at random moments.

    python bench/crash_harness.py --runs 60 --facts 10000
    python bench/crash_harness.py --runs 20 --stores sqlite --commands import,rebuild
    python bench/crash_harness.py --sync-measure --facts 20000   # SQLite FULL vs NORMAL

For every command (import, project, rebuild, rebuild-parallel, backfill) and store
(SQLite, PostgreSQL), a clean run is timed, then `--runs` runs are each killed at a seeded
random moment of the command's work (a quarter of them twice), re-run, and checked: every
fact present exactly once, projections at the end of the log and equal to the clean run's,
`lifecycle verify` exit 0, no shadow table left, no traceback. The summary prints runs,
kills, kills that left the work half done, facts lost / doubled (must be 0) and tracebacks
(must be 0); the exit status is 1 if any run failed. See docs/reliability.md.

PostgreSQL: `--pg URL` names a database on the server the runs may create databases on
(default: the tests' server, LIFECYCLE_TEST_PG, postgres@127.0.0.1:5432, database `test`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reliability"))
sys.path.insert(0, str(ROOT))

import harness  # (after the path is set)


def _default_pg() -> str:
    server = os.environ.get("LIFECYCLE_TEST_PG", "postgres@127.0.0.1:5432")
    admin = os.environ.get("LIFECYCLE_TEST_PG_ADMIN_DB", "test")
    return f"postgresql+psycopg://{server}/{admin}"


def crash(args: argparse.Namespace) -> int:
    commands = [c for c in args.commands.split(",") if c]
    stores = [s for s in args.stores.split(",") if s]
    for name in commands:
        if name not in harness.COMMANDS:
            raise SystemExit(f"unknown command {name!r} (one of {', '.join(harness.COMMANDS)})")
    totals = harness.Totals()
    per: dict[tuple[str, str], harness.Totals] = {}
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lifecycle-crash-") as tmp:
        folder = Path(tmp)
        data = harness.make_data(folder, args.facts, args.seed)
        print(f"data: {len(data.lines)} lines, {len(data.expected)} distinct facts "
              f"(seed {args.seed}); {args.runs} runs per command and store", flush=True)
        for store in stores:
            databases = harness.Databases(store, folder, args.pg if store == "postgres"
                                          else None)
            try:
                for command in commands:
                    campaign = harness.Campaign(command, databases, data, args.seed,
                                                log=lambda m: print(m, flush=True))
                    campaign.setup()
                    mine = per[(command, store)] = harness.Totals()
                    for number in range(args.runs):
                        outcome = campaign.run_once(number)
                        totals.add(outcome)
                        mine.add(outcome)
                        if args.verbose or not outcome.ok:
                            state = "ok" if outcome.ok else "FAILED"
                            print(f"  {command}/{store} #{number}: killed {outcome.kills}x "
                                  f"at {outcome.delays}s, mid-work {outcome.mid_work}: {state}",
                                  flush=True)
                            for problem in outcome.problems:
                                print(f"    {problem}", flush=True)
                    print(f"  {command}/{store}: runs {mine.runs}, kills {mine.kills}, "
                          f"mid-work {mine.mid_work}, lost {mine.lost}, doubled "
                          f"{mine.doubled}, tracebacks {mine.tracebacks}, reads checked "
                          f"{mine.reads}, failed {mine.failed}", flush=True)
            finally:
                databases.close()
    minutes = (time.monotonic() - began) / 60
    print()
    print(f"{'command':<10}{'store':<10}{'runs':>6}{'kills':>7}{'mid-work':>10}{'lost':>6}"
          f"{'doubled':>9}{'tracebacks':>12}{'failed':>8}")
    for (command, store), t in per.items():
        print(f"{command:<10}{store:<10}{t.runs:>6}{t.kills:>7}{t.mid_work:>10}{t.lost:>6}"
              f"{t.doubled:>9}{t.tracebacks:>12}{t.failed:>8}")
    print()
    print(f"runs: {totals.runs}")
    print(f"kills: {totals.kills} ({totals.mid_work} runs left the work half done)")
    print(f"facts lost: {totals.lost}")
    print(f"facts doubled: {totals.doubled}")
    print(f"facts unexpected: {totals.unexpected}")
    print(f"tracebacks: {totals.tracebacks}")
    print(f"failed runs: {totals.failed}")
    print(f"time: {minutes:.1f} min")
    for problem in totals.problems[:50]:
        print(f"  {problem}")
    return 0 if totals.ok else 1


def sync_measure(args: argparse.Namespace) -> int:
    """Time an import and single-fact appends on SQLite with synchronous FULL and NORMAL."""
    from lifecycle.application.importing import import_rows
    from lifecycle.application.ledger import Ledger
    from lifecycle.domain.candidates import Candidate
    from lifecycle.domain.definitions import load_definitions
    from lifecycle.domain.facts import parse_fact
    from lifecycle.domain.starters import DATA
    from lifecycle.importers.canonical import read_jsonl
    from lifecycle.store import settings

    definitions = load_definitions((DATA / "b2b-2024.yaml").read_text("utf-8"))
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="lifecycle-sync-", dir=args.dir) as tmp:
        folder = Path(tmp)
        data = harness.make_data(folder, args.facts, args.seed)
        singles = [parse_fact({"type": "status_changed", "person_id": f"single-{i}",
                               "value": "lead", "occurred_at": "2024-01-01T00:00:00Z"})
                   for i in range(args.singles)]
        for repeat in range(args.repeat):
            for mode in ("FULL", "NORMAL"):
                settings.SQLITE_SYNCHRONOUS = mode
                url = f"sqlite:///{folder / f'{mode}-{repeat}.db'}"
                with Ledger(url) as ledger:
                    with ledger.engine.connect() as conn:
                        actual = conn.exec_driver_sql("PRAGMA synchronous").scalar()
                    assert actual == {"FULL": 2, "NORMAL": 1}[mode], actual
                    ledger.publish(definitions)
                    t0 = time.perf_counter()
                    summary = import_rows(ledger, lambda: read_jsonl(data.facts.open("rb")))
                    t1 = time.perf_counter()
                    for fact in singles:
                        ledger.append([Candidate(fact)])
                    t2 = time.perf_counter()
                times = results.setdefault(mode, {"import": [], "singles": []})
                times["import"].append(t1 - t0)
                times["singles"].append(t2 - t1)
                print(f"{mode:<7} run {repeat + 1}: import of {summary.stored} facts "
                      f"{t1 - t0:.2f}s; {args.singles} single-fact appends {t2 - t1:.2f}s "
                      f"({(t2 - t1) / args.singles * 1000:.1f} ms each)", flush=True)
    print()
    for mode, times in results.items():
        print(f"{mode:<7} median: import {statistics.median(times['import']):.2f}s, "
              f"single append {statistics.median(times['singles']) / args.singles * 1000:.2f} "
              "ms")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20,
                        help="killed runs per command and store (default 20)")
    parser.add_argument("--facts", "--examples", dest="facts", type=int, default=10_000,
                        help="facts in the generated data (approximate; default 10000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--commands", default=",".join(harness.COMMANDS))
    parser.add_argument("--stores", default=",".join(harness.STORES))
    parser.add_argument("--pg", default=_default_pg(),
                        help="a database URL on the PostgreSQL server to use")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every run")
    parser.add_argument("--sync-measure", action="store_true",
                        help="measure SQLite synchronous FULL against NORMAL instead")
    parser.add_argument("--repeat", type=int, default=3, help="--sync-measure: repetitions")
    parser.add_argument("--singles", type=int, default=300,
                        help="--sync-measure: single-fact appends timed")
    parser.add_argument("--dir", default=None,
                        help="--sync-measure: folder for the databases (its disk is measured)")
    args = parser.parse_args()
    return sync_measure(args) if args.sync_measure else crash(args)


if __name__ == "__main__":
    sys.exit(main())
