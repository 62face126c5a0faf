"""The fast `report stages` path (projections/queries/quick.py) answers exactly as the full path,
and only while the projection is current; otherwise it steps aside."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import report_calls as reports

from lifecycle.application.importing import import_rows
from lifecycle.application.ledger import Ledger
from lifecycle.domain.candidates import Candidate
from lifecycle.domain.definitions import load_definitions
from lifecycle.domain.facts import parse_fact
from lifecycle.domain.starters import DATA
from lifecycle.importers.canonical import read_jsonl
from projections.queries.quick import stage_counts

MOMENTS = [datetime(2023, 6, 30, 23, 59, 59, tzinfo=UTC), datetime(2024, 3, 31, tzinfo=UTC),
           datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC)]


@pytest.fixture
def ledger(store_url: str, definitions_yaml: str) -> Ledger:
    ledger = Ledger(store_url)
    ledger.publish(load_definitions(definitions_yaml))
    path = Path(DATA / "demo_facts.jsonl")
    import_rows(ledger, lambda: read_jsonl(path.open("rb")))
    yield ledger
    ledger.close()


@pytest.mark.parametrize("level", ["person", "account"])
def test_fast_path_equals_the_full_report(ledger: Ledger, store_url: str, level: str) -> None:
    for moment in MOMENTS:
        fast = stage_counts(store_url, moment, level)
        assert fast is not None
        assert fast == reports.stages(ledger, moment, level)


def test_fast_path_steps_aside_when_the_projection_is_behind(ledger: Ledger,
                                                             store_url: str) -> None:
    fact = parse_fact({"type": "status_changed", "person_id": "late", "value": "customer",
                       "occurred_at": "2024-01-01T00:00:00Z"})
    ledger.append([Candidate(fact)])  # stored, not yet projected
    assert stage_counts(store_url, MOMENTS[-1], "person") is None
    full = reports.stages(ledger, MOMENTS[-1], "person")  # catches up first
    assert stage_counts(store_url, MOMENTS[-1], "person") == full
