"""Fixtures of the reliability suite: a working folder per test, loaded stores to fuzz."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lifecycle.sample.journeys import generate_lines

DEMO_START = "2023-01-01"


@pytest.fixture(autouse=True)
def _workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Relative paths a fuzzed command writes (reports, rejects, demo folders) land in the
    test's own folder; a stray LIFECYCLE_DB never points a test at a real store."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIFECYCLE_DB", raising=False)
    yield tmp_path


def demo_lines(persons: int = 40, accounts: int = 5, seed: int = 3) -> list[str]:
    return list(generate_lines(persons, accounts, DEMO_START, seed=seed))


def load(url: str, folder: Path, lines: list[str] | None = None) -> str:
    """Publish the starter definitions and import `lines` (default: a small demo set)."""
    from lifecycle.application.importing import import_rows
    from lifecycle.application.ledger import Ledger
    from lifecycle.domain.definitions import load_definitions
    from lifecycle.domain.starters import DATA
    from lifecycle.importers.canonical import read_jsonl

    path = folder / "seed-facts.jsonl"
    path.write_text("\n".join(lines if lines is not None else demo_lines()) + "\n", "utf-8")
    with Ledger(url) as ledger:
        ledger.publish(load_definitions((DATA / "b2b-2024.yaml").read_text("utf-8")))
        import_rows(ledger, lambda: read_jsonl(path.open("rb")))
    return url


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store shared by one module's fuzz examples (they only add to it)."""
    folder = tmp_path_factory.mktemp("fuzz-store")
    return load(f"sqlite:///{folder / 'fuzz.db'}", folder)


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-files")


def dumps(fact: dict) -> str:
    return json.dumps(fact, ensure_ascii=False)
