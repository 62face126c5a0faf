"""Time every analytics report on an existing store (in process, best of N runs).

    python bench/gen_facts.py --facts 100000 --out /tmp/f100k.jsonl
    lifecycle --db sqlite:////tmp/b100k.db init --definitions b2b-2024
    lifecycle --db sqlite:////tmp/b100k.db import /tmp/f100k.jsonl
    python bench/bench_reports.py --db sqlite:////tmp/b100k.db --as-of 2024-12-31

The store is caught up first, so the figures are the reports' own work, not projection
catch-up: `library s` is the Python call (queries and arithmetic), `command s` the same
report as a user runs it, `lifecycle ... report ... --format json` in a new process
(start-up and imports included). Best of --runs each.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lifecycle.application.ledger import Ledger
from lifecycle.application.reporting import run_report, write_html
from lifecycle.domain.timeutil import format_instant
from lifecycle.reports.signals import REASONS

ROOT = Path(__file__).resolve().parents[1]
#: The installed `lifecycle` command beside this interpreter (as users run it).
SCRIPT = Path(sys.executable).parent / "lifecycle"
PROGRAM = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "cli"]


def cases(ledger: Ledger, as_of: datetime, folder: Path
          ) -> dict[str, tuple[Callable[[], Any], list[str]]]:
    """Each report: the library call, and the same report as command-line arguments."""
    quarter = as_of - timedelta(days=91)
    year = as_of - timedelta(days=365)
    at, since, start = (format_instant(t) for t in (as_of, quarter, year))

    def run(name: str, **options: Any) -> Callable[[], Any]:
        return lambda: run_report(ledger, name, **options)

    return {
        "funnel (all time)": (run("funnel"), ["funnel"]),
        "funnel --from/--to a year": (run("funnel", start=year, end=as_of),
                                      ["funnel", "--from", start, "--to", at]),
        "funnel --by campaign": (run("funnel", by="campaign"), ["funnel", "--by", "campaign"]),
        "velocity (consecutive pairs)": (run("velocity"), ["velocity"]),
        "velocity --by month": (run("velocity", by="month"), ["velocity", "--by", "month"]),
        "sla --as-of": (run("sla", as_of=as_of), ["sla", "--as-of", at]),
        "flags --as-of": (run("flags", as_of=as_of), ["flags", "--as-of", at]),
        "signals --since a quarter": (run("signals", since=quarter),
                                      ["signals", "--since", since]),
        "signals (all, every reason)": (
            run("signals", reason=REASONS),
            ["signals", *[a for r in REASONS for a in ("--reason", r)]]),
        "aging --as-of": (run("aging", as_of=as_of), ["aging", "--as-of", at]),
        "timeline --every month": (run("timeline", every="month"),
                                   ["timeline", "--every", "month"]),
        "timeline --every week": (run("timeline", every="week"),
                                  ["timeline", "--every", "week"]),
        "timeline --level account": (run("timeline", level="account"),
                                     ["timeline", "--level", "account"]),
        "stages --as-of": (run("stages", as_of=as_of), ["stages", "--as-of", at]),
        "html (everything)": (lambda: write_html(ledger, folder / "r.html"),
                              ["html", "-o", str(folder / "c.html")]),
    }


def command(url: str, args: list[str]) -> float:
    """Seconds for `lifecycle --db URL report ARGS --format json` as a new process (html
    has no format: it writes its file)."""
    output = [] if args[0] == "html" else ["--format", "json"]
    began = time.perf_counter()
    subprocess.run([*PROGRAM, "--db", url, "report", *args, *output], check=True,
                   stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the store URL")
    parser.add_argument("--as-of", default="2024-12-31", help="a date (midnight UTC)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    as_of = datetime.fromisoformat(args.as_of).replace(tzinfo=UTC)
    with Ledger(args.db) as ledger, tempfile.TemporaryDirectory() as folder:
        ledger.catch_up()
        print(f"{'report':32} {'library s':>9} {'command s':>9} {'rows':>6}")
        for name, (call, argv) in cases(ledger, as_of, Path(folder)).items():
            best, result = float("inf"), None
            for _ in range(args.runs):
                began = time.perf_counter()
                result = call()
                best = min(best, time.perf_counter() - began)
            whole = min(command(args.db, argv) for _ in range(args.runs))
            rows = len(result["rows"]) if isinstance(result, dict) and "rows" in result else ""
            print(f"{name:32} {best:9.3f} {whole:9.3f} {rows!s:>6}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
