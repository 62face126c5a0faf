"""Every report gives the same document on PostgreSQL as on SQLite.

The reports aggregate in SQL (counts, months, windows, covering indexes) where the two
databases differ in types and functions; the hand-worked ledger is loaded into both and
each report, with the options that change its SQL, must print the same JSON.
"""

from __future__ import annotations

import json

import pytest
from report_support import invoke, load, ok

pytestmark = pytest.mark.postgres

REPORTS = [
    ["stages", "--as-of", "2024-03-20"],
    ["stages", "--as-of", "2024-03-20T10:30:00Z", "--level", "account"],
    ["stamps"],
    ["moves"],
    ["funnel"],
    ["funnel", "--entry-stage", "sal", "--from", "2024-01-01", "--to", "2024-04-01"],
    ["funnel", "--by", "source"],
    ["funnel", "--by", "campaign", "--level", "account"],
    ["velocity"],
    ["velocity", "--by", "month"],
    ["velocity", "--from-stage", "mql", "--to-stage", "disqualified"],
    ["velocity", "--since", "2024-02-01", "--until", "2024-04-01", "--by", "month"],
    ["sla", "--as-of", "2024-03-20"],
    ["sla", "--as-of", "2024-06-01", "--since", "2024-02-01"],
    ["flags", "--as-of", "2024-03-20"],
    ["flags", "--as-of", "2024-03-31T23:59:59Z", "--flag", "renewal"],
    ["signals"],
    ["signals", "--since", "2024-02-01", "--reason", "engaged", "--reason", "unlisted_kind"],
    ["aging", "--as-of", "2024-03-20"],
    ["aging", "--as-of", "2024-06-01", "--level", "account"],
    ["timeline", "--every", "month"],
    ["timeline", "--every", "week", "--from", "2024-01-03T12:00:00Z", "--to", "2024-04-01"],
    ["timeline", "--level", "account"],
]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, module_pg_url: str) -> tuple[str, str]:
    """(SQLite url, PostgreSQL url), loaded with the same facts."""
    sqlite = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'ledger.db'}"
    load(sqlite, tmp_path_factory.mktemp("a"))
    load(module_pg_url, tmp_path_factory.mktemp("b"))
    return sqlite, module_pg_url


@pytest.mark.parametrize("args", REPORTS, ids=lambda a: " ".join(a))
def test_the_same_on_both_stores(stores: tuple[str, str], args: list[str]) -> None:
    sqlite, postgres = stores
    documents = [json.loads(ok(invoke("--db", url, "report", *args, "--format", "json")))
                 for url in (sqlite, postgres)]
    assert documents[0] == documents[1]
    listed = documents[0] if isinstance(documents[0], list) else \
        documents[0].get("rows", documents[0].get("stages"))
    assert listed, "a report with nothing in it compares nothing"
