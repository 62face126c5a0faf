"""The HubSpot import tests' store: hubspot-default definitions."""

from __future__ import annotations

import pytest

from tests.integration.import_support import Run


@pytest.fixture
def db(run: Run, sqlite_url: str) -> str:
    """A SQLite store with the bundled hubspot-default definitions."""
    assert run("--db", sqlite_url, "init", "--definitions", "hubspot-default").exit_code == 0
    return sqlite_url


