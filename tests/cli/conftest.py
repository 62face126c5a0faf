"""Fixtures for the command-line tests: run `lifecycle` in-process against a given store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Run
from click.testing import CliRunner, Result

from cli import main


@pytest.fixture(autouse=True)
def _workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every CLI test runs in a folder of its own: relative paths land there, and a
    forgotten `--db` cannot touch a `lifecycle.db` elsewhere."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIFECYCLE_DB", raising=False)
    yield tmp_path


@pytest.fixture
def run() -> Run:
    """`run(*args, input=None)`: invoke the program as a user would, stdout and stderr
    kept apart. An exception the program does not turn into `Error: …` is not caught
    into the result: it fails the test, as a traceback would be a bug."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def db(run: Run, store_url: str) -> str:
    """A store (SQLite, then PostgreSQL) with the b2b-2024 definitions published."""
    result = run("--db", store_url, "init", "--definitions", "b2b-2024")
    assert result.exit_code == 0, result.stderr
    return store_url


@pytest.fixture
def sqlite_db(run: Run, sqlite_url: str) -> str:
    """A SQLite store with the b2b-2024 definitions published (for tests of messages)."""
    result = run("--db", sqlite_url, "init", "--definitions", "b2b-2024")
    assert result.exit_code == 0, result.stderr
    return sqlite_url

