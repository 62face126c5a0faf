"""An import killed with SIGKILL at random moments, then run again, ends with exactly what
a clean import gives: the same facts, stamps and moves, and `lifecycle verify` passes.

Each batch of an import commits on its own and facts are identified by their content or
source id, so a re-run stores what the killed run did not and counts the rest as
duplicates; the projections catch up from their stored position. The kills are seeded and
spread over the whole import, from reading the first batch to the projection catch-up.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lifecycle.application.ledger import Ledger
from lifecycle.domain.facts import parse_fact

DATA = Path(__file__).parent.parent / "data"
DEFINITIONS = DATA / "importers_definitions.yaml"
SEED = 20240108
RUNS = 5
VALUES = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
          "customer", "unqualified", "churned", ""]


def generate_facts(persons: int = 2_250, accounts: int = 150, seed: int = SEED) -> list[str]:
    """About 20k canonical facts: status changes (some at equal timestamps), hand raises,
    links, disqualifications, account flags, a few retractions and re-delivered lines."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    facts: list[tuple[datetime, int, dict]] = []

    def add(when: datetime, fact: dict) -> None:
        fact["occurred_at"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        facts.append((when, len(facts), fact))

    for a in range(accounts):
        aid = f"A{a:04d}"
        when = start + timedelta(hours=rng.randrange(24 * 90))
        for _ in range(rng.randint(1, 4)):
            add(when, {"type": "status_changed", "account_id": aid, "value": rng.choice(VALUES),
                       "source": "crm", "source_id": f"acc-{aid}-{len(facts)}"})
            when += timedelta(days=rng.randint(0, 40))
        if rng.random() < 0.3:
            add(when, {"type": "renewal_flagged", "account_id": aid,
                       "flag": rng.choice(["renewal", "upgrade", "at_risk"]), "state": "raised"})
    for p in range(persons):
        pid = f"P{p:05d}"
        when = start + timedelta(minutes=rng.randrange(60 * 24 * 120))
        if rng.random() < 0.7:
            add(when, {"type": "person_linked", "person_id": pid,
                       "account_id": f"A{rng.randrange(accounts):04d}"})
        for _ in range(rng.randint(5, 11)):
            step = rng.choice([0, 0, 1, 60, 3600, 86400, 86400 * 5])  # ties included
            when += timedelta(seconds=step)
            roll = rng.random()
            if roll < 0.75:
                fact = {"type": "status_changed", "person_id": pid,
                        "value": rng.choice(VALUES), "actor": rng.choice(["sdr1", "wf", "ae2"])}
                if rng.random() < 0.5:
                    fact.update(source="hubspot", source_id=f"{pid}-{len(facts)}")
            elif roll < 0.9:
                fact = {"type": "hand_raised", "person_id": pid,
                        "kind": rng.choice(["demo_request", "contact_sales", "ebook"]),
                        "fit": rng.choice(["high", "medium", "low"])}
            elif roll < 0.97:
                fact = {"type": "disqualified", "person_id": pid, "reason": "no budget"}
            else:
                fact = {"type": "person_left", "person_id": pid}
            add(when, fact)
    facts.sort(key=lambda item: (item[0], item[1]))
    lines = [json.dumps(fact) for _, _, fact in facts]
    for target in rng.sample(range(len(lines)), 25):  # retract a few facts, later on
        fact = json.loads(lines[target])
        if fact["type"] == "person_linked":
            continue
        subject = {k: fact[k] for k in ("person_id", "account_id") if k in fact}
        lines.append(json.dumps({"type": "retracted", **subject,
                                 "occurred_at": "2024-12-31T00:00:00Z", "reason": "test",
                                 "target_event_id": str(parse_fact(fact).event_id())}))
    for again in rng.sample(range(len(lines)), 40):  # re-delivered lines
        lines.insert(rng.randrange(again, len(lines)), lines[again])
    return lines


def lifecycle(db: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "cli", "--db", db, *args]


def run(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(lifecycle(db, *args), capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).parent.parent.parent)


def state(db: str) -> tuple[int, str, str]:
    """The fact count, `report stamps` and `report moves` as CSV."""
    with Ledger(db) as ledger:
        count = sum(len(facts) for _, facts in ledger.iter_subjects())
    stamps = run(db, "report", "stamps", "--format", "csv")
    moves = run(db, "report", "moves", "--format", "csv")
    assert stamps.returncode == moves.returncode == 0, stamps.stderr + moves.stderr
    return count, stamps.stdout, moves.stdout


@pytest.fixture(scope="module")
def facts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = generate_facts()
    assert 19_000 <= len(lines) <= 21_000
    path = tmp_path_factory.mktemp("crash") / "facts.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


@pytest.fixture(scope="module")
def clean(facts_file: Path) -> tuple[int, str, str]:
    """What a clean import gives."""
    db = f"sqlite:///{facts_file.parent / 'clean.db'}"
    assert run(db, "init", "--definitions", str(DEFINITIONS)).returncode == 0
    result = run(db, "import", str(facts_file))
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(", rejected 0\n"), result.stdout
    assert int(result.stdout.split("duplicate ")[1].split(",")[0]) >= 40  # re-delivered lines
    return state(db)


def _stored(db_file: Path) -> int:
    """How many events the store holds now (read-only; 0 while it cannot be read)."""
    try:
        with closing(sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=0.5)) as conn:
            return int(conn.execute("SELECT max(rowid) FROM stored_events").fetchone()[0] or 0)
    except sqlite3.Error:
        return 0


