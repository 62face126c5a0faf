"""What bench/bench.py measures from outside: `lifecycle` commands as child processes
(wall time with start-up, peak resident memory of that child alone), and store sizes per
table and index.

    run_child([...]) -> Child(seconds, peak_mb, stdout)
    store_sizes(url) -> {table or index: bytes}, plus the file's free pages on SQLite
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The installed `lifecycle` command beside this interpreter (as users run it).
SCRIPT = Path(sys.executable).parent / "lifecycle"
PROGRAM = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "cli"]
#: GNU time (`apt-get install time`): it reports its child's peak resident memory.
TIME = "/usr/bin/time"


@dataclass
class Child:
    seconds: float
    peak_mb: float
    stdout: str


def run_child(args: list[str], ok: tuple[int, ...] = (0,), program: list[str] | None = None
              ) -> Child:
    """Run `lifecycle ARGS` (or `program ARGS`) as a new process: wall seconds (start-up
    included) and the peak resident memory of that process alone.

    The peak is what GNU time reads from wait4 for its child: a process forked from this
    (large) one would start its high-water mark at our size (Linux carries it across
    exec), so the command is started by `time`, a small process, instead."""
    env = {**os.environ, "LIFECYCLE_QUIET": "1"}
    with tempfile.NamedTemporaryFile("r") as peak, tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        done = subprocess.run([TIME, "-f", "%M", "-o", peak.name, *(program or PROGRAM),
                               *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err)
        seconds = time.perf_counter() - began
        if done.returncode not in ok:
            err.seek(0)
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): "
                               f"{err.read().decode()[-2000:]}")
        kilobytes = int(peak.read().split()[-1])
    return Child(seconds, kilobytes / 1024, done.stdout.decode())


def store_sizes(url: str) -> tuple[dict[str, int], int]:
    """Bytes per table and per index (SQLite's dbstat; PostgreSQL's pg_relation_size of
    each table with its TOAST, and of each index), and the bytes of free pages (SQLite)."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            sizes = dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
            page = conn.execute("PRAGMA page_size").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0] * page
        finally:
            conn.close()
        return {str(k): int(v) for k, v in sizes.items()}, int(free)
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT c.relname, CASE WHEN c.relkind = 'i' THEN pg_relation_size(c.oid) "
            "ELSE pg_table_size(c.oid) END FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')").fetchall()
    return {str(name): int(size) for name, size in rows}, 0


def size_lines(sizes: dict[str, int], jsonl_bytes: int, top: int = 12) -> list[str]:
    """The largest tables and indexes, each as MB and as a share of the JSON Lines."""
    lines = []
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"    {name:42} {size / 1e6:9.2f} MB {size / jsonl_bytes:6.2f}x")
    rest = sum(sorted(sizes.values(), reverse=True)[top:])
    if rest:
        lines.append(f"    {'(the rest)':42} {rest / 1e6:9.2f} MB {rest / jsonl_bytes:6.2f}x")
    return lines
