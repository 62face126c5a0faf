"""Crash safety, bounded for CI: each command killed with SIGKILL at seeded random moments
on SQLite and PostgreSQL, re-run, and checked (see `harness.py` for what a run checks;
after each kill of a backfill, readers check that a report's label goes with its numbers).

`LIFECYCLE_CRASH_RUNS` (default 3) killed runs per command and store, on
`LIFECYCLE_CRASH_FACTS` (default 1500) facts. The long run is
`python bench/crash_harness.py --runs 60 --facts 10000` (docs/reliability.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from . import harness

RUNS = int(os.environ.get("LIFECYCLE_CRASH_RUNS", "3"))
FACTS = int(os.environ.get("LIFECYCLE_CRASH_FACTS", "1500"))
SEED = int(os.environ.get("LIFECYCLE_CRASH_SEED", "11"))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> harness.Data:
    return harness.make_data(tmp_path_factory.mktemp("crash-data"), FACTS, SEED)


@pytest.mark.parametrize("command", harness.COMMANDS)
def test_killed_command_then_rerun_loses_and_doubles_nothing(
        command: str, store_url: str, data: harness.Data, tmp_path: Path) -> None:
    kind = "postgres" if store_url.startswith("postgresql") else "sqlite"
    databases = harness.Databases(kind, tmp_path, store_url if kind == "postgres" else None)
    totals = harness.Totals()
    outcomes = []
    try:
        campaign = harness.Campaign(command, databases, data, SEED)
        campaign.setup()
        for number in range(RUNS):
            outcome = campaign.run_once(number)
            outcomes.append(outcome)
            totals.add(outcome)
    finally:
        databases.close()
    summary = [(o.number, o.kills, o.delays, o.mid_work) for o in outcomes]
    assert totals.lost == 0 and totals.doubled == 0 and totals.unexpected == 0, totals.problems
    assert totals.tracebacks == 0, totals.problems
    assert totals.failed == 0, totals.problems
    assert totals.kills >= RUNS, f"too few kills landed: {summary}"
    if command == "backfill":  # readers checked the label against the numbers after each kill
        assert totals.reads >= totals.kills, f"too few reads: {totals.reads}"
