"""`report aging`: how long subjects have sat in the stage they are in as of a moment.

Per stage (every defined stage, definitions order): how many subjects are in it, the median
and p90 of days since they entered it (`lifecycle.stats.PERCENTILE_RULE`), and the one that
has been there longest (ties: the smallest subject_id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lifecycle.domain.facts import PERSON, plural
from lifecycle.domain.timeutil import format_instant
from lifecycle.reports import base as report_base
from lifecycle.reports.base import scope
from lifecycle.reports.stats import PERCENTILE_RULE, days_of, percentile_at, rounded
from projections.instants import MICROSECOND, from_stored
from projections.queries import analytics
from projections.view import View

COLUMNS = ["stage", "label", "count", "median_days", "p90_days", "oldest_subject_id",
           "oldest_entered_at", "oldest_days"]


def aging(view: View, as_of: datetime, level: str = PERSON) -> dict[str, Any]:
    """Time in the current stage as of `as_of`, per stage."""
    report_base.check_level(level)
    rows, total = [], 0
    with view.connect() as conn:
        for stage in view.definitions.stages:
            entered = analytics.entered_in(conn, level, stage.key, as_of)
            count = len(entered)
            total += count

            def age(i: int, entered: list[Any] = entered, count: int = count) -> int:
                """The i-th smallest age in microseconds: the i-th latest entry."""
                return (as_of - from_stored(entered[count - 1 - i])) // MICROSECOND

            oldest = analytics.first_in(conn, level, stage.key, as_of,
                                                       entered[0]) if entered \
                else None
            rows.append({
                "stage": stage.key, "label": stage.label, "count": count,
                "median_days": rounded(percentile_at(count, 50, age)),
                "p90_days": rounded(percentile_at(count, 90, age)),
                "oldest_subject_id": oldest,
                "oldest_entered_at": format_instant(from_stored(entered[0]))
                if entered else None,
                "oldest_days": rounded(days_of(age(count - 1))) if entered else None,
            })
    document = report_base.header(view, as_of=as_of, level=level)
    document |= {"total": total, "percentiles": PERCENTILE_RULE, "rows": rows}
    return document


def caption(document: dict[str, Any]) -> str:
    return (f"{document['total']} {plural(document['level'])} in a stage as of "
            f"{document['as_of']}; days since they entered it. Percentiles: "
            f"{document['percentiles']}. {scope(document)}")
