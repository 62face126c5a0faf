"""Rebuild, backfill and known-at replay: time and peak memory, against the raw baseline.

    python bench/bench_rebuild.py --db sqlite:///bench/out/ledger-1000000.db --workers 1,2
    python bench/bench_rebuild.py --db URL --what rebuild --code /tmp/old-checkout

Each measured run is a process of its own, so its memory is its own: the parent samples
the resident memory of the child and all its worker processes from /proc every 0.1 s
(`peak RSS, all processes` together, and the largest one process); the kernel's peak of
any child so far (`resource.getrusage(RUSAGE_CHILDREN)`) is printed too. `--code DIR` runs the child
against another checkout of the project (the code before a change). The baseline is
bench/bench.py's: a raw scan of the stored events (fetch + json.loads) plus a raw insert
of the same projection rows, measured in the same run; backfill and known-at replay are
also given against the raw scan alone (bench/bench_backfill.py's baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from lifecycle.application.ledger import Ledger
from lifecycle.domain.timeutil import utc_now
what, url, workers = sys.argv[2], sys.argv[3], int(sys.argv[4])
kwargs = {"workers": workers} if workers else {}
with Ledger(url, **kwargs) as ledger:
    began = time.perf_counter()
    if what == "rebuild":
        ledger.rebuild()
    elif what == "known-at":
        ledger.scratch(ledger.active_definitions().definitions, known_at=utc_now()).dispose()
    elif what == "backfill":
        from lifecycle.application.backfill import backfill
        from lifecycle.domain.definitions import load_definitions
        from lifecycle.domain.starters import starter_text
        version = f"bench-{int(time.time())}"
        text = (starter_text("b2b-2024") or "").replace(
            'version: "b2b-2024"', f'version: "{version}"').replace(
            "salesqualifiedlead: sql", "salesqualifiedlead: sal")
        backfill(ledger, load_definitions(text))
    seconds = time.perf_counter() - began
    events = ledger.log.recorder.count_events()
print(json.dumps({"seconds": seconds, "events": events}))
"""


def _tree_rss(root: int) -> tuple[int, int]:
    """Resident bytes of `root` and every process descended from it: all together, and
    the largest one."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(stat[1])
            rss[int(entry.name)] = int((entry / "statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        node = frontier.pop()
        for pid, parent in parents.items():
            if parent == node and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    sizes = [rss.get(pid, 0) for pid in tree]
    return sum(sizes), max(sizes)


def measure(what: str, url: str, workers: int, code: Path) -> dict[str, float]:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.Popen([sys.executable, "-c", CHILD, str(code), what, url,
                                str(workers)], cwd=code, stdout=subprocess.PIPE, text=True)
    peak = largest = 0
    while process.poll() is None:
        together, one = _tree_rss(process.pid)
        peak, largest = max(peak, together), max(largest, one)
        time.sleep(0.1)
    out = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        raise SystemExit(f"{what} failed (exit {process.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    # The kernel's own peak of any child so far (kB on Linux): at least the largest sample.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    kernel = after.ru_maxrss * 1024
    # CPU time of the child and its workers (waited for, so counted): what the work cost
    # whatever else the machine ran meanwhile.
    result["cpu_s"] = (after.ru_utime + after.ru_stime) - (used.ru_utime + used.ru_stime)
    result.update(peak_all_mb=peak / 2**20, largest_mb=largest / 2**20,
                  children_maxrss_mb=kernel / 2**20)
    return result


def baseline(url: str) -> tuple[float, float]:
    """(raw scan s, raw scan + insert s) of the store as bench/bench.py measures them."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_backfill import raw_scan  # type: ignore[import-not-found]

    from bench import projection_rows, raw_rebuild  # type: ignore[import-not-found]
    from lifecycle.application.ledger import Ledger

    store = "sqlite" if url.startswith("sqlite") else "postgresql"
    with Ledger(url, workers=1) as ledger:
        table = ledger.log.recorder.events_table_name  # type: ignore[attr-defined]
        scan_s, _ = raw_scan(url, table)
        rows = projection_rows(ledger)
    return scan_s, raw_rebuild(store, url, rows, table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a store with facts (and definitions)")
    parser.add_argument("--what", default="rebuild,backfill,known-at")
    parser.add_argument("--workers", default="1,2", help="worker counts to measure")
    parser.add_argument("--code", default=str(ROOT), help="the checkout the runs use")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    code = Path(args.code).resolve()
    rows = []
    for what in args.what.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            result = measure(what, args.db, workers, code)
            rows.append((what, workers, result))
            print(f"# {what} workers={workers}: {result['seconds']:.1f}s, "
                  f"cpu {result['cpu_s']:.1f}s, "
                  f"peak {result['peak_all_mb']:.0f} MB all processes, "
                  f"{result['largest_mb']:.0f} MB largest; getrusage of children so far "
                  f"{result['children_maxrss_mb']:.0f} MB", flush=True)
    scan_s = insert_s = float("nan")
    if not args.no_baseline:
        scan_s, insert_s = baseline(args.db)
    print("| measure | workers | events | seconds | CPU seconds | facts/s | peak RSS, all "
          "processes (MB) | largest process (MB) | ratio to raw scan+insert | ratio to raw "
          "scan |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for what, workers, r in rows:
        events = r["events"]
        print(f"| {what} | {workers} | {events:,} | {r['seconds']:.1f} | {r['cpu_s']:.1f} | "
              f"{events / r['seconds']:,.0f} | {r['peak_all_mb']:,.0f} | "
              f"{r['largest_mb']:,.0f} | {insert_s / r['seconds']:.2f} | "
              f"{scan_s / r['seconds']:.2f} |")
    print(f"raw scan {scan_s:.1f}s, raw scan+insert {insert_s:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
