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


READER = """
import json, sys, time
from pathlib import Path
from click.testing import CliRunner
from cli import main
url, out, stop, flags = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:]
reports = [["report", "stages", "--as-of", "2024-12-31T23:59:59Z", "--format", "json"],
           ["report", "funnel", "--format", "json"]]
with out.open("w") as lines:
    while not stop.exists():
        for args in reports:
            started = time.time()
            result = CliRunner().invoke(main, ["--db", url, *flags, *args])
            lines.write(json.dumps({"args": args, "code": result.exit_code,
                                    "output": result.output, "started": started,
                                    "ended": time.time()}) + "\\n")
            lines.flush()
"""


def test_readers_during_a_backfill_see_one_version_with_its_own_numbers(
        store_url: str, tmp_path: Path, definitions_yaml: str) -> None:
    """Every report read while a backfill runs is, label and numbers together, what the
    old definitions said or what the new ones say: never the new label over old numbers,
    never a mix (issue 19, point 3). One reader is a replica's (`--read-only`: it never
    catches up), the other may catch up."""
    lines = _facts(tmp_path, persons=400)
    assert _run(store_url, "init", "--definitions", "b2b-2024").returncode == 0
    assert _run(store_url, "import", str(_write(tmp_path / "f.jsonl", lines))).returncode == 0
    v2 = tmp_path / "v2.yaml"
    v2.write_text(definitions_yaml.replace('version: "b2b-2024"', 'version: "v2"')
                  .replace("salesqualifiedlead: sql", "salesqualifiedlead: sal")
                  .replace("min_fit: medium", "min_fit: high"), encoding="utf-8")
    reports = [["report", "stages", "--as-of", "2024-12-31T23:59:59Z", "--format", "json"],
               ["report", "funnel", "--format", "json"]]

    def read_all() -> list[str]:
        results = [_run(store_url, *args) for args in reports]
        assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
        return [r.stdout for r in results]

    before = read_all()
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, "-c", READER, store_url,
                                 str(tmp_path / f"reads-{i}.jsonl"), str(stop), *flags],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
               for i, flags in enumerate([[], ["--read-only"]])]
    try:
        time.sleep(1)
        started = time.time()
        result = _run(store_url, "backfill", str(v2))
        ended = time.time()
        assert result.returncode == 0, result.stderr
        time.sleep(0.5)
    finally:
        stop.touch()
        for reader in readers:
            reader.communicate(timeout=120)
    after = read_all()
    assert [json.loads(a)["definitions_version"] for a in after] == ["v2", "v2"]
    assert after != before
    during = 0
    for i in range(2):
        for line in (tmp_path / f"reads-{i}.jsonl").read_text("utf-8").splitlines():
            read = json.loads(line)
            assert read["code"] == 0, read["output"]
            which = reports.index(read["args"])
            assert read["output"] in (before[which], after[which]), read["output"]
            during += read["started"] < ended and read["ended"] > started
    assert during >= 2, "no report was read while the backfill ran"
