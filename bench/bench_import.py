"""Import speed: `import_rows` against raw sqlite3, on the same canonical facts.

    python bench/bench_import.py                    # 100k facts
    python bench/bench_import.py --facts 1000000
    python bench/bench_import.py --file facts.jsonl --no-profile

Generates the facts with bench/gen_facts.py (or a quick generator of its own when that is
missing), then, each into a fresh SQLite file:

1. the ledger: `import_rows` (read, validate, identify, store in batches), without
   definitions, so storing is timed alone; then publishing the b2b-2024 definitions, which
   brings the projections up to date (timed as "projections");
2. the baseline: the same lines read and parsed with `json.loads`, identified (source +
   source_id, else a hash of the sorted JSON), and inserted with one `executemany` in one
   transaction into a table with a unique index on that identity.

Prints facts/s for both, the ratio, the peak memory, and a cProfile top-15 of the import.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import importlib.util
import io
import json
import pstats
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).parent


def generate(facts: int, out: Path) -> None:
    """bench/gen_facts.py when it is there, else a quick generator of our own."""
    script = HERE / "gen_facts.py"
    if script.exists():
        spec = importlib.util.spec_from_file_location("gen_facts", script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.main(["--facts", str(facts), "--out", str(out)])
        return
    rng = random.Random(2024)
    values = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
              "opportunity", "customer"]
    with out.open("w", encoding="utf-8") as f:
        for n in range(facts):
            f.write(json.dumps({
                "type": "status_changed", "person_id": f"p{rng.randrange(facts // 6 + 1)}",
                "value": rng.choice(values), "source": "bench", "source_id": str(n),
                "occurred_at": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T00:00:{n % 60:02d}Z",
            }) + "\n")


def ledger_import(path: Path, folder: Path, profile: bool = False
                  ) -> tuple[float, float, int, pstats.Stats | None]:
    """Seconds to store, seconds to bring the projections up, facts stored, profile."""
    from lifecycle.application.importing import import_rows
    from lifecycle.application.ledger import Ledger
    from lifecycle.domain.definitions import load_definitions
    from lifecycle.domain.starters import starter_text
    from lifecycle.importers.canonical import read_jsonl

    url = f"sqlite:///{folder / ('profiled.db' if profile else 'ledger.db')}"
    ledger = Ledger(url)
    profiler = cProfile.Profile() if profile else None
    try:
        with path.open("rb") as stream:
            began = time.perf_counter()
            if profiler:
                profiler.enable()
            summary = import_rows(ledger, lambda: read_jsonl(stream))
            stored_in = time.perf_counter() - began
            peaks = [_peak_mb()]
            began = time.perf_counter()
            ledger.publish(load_definitions(starter_text("b2b-2024") or ""))
            projected_in = time.perf_counter() - began
            peaks.append(_peak_mb())
            if profiler:
                profiler.disable()
    finally:
        ledger.close()
    if summary.rejected:
        print(f"warning: {summary.rejected} rows rejected", file=sys.stderr)
    if not profile:
        print(f"peak memory (MB, whole process so far): after storing {peaks[0]:.0f}, "
              f"after the projections {peaks[1]:.0f}")
    stats = pstats.Stats(profiler, stream=io.StringIO()) if profiler else None
    return stored_in, projected_in, summary.stored, stats


def _identity(fact: dict) -> str:
    if fact.get("source") is not None and fact.get("source_id") is not None:
        return json.dumps(["source", fact["source"], fact["source_id"]])
    body = json.dumps(fact, sort_keys=True, separators=(",", ":"))
    return json.dumps(["content", hashlib.sha256(body.encode()).hexdigest()])


def _baseline_rows(path: Path) -> Iterator[tuple[str, str, str, str]]:
    with path.open("rb") as stream:
        for line in stream:
            fact = json.loads(line)
            subject = fact.get("person_id") or fact.get("account_id") or ""
            yield _identity(fact), subject, fact["occurred_at"], line.decode()


def baseline_import(path: Path, folder: Path) -> tuple[float, int]:
    conn = sqlite3.connect(folder / "baseline.db")
    conn.execute("CREATE TABLE facts (id INTEGER PRIMARY KEY, identity TEXT NOT NULL, "
                 "subject TEXT NOT NULL, occurred_at TEXT NOT NULL, body TEXT NOT NULL)")
    conn.execute("CREATE UNIQUE INDEX facts_identity ON facts (identity)")
    conn.commit()
    began = time.perf_counter()
    with conn:
        conn.executemany("INSERT OR IGNORE INTO facts (identity, subject, occurred_at, body) "
                         "VALUES (?, ?, ?, ?)", _baseline_rows(path))
    took = time.perf_counter() - began
    stored = conn.execute("SELECT count(*) FROM facts").fetchone()[0]
    conn.close()
    return took, stored


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=100_000, help="how many facts (about)")
    parser.add_argument("--file", type=Path, help="a canonical JSONL file to use instead")
    parser.add_argument("--workdir", type=Path, help="where to put the stores (default: tmp)")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-import-", dir=args.workdir))
    try:
        path = args.file
        if path is None:
            path = folder / "facts.jsonl"
            began = time.perf_counter()
            generate(args.facts, path)
            print(f"generated {path} in {time.perf_counter() - began:.1f}s")
        with path.open("rb") as stream:
            lines = sum(1 for _ in stream)
        print(f"peak memory (MB) before importing: {_peak_mb():.0f}")
        base_s, base_n = baseline_import(path, folder)
        print(f"peak memory (MB) after the baseline: {_peak_mb():.0f}")
        store_s, project_s, stored, _ = ledger_import(path, folder)
        total_s = store_s + project_s
        print(f"\n{lines} lines")
        print(f"baseline  sqlite3 executemany : {base_n:>9} facts in {base_s:7.2f}s = "
              f"{base_n / base_s:>9.0f} facts/s")
        print(f"ledger    import_rows (store) : {stored:>9} facts in {store_s:7.2f}s = "
              f"{stored / store_s:>9.0f} facts/s")
        print(f"ledger    + projections       : {stored:>9} facts in {total_s:7.2f}s = "
              f"{stored / total_s:>9.0f} facts/s  (projections {project_s:.2f}s)")
        base_rate = base_n / base_s
        print(f"ratio of facts/s, ledger / baseline: store {stored / store_s / base_rate:.3f}, "
              f"store + projections {stored / total_s / base_rate:.3f}")
        if not args.no_profile:
            _, _, _, stats = ledger_import(path, folder, profile=True)
            assert stats is not None
            stats.sort_stats("cumulative").print_stats(15)
            stats.sort_stats("tottime").print_stats(15)
            print("\ncProfile of the import (store + projections), top 15 by cumulative "
                  "time, then by own time:")
            print(stats.stream.getvalue())  # type: ignore[attr-defined]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def _peak_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 1024 / 1024


if __name__ == "__main__":
    sys.exit(main())
