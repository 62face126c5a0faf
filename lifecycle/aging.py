"""`report aging`: how long subjects have sat in the stage they are in as of a moment.

Per stage (every defined stage, definitions order): how many subjects are in it, the median
and p90 of days since they entered it (`lifecycle.stats.PERCENTILE_RULE`), and the one that
has been there longest (ties: the smallest subject_id).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from lifecycle import report_base
from lifecycle.facts import PERSON
from lifecycle.ledger import Ledger, View
from lifecycle.stats import PERCENTILE_RULE, days, percentile, rounded
from lifecycle.timeutil import format_instant
from projections import analytics

COLUMNS = ["stage", "label", "count", "median_days", "p90_days", "oldest_subject_id",
           "oldest_entered_at", "oldest_days"]


def aging(ledger: Ledger, as_of: datetime, level: str = PERSON,
          known_at: datetime | None = None, definitions: str | None = None) -> dict[str, Any]:
    """Time in the current stage as of `as_of`, per stage."""
    return aging_in(ledger.view(known_at, definitions), as_of, level)


def aging_in(view: View, as_of: datetime, level: str = PERSON) -> dict[str, Any]:
    report_base.check_level(level)
    with view.engine.connect() as conn:
        current = analytics.open_at(conn, level, as_of)
    by_stage: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in current:
        by_stage[row["stage"]].append(row)
    rows = []
    for stage in view.definitions.stages:
        members = by_stage.get(stage.key, [])
        ages = [days(as_of - m["entered_at"]) for m in members]
        oldest = min(members, key=lambda m: (m["entered_at"], m["subject_id"]), default=None)
        rows.append({
            "stage": stage.key, "label": stage.label, "count": len(members),
            "median_days": rounded(percentile(ages, 50)),
            "p90_days": rounded(percentile(ages, 90)),
            "oldest_subject_id": oldest["subject_id"] if oldest else None,
            "oldest_entered_at": format_instant(oldest["entered_at"]) if oldest else None,
            "oldest_days": rounded(days(as_of - oldest["entered_at"])) if oldest else None,
        })
    document = report_base.header(view, as_of=as_of, level=level)
    document |= {"total": len(current), "percentiles": PERCENTILE_RULE, "rows": rows}
    return document
