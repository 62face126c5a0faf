"""Concurrent writers and partitioned workers, on SQLite and PostgreSQL, as real processes.

Several `lifecycle import` processes on overlapping files at once must end with exactly
the facts of one import, and projections equal to a fresh replay; workers that are
stopped (SIGKILL) and restarted must lose and repeat nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lifecycle.application.ledger import Ledger
from lifecycle.application.verify import verify
from lifecycle.sample.journeys import generate

ROOT = Path(__file__).resolve().parents[2]
START = "2023-01-01T00:00:00Z"


def _cli(url: str, *args: str) -> list[str]:
    return [sys.executable, "-c", "from cli import main; main()", "--db", url, *args]


def _run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cli(url, *args), cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)


def _facts(tmp_path: Path, persons: int = 120) -> list[str]:
    from datetime import UTC, datetime

    start = datetime(2023, 1, 1, tzinfo=UTC)
    return [json.dumps(f) for f in generate(persons, 16, start, seed=7)]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _fact_count(url: str) -> int:
    with Ledger(url) as ledger:
        return sum(len(facts) for _, facts in ledger.iter_subjects())


def _unique(lines: list[str]) -> int:
    from lifecycle.domain.facts import parse_fact

    return len({parse_fact(json.loads(line)).event_id() for line in lines})


@pytest.mark.parametrize("writers", [3])
def test_concurrent_imports_store_each_fact_once(store_url: str, tmp_path: Path,
                                                 writers: int) -> None:
    lines = _facts(tmp_path)
    third = len(lines) // 3
    files = [
        _write(tmp_path / "a.jsonl", lines[: 2 * third]),
        _write(tmp_path / "b.jsonl", lines[third:]),
        _write(tmp_path / "c.jsonl", lines[::2]),
    ][:writers]
    assert _run(store_url, "init", "--definitions", "b2b-2024").returncode == 0
    procs = [subprocess.Popen(_cli(store_url, "import", str(f)), cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in files]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, (out, err)
    stored = sum(int(out.split("stored ")[1].split(",")[0]) for out, _ in outputs)
    expected = _unique(lines)
    assert stored == expected  # none lost, none doubled, across the writers
    assert _fact_count(store_url) == expected
    with Ledger(store_url) as ledger:
        report = verify(ledger)
    assert report.ok, report.problems


def test_partition_workers_killed_and_restarted_lose_and_repeat_nothing(
        store_url: str, tmp_path: Path) -> None:
    lines = _facts(tmp_path, persons=80)
    half = len(lines) // 2
    assert _run(store_url, "init", "--definitions", "b2b-2024").returncode == 0
    assert _run(store_url, "import", str(_write(tmp_path / "1.jsonl", lines[:half]))
                ).returncode == 0
    workers = [subprocess.Popen(_cli(store_url, "project", "--follow", "--interval", "0.05",
                                     "--partition", f"{i}/2"), cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(2)]
    time.sleep(2)
    # While the workers run, another process records facts without keeping projections:
    # its inline catch-up helps the partitions, guarded by their positions.
    assert _run(store_url, "import", str(_write(tmp_path / "2.jsonl", lines[half:]))
                ).returncode == 0
    os.kill(workers[0].pid, signal.SIGKILL)
    workers[1].send_signal(signal.SIGKILL)
    for worker in workers:
        worker.wait(timeout=60)
    for i in range(2):
        result = _run(store_url, "project", "--partition", f"{i}/2")
        assert result.returncode == 0, result.stderr
    with Ledger(store_url) as ledger:
        report = verify(ledger)
        assert ledger.position() == ledger.log.position()
    assert report.ok, report.problems
    assert _fact_count(store_url) == _unique(lines)
