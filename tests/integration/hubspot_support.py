"""What the HubSpot import tests share: the program run in-process, a store's facts per
subject, a rejects file read back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli import main
from lifecycle.application.ledger import Ledger

Run = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`run(*args)`: the program in-process; an exception escaping it fails the test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIFECYCLE_DB", raising=False)
    runner = CliRunner()

    def invoke(*args: str | Path) -> Result:
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def db(run: Run, sqlite_url: str) -> str:
    """A SQLite store with the bundled hubspot-default definitions."""
    assert run("--db", sqlite_url, "init", "--definitions", "hubspot-default").exit_code == 0
    return sqlite_url


def facts_of(url: str) -> dict[str, list[dict[str, Any]]]:
    """`"person:51"` -> the subject's facts in recording order, as canonical dicts."""
    with Ledger(url) as ledger:
        return {f"{subject.type}:{subject.id}": [f.fact.canonical() for f in sorted(
            facts, key=lambda f: f.version)] for subject, facts in ledger.iter_subjects()}


def rejects(path: Path) -> list[tuple[int, str | None, str]]:
    """(line, field, reason) of each rejected row."""
    return [(r["line"], r["field"], r["reason"]) for r in
            map(json.loads, path.read_text("utf-8").splitlines())]
