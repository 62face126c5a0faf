"""`report sla`: time in stage against each SLA of the definitions (SPEC §4.6).

As of T, every interval in the SLA's stage entered at or before T is one of:
`in_sla` (exited by T within the limit), `breached` (exited by T, lasted longer than the
limit), `open` (still in the stage at T, within the limit so far) or `breaching_now`
(still in the stage at T and over the limit). An interval exited after T is open as of T.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from lifecycle.domain.definitions import Sla
from lifecycle.domain.errors import LedgerError
from lifecycle.domain.facts import PERSON, plural
from lifecycle.reports import base as report_base
from lifecycle.reports.base import scope
from lifecycle.reports.stats import micro_hours, rounded, share
from projections.instants import MICROSECOND
from projections.queries import status as status_queries
from projections.view import View

COLUMNS = ["sla", "subject_type", "subject_id", "stage", "entered_at", "exited_at", "status",
           "hours_in_stage", "hours_over"]
SUMMARY_COLUMNS = ["sla", "stage", "within", "intervals", "in_sla", "breached", "open",
                   "breaching_now", "breach_rate"]


def sla(view: View, as_of: datetime, level: str = PERSON, name: str | None = None,
           since: datetime | None = None, worst: int | None = None) -> dict[str, Any]:
    """The report on a view; `worst`: list only that many breaches, the longest over
    their limit first (the summary still counts them all)."""
    defs = view.definitions
    report_base.check_level(level)
    chosen = list(defs.sla)
    if name is not None:
        chosen = [s for s in defs.sla if s.name == name]
        if not chosen:
            known = ", ".join(s.name for s in defs.sla) or "none"
            raise LedgerError(f"--sla: no SLA {name!r} in definitions {defs.version} "
                              f"(SLAs: {known})")
    summary, rows = [], []
    with view.connect() as conn:
        for rule in chosen:
            counts = status_queries.sla_tally(conn, level, rule.stage, as_of, since,
                                              rule.duration)
            breaches = status_queries.sla_breaches(conn, level, rule.stage, as_of, since,
                                                   rule.duration, worst)
            judged = sum(counts.values())
            summary.append({"sla": rule.name, "stage": rule.stage, "within": rule.within,
                            "intervals": judged, **counts,
                            "breach_rate": share(counts["breached"] + counts["breaching_now"],
                                                 judged)})
            rows += _breaches(rule, breaches)
    if worst is not None:
        rows = sorted(rows, key=lambda r: (-r["hours_over"], r["subject_id"]))[:worst]
    document = report_base.header(view, as_of=as_of, level=level, since=since)
    document |= {"summary": summary, "rows": rows}
    return document


def _breaches(rule: Sla, found: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """The breach rows (instants printed by the query), durations in hours."""
    limit = rule.duration // MICROSECOND
    return [{"sla": rule.name, "subject_type": subject_type, "subject_id": subject_id,
             "stage": rule.stage, "entered_at": entered, "exited_at": exited,
             "status": status, "hours_in_stage": rounded(micro_hours(spent)),
             "hours_over": rounded(micro_hours(spent - limit))}
            for subject_type, subject_id, entered, exited, status, spent in found]


def caption(document: dict[str, Any]) -> str:
    return (f"{len(document['rows'])} breach(es) of {plural(document['level'])} as of "
            f"{document['as_of']}; exited_at empty = still in the stage. {scope(document)}")
