"""The per-day summaries after a retraction: a day left with nothing has no row.

`lc_stage_days` and `lc_move_days` are kept by adding the new rows' days and subtracting
the replaced ones'; a row that falls to zero must go, or an incremental projection would
differ from a rebuild (which `verify` checks). On both stores.
"""

from __future__ import annotations

from sqlalchemy import select

from lifecycle.application.ledger import Ledger
from lifecycle.application.verify import verify
from lifecycle.domain.definitions import load_definitions
from lifecycle.domain.facts import parse_fact
from projections import tables


def _days(ledger: Ledger) -> dict[str, list[tuple]]:
    with ledger.engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(select(t)))
                for t in tables.SUMMARY_TABLES}


def test_a_retracted_days_rows_are_deleted(store_url: str, definitions_yaml: str) -> None:
    with Ledger(store_url) as ledger:
        ledger.publish(load_definitions(definitions_yaml))
        ledger.record(parse_fact({"type": "status_changed", "person_id": "p1",
                                  "value": "lead", "occurred_at": "2024-01-01T09:00:00Z"}))
        before = _days(ledger)
        late, _ = ledger.record(parse_fact({
            "type": "status_changed", "person_id": "p1", "value": "marketingqualifiedlead",
            "occurred_at": "2024-03-05T09:00:00Z"}))
        assert late is not None
        during = _days(ledger)
        assert during != before
        assert any(row[1] == 19787 for row in during["lc_move_days"])  # 2024-03-05
        ledger.record(parse_fact({"type": "retracted", "person_id": "p1",
                                  "target_event_id": str(late.event_id),
                                  "occurred_at": "2024-03-06T00:00:00Z"}))
        assert _days(ledger) == before
        assert verify(ledger).ok
