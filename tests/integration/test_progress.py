"""Progress of long work (issue 20), as the layers report it, on SQLite and PostgreSQL:
every phase is named, has a total, and ends exactly at it; the Python API hands the same
phases to a callback."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

import lifecycle
from lifecycle.application.backfill import backfill, dry_run
from lifecycle.application.importing import import_rows
from lifecycle.application.ledger import Ledger
from lifecycle.application.verify import verify
from lifecycle.domain.definitions import load_definitions
from lifecycle.domain.progress import FACTS, Step
from lifecycle.domain.starters import DATA
from lifecycle.importers.canonical import read_jsonl
from projections import tables

#: The first persons and accounts of the demo's sample (whole journeys are not needed).
LINES = 600


@pytest.fixture
def facts(tmp_path: Path) -> Path:
    path = tmp_path / "facts.jsonl"
    with (DATA / "demo_facts.jsonl").open("rb") as demo:
        path.write_bytes(b"".join(line for _, line in zip(range(LINES), demo, strict=False)))
    return path
REBUILD = ["reading the log", "deriving histories", "building indexes", "swapping in"]


@dataclass
class Phase:
    name: str
    total: int | None
    unit: str
    done: int = 0
    facts: int = 0


@dataclass
class PhaseLog:
    """A progress that remembers every phase and how far it went."""

    phases: list[Phase] = field(default_factory=list)

    def phase(self, name: str, total: int | None = None, unit: str = FACTS) -> None:
        self.phases.append(Phase(name, total, unit))

    def advance(self, done: int = 1, facts: int | None = None) -> None:
        current = self.phases[-1]
        current.done += done
        current.facts += done if facts is None and current.unit == FACTS else facts or 0

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.phases]

    def __getitem__(self, name: str) -> Phase:
        [found] = [p for p in self.phases if p.name == name]
        return found


def _complete(log: PhaseLog) -> None:
    """Every phase had a total and reached it exactly."""
    assert [(p.name, p.done) for p in log.phases] == [(p.name, p.total) for p in log.phases]


def _ledger(url: str, definitions_yaml: str) -> Ledger:
    ledger = Ledger(url)
    ledger.publish(load_definitions(definitions_yaml))
    return ledger


def _import(ledger: Ledger, path: Path, strict: bool = False) -> int:
    opened: list[io.BufferedReader] = []

    def rows():  # type: ignore[no-untyped-def]
        opened.append(path.open("rb"))
        return read_jsonl(opened[-1])

    try:
        summary = import_rows(ledger, rows, strict=strict, name=path.name,
                              size=path.stat().st_size, tell=lambda: opened[-1].tell())
    finally:
        for stream in opened:
            stream.close()
    return summary.read


def test_an_import_reads_in_bytes_and_counts_facts_then_projects(
        store_url: str, definitions_yaml: str, facts: Path) -> None:
    log = PhaseLog()
    with _ledger(store_url, definitions_yaml) as ledger:
        ledger.progress = log
        read = _import(ledger, facts)
        stored = ledger.log.recorder.count_events() - 1  # less the definitions
    reading = log["reading and storing facts.jsonl"]
    assert (reading.unit, reading.total, reading.facts) == ("bytes", facts.stat().st_size, read)
    # A few hundred facts are applied page by page (a replay when there are more).
    assert log.names[1:] == ["projecting"]
    assert log["projecting"].total == stored
    _complete(log)


def test_a_strict_import_checks_then_stores(store_url: str, definitions_yaml: str,
                                            facts: Path) -> None:
    log = PhaseLog()
    with _ledger(store_url, definitions_yaml) as ledger:
        ledger.progress = log
        _import(ledger, facts, strict=True)
    assert log.names[:2] == ["checking facts.jsonl", "storing facts.jsonl"]
    assert {log.phases[0].unit, log.phases[1].unit} == {"bytes"}
    _complete(log)


def test_a_rebuild_names_each_phase_with_its_total(store_url: str, definitions_yaml: str,
                                                   facts: Path) -> None:
    log = PhaseLog()
    with _ledger(store_url, definitions_yaml) as ledger:
        _import(ledger, facts)
        stored = ledger.log.recorder.count_events() - 1
        ledger.progress = log
        ledger.rebuild()
    assert log.names == REBUILD
    for name in ("reading the log", "deriving histories"):  # each partition derived, written
        assert (log[name].total, log[name].done, log[name].facts) == (stored, stored, stored)
    assert log["building indexes"].total == len(tables.VIEW_TABLES)
    assert log["swapping in"].unit == "tables"
    _complete(log)


def test_verify_checks_facts_replays_and_compares_tables(
        store_url: str, definitions_yaml: str, facts: Path) -> None:
    log = PhaseLog()
    with _ledger(store_url, definitions_yaml) as ledger:
        _import(ledger, facts)
        events = ledger.log.recorder.count_events()
        ledger.progress = log
        assert verify(ledger).ok
    assert log.names == (["checking the log"] + [f"fresh replay: {n}" for n in REBUILD]
                         + [f"comparing {len(tables.VIEW_TABLES)} tables"])
    assert log["checking the log"].total == events
    assert log.phases[-1].unit == "rows"
    _complete(log)


def _b2b_2025(definitions_yaml: str):  # type: ignore[no-untyped-def]
    return load_definitions(definitions_yaml.replace('version: "b2b-2024"',
                                                     'version: "b2b-2025"')
                            .replace("min_fit: medium", "min_fit: high"))


def test_backfill_and_its_dry_run_show_their_replays(
        store_url: str, definitions_yaml: str, facts: Path) -> None:
    with _ledger(store_url, definitions_yaml) as ledger:
        _import(ledger, facts)
        ledger.progress = dry = PhaseLog()
        dry_run(ledger, _b2b_2025(definitions_yaml))
        ledger.progress = full = PhaseLog()
        backfill(ledger, _b2b_2025(definitions_yaml))
    assert dry.names == ([f"replay under b2b-2024: {n}" for n in REBUILD]
                         + [f"replay under b2b-2025: {n}" for n in REBUILD])
    assert full.names == REBUILD  # publishing rebuilds the projections beside the live ones
    _complete(dry)
    _complete(full)


@pytest.mark.parametrize("interval", [0.0, 3600.0])
def test_the_api_hands_the_phases_of_a_known_at_replay_to_a_callback(
        sqlite_url: str, definitions_yaml: str, facts: Path, interval: float) -> None:
    with _ledger(sqlite_url, definitions_yaml) as ledger:
        _import(ledger, facts)
    steps: list[Step] = []
    known_at = datetime(2100, 1, 1, tzinfo=UTC)
    with lifecycle.open(sqlite_url, progress=steps.append) as db:
        db.progress.interval = interval  # type: ignore[attr-defined]
        db.stages("2024-06-30", known_at=known_at)
        began = [s for s in steps if s.done == 0]
        label = "replay under b2b-2024 as known at 2100-01-01T00:00:00Z"
        assert [s.phase for s in began] == [f"{label}: {n}" for n in REBUILD]
        assert all(s.total for s in began)
        # each phase is also heard when it reaches its total, however rarely it is sent
        ends = {s.phase: s for s in steps if s.done == s.total}
        assert list(ends) == [s.phase for s in began]
        assert ends[f"{label}: deriving histories"].facts == began[0].total
        steps.clear()
        db.progress = None
        db.stages("2024-06-30", known_at=known_at)
    assert steps == []
