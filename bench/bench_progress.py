"""What drawing progress costs: a rebuild of the same store with nobody listening, against
the same rebuild drawn on a terminal (issue 20).

    python bench/bench_progress.py --url sqlite:////tmp/ledger.db --runs 3

The store must hold facts (`lifecycle import` a file of bench/gen_facts.py first). The
rebuild is the command that reports most often (once per subject read). Runs alternate
(silent, drawn, silent, drawn, ...) so that other work on the machine weighs on both; the
drawn runs draw on a terminal console that writes to /dev/null. The ratio of the medians
is what to compare: 1.00 means drawing costs nothing measurable.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console

from lifecycle.application.ledger import Ledger
from lifecycle.console.progress import TerminalProgress
from lifecycle.domain.progress import SILENT


def rebuild(ledger: Ledger, drawn: bool) -> float:
    with open("/dev/null", "w") as null:
        console = Console(file=null, force_terminal=True, width=120) if drawn else None
        start = time.perf_counter()
        with TerminalProgress(console) as progress:
            ledger.progress = progress if drawn else SILENT
            ledger.rebuild()
        ledger.progress = SILENT
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a store with facts in it")
    parser.add_argument("--runs", type=int, default=3, help="rebuilds of each kind")
    args = parser.parse_args(argv)
    times: dict[bool, list[float]] = {False: [], True: []}
    with Ledger(args.url) as ledger:
        facts = ledger.log.recorder.count_events()
        for _ in range(args.runs):
            for drawn in (False, True):
                times[drawn].append(rebuild(ledger, drawn))
    silent, shown = statistics.median(times[False]), statistics.median(times[True])
    print("| events | rebuild, silent (s) | rebuild, drawn (s) | drawn / silent |")
    print("|---:|---:|---:|---:|")
    print(f"| {facts:,} | {silent:.2f} | {shown:.2f} | {shown / silent:.3f} |")
    print(f"silent runs: {', '.join(f'{t:.2f}' for t in times[False])}; "
          f"drawn runs: {', '.join(f'{t:.2f}' for t in times[True])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