def _kill_during_import(db_file: Path, facts_file: Path, stored: int, delay: float) -> bool:
    """Start an import and SIGKILL it `delay` seconds after the store holds `stored` events;
    False if it finished first."""
    process = subprocess.Popen(lifecycle(f"sqlite:///{db_file}", "import", str(facts_file)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               cwd=Path(__file__).parent.parent.parent)
    deadline = time.monotonic() + 300
    while process.poll() is None and _stored(db_file) < stored and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(delay)
    if process.poll() is not None:
        return False
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return True


#: Where each run is killed: (fraction of the facts stored, then seconds more). 1.0 waits
#: until every fact is stored, so the kill lands in the projections' catch-up.
def _kill_points(run_number: int) -> list[tuple[float, float]]:
    rng = random.Random(SEED + run_number)
    if run_number == 0:
        return [(0.0, rng.uniform(0.0, 0.5))]            # start-up or the first batches
    if run_number == 3:
        return [(1.0, rng.uniform(0.1, 1.2))]            # during the catch-up
    points = [(rng.uniform(0.05, 0.95), rng.uniform(0.0, 0.2))
              for _ in range(1 + run_number % 2)]        # some runs are killed twice
    return sorted(points) + ([(1.0, rng.uniform(0.1, 1.2))] if run_number == 4 else [])


@pytest.mark.parametrize("run_number", range(RUNS))
def test_killed_import_then_rerun_equals_a_clean_import(
        tmp_path: Path, facts_file: Path, clean: tuple[int, str, str], run_number: int) -> None:
    db_file = tmp_path / "killed.db"
    db = f"sqlite:///{db_file}"
    assert run(db, "init", "--definitions", str(DEFINITIONS)).returncode == 0
    total = clean[0] + 1  # the definitions are an event too
    for fraction, delay in _kill_points(run_number):
        killed = _kill_during_import(db_file, facts_file, int(fraction * total), delay)
        assert killed, "the import finished before it could be killed"
    rerun = run(db, "import", str(facts_file))
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.endswith(", rejected 0\n"), rerun.stdout
    # the re-run itself brought the read models up to date (before any report catches up)
    with closing(sqlite3.connect(db_file)) as conn:
        assert conn.execute("SELECT position FROM lc_positions").fetchall() == [(total,)]
    assert state(db) == clean
    verify = run(db, "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
