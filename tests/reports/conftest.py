"""Fixtures for the analytics reports: the hand-worked ledger of `report_facts`, built once
per session on SQLite (the reports only read it), and `run` to invoke the program."""

from __future__ import annotations

from datetime import datetime

import pytest
from report_support import Run, invoke, load


@pytest.fixture(scope="session")
def run() -> Run:
    return invoke


@pytest.fixture(scope="session")
def ledger_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, datetime]:
    """(url, a known-at between the imports) of the hand-worked ledger on SQLite."""
    folder = tmp_path_factory.mktemp("reports")
    url = f"sqlite:///{folder / 'ledger.db'}"
    return url, load(url, folder)


@pytest.fixture(scope="session")
def db(ledger_db: tuple[str, datetime]) -> str:
    return ledger_db[0]
