"""A store projected before a view table existed gets that view filled, not left empty."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, text

from lifecycle.application.importing import import_rows
from lifecycle.application.ledger import Ledger
from lifecycle.application.verify import verify
from lifecycle.domain.definitions import load_definitions
from lifecycle.domain.starters import DATA
from lifecycle.importers.canonical import read_jsonl
from projections import tables


def test_a_view_added_later_is_replayed_on_the_next_catch_up(store_url: str,
                                                           definitions_yaml: str) -> None:
    with Ledger(store_url) as ledger:
        ledger.publish(load_definitions(definitions_yaml))
        path = Path(DATA / "demo_facts.jsonl")
        import_rows(ledger, lambda: read_jsonl(path.open("rb")))
        with ledger.engine.begin() as conn:
            want = conn.scalar(select(func.count()).select_from(tables.signals))
            conn.execute(text("DROP TABLE lc_signals"))  # as if the store predates it
    assert want > 0
    with Ledger(store_url) as ledger:  # this version's tables are created on open
        ledger.catch_up()
        with ledger.engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(tables.signals)) == want
        assert verify(ledger).ok
