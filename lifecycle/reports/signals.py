"""`report signals`: hand raises that moved nobody, with the subject's stage at the time.

A qualifying hand raise only moves a subject forward (SPEC §4 step 1). The rest are listed
with a `reason`: `engaged` (already at or past the hand raise's stage: a signal to the
owner), `exit` (in an exit stage: a hand raise never brings a subject back),
`low_fit` (fit missing or below `min_fit`), and, on request, `unlisted_kind` (a kind the
definitions do not list, e.g. a webinar attendance).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from lifecycle.reports import base as report_base
from lifecycle.reports.base import scope
from projections.queries import status as status_queries
from projections.view import View

REASONS = ("engaged", "exit", "low_fit", "unlisted_kind")
DEFAULT_REASONS = ("engaged", "exit", "low_fit")
COLUMNS = ["subject_type", "subject_id", "occurred_at", "stage", "kind", "fit", "reason",
           "campaign", "source", "actor", "event_id"]


def signals(view: View, since: datetime | None = None, until: datetime | None = None,
               reason: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    """Hand raises in [since, until) that moved nobody, by subject then time."""
    report_base.check_window(since, until)
    report_base.check_choices(reason, REASONS, "reason")
    reasons = [r for r in REASONS if r in (reason or DEFAULT_REASONS)]
    with view.connect() as conn:
        found = status_queries.signal_rows(conn, since, until, reasons)
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in found]
    counts = Counter(row["reason"] for row in rows)
    document = report_base.header(view, since=since, until=until, reasons=reasons)
    document |= {"summary": [{"reason": r, "count": counts[r]} for r in reasons],
                 "rows": rows}
    return document


def caption(document: dict[str, Any]) -> str:
    counts = ", ".join(f"{s['reason']} {s['count']}" for s in document["summary"])
    window = f"from {document['since'] or 'the start'} to {document['until'] or 'now'}"
    return (f"{len(document['rows'])} hand raise(s) that moved nobody, {window} "
            f"({counts}); stage = the person's stage when it came. {scope(document)}")
