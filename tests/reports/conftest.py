"""Fixtures for the analytics reports: the hand-worked ledger of `report_facts`, built once
per session (the reports only read it), and `run` to invoke the program.

`db` is the ledger on SQLite; `store_db` is the same ledger on SQLite, then on PostgreSQL,
for the reports whose queries are written per dialect (sla, flags, signals): their exact
assertions hold on both."""

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


@pytest.fixture(scope="session",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_ledger_db(request: pytest.FixtureRequest, ledger_db: tuple[str, datetime],
                    tmp_path_factory: pytest.TempPathFactory) -> tuple[str, datetime]:
    """(url, a known-at between the imports) of the hand-worked ledger on each store."""
    if request.param == "sqlite":
        return ledger_db
    url = str(request.getfixturevalue("pg_session_url"))
    return url, load(url, tmp_path_factory.mktemp("reports-pg"))


@pytest.fixture(scope="session")
def store_db(store_ledger_db: tuple[str, datetime]) -> str:
    return store_ledger_db[0]
