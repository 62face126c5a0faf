"""Time every analytics report on an existing store (in process, best of N runs).

    python bench/gen_facts.py --facts 100000 --out /tmp/f100k.jsonl
    lifecycle --db sqlite:////tmp/b100k.db init --definitions b2b-2024
    lifecycle --db sqlite:////tmp/b100k.db import /tmp/f100k.jsonl
    python bench/bench_reports.py --db sqlite:////tmp/b100k.db --as-of 2024-12-31

The store is caught up first, so the figures are the reports' own work (queries and
arithmetic), not projection catch-up.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lifecycle import aging, flags_report, funnel, html_report, signals, sla, timeline, velocity
from lifecycle.ledger import Ledger


def cases(ledger: Ledger, as_of: datetime, folder: Path) -> dict[str, Callable[[], Any]]:
    quarter = as_of - timedelta(days=91)
    year = as_of - timedelta(days=365)
    return {
        "funnel (all time)": lambda: funnel.funnel(ledger),
        "funnel --from/--to a year": lambda: funnel.funnel(ledger, start=year, end=as_of),
        "funnel --by campaign": lambda: funnel.funnel(ledger, by="campaign"),
        "velocity (consecutive pairs)": lambda: velocity.velocity(ledger),
        "velocity --by month": lambda: velocity.velocity(ledger, by="month"),
        "sla --as-of": lambda: sla.sla(ledger, as_of),
        "flags --as-of": lambda: flags_report.flags(ledger, as_of),
        "signals --since a quarter": lambda: signals.signals(ledger, since=quarter),
        "signals (all, every reason)": lambda: signals.signals(
            ledger, reason=signals.REASONS),
        "aging --as-of": lambda: aging.aging(ledger, as_of),
        "timeline --every month": lambda: timeline.timeline(ledger, every="month"),
        "timeline --every week": lambda: timeline.timeline(ledger, every="week"),
        "timeline --level account": lambda: timeline.timeline(ledger, level="account"),
        "html (everything)": lambda: html_report.write_report(ledger, folder / "r.html"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the store URL")
    parser.add_argument("--as-of", default="2024-12-31", help="a date (midnight UTC)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    as_of = datetime.fromisoformat(args.as_of).replace(tzinfo=UTC)
    with Ledger(args.db) as ledger, tempfile.TemporaryDirectory() as folder:
        ledger.catch_up()
        print(f"{'report':32} {'best s':>8} {'rows':>6}")
        for name, call in cases(ledger, as_of, Path(folder)).items():
            best, result = float("inf"), None
            for _ in range(args.runs):
                began = time.perf_counter()
                result = call()
                best = min(best, time.perf_counter() - began)
            rows = len(result["rows"]) if isinstance(result, dict) and "rows" in result else ""
            print(f"{name:32} {best:8.2f} {rows!s:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
