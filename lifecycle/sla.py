"""`report sla`: time in stage against each SLA of the definitions (SPEC §4.6).

As of T, every interval in the SLA's stage entered at or before T is one of:
`in_sla` (exited by T within the limit), `breached` (exited by T, lasted longer than the
limit), `open` (still in the stage at T, within the limit so far) or `breaching_now`
(still in the stage at T and over the limit). An interval exited after T is open as of T.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lifecycle import report_base
from lifecycle.definitions import Sla
from lifecycle.facts import PERSON
from lifecycle.ledger import Ledger, LedgerError, View
from lifecycle.stats import hours, rounded, share
from projections import analytics

COLUMNS = ["sla", "subject_type", "subject_id", "stage", "entered_at", "exited_at", "status",
           "hours_in_stage", "hours_over"]
SUMMARY_COLUMNS = ["sla", "stage", "within", "intervals", "in_sla", "breached", "open",
                   "breaching_now", "breach_rate"]


def sla(ledger: Ledger, as_of: datetime, level: str = PERSON, name: str | None = None,
        since: datetime | None = None, known_at: datetime | None = None,
        definitions: str | None = None) -> dict[str, Any]:
    """Every SLA's summary and its breaches as of `as_of` (intervals entered since
    `since`, when given)."""
    return sla_in(ledger.view(known_at, definitions), as_of, level, name, since)


def sla_in(view: View, as_of: datetime, level: str = PERSON, name: str | None = None,
           since: datetime | None = None) -> dict[str, Any]:
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
    with view.engine.connect() as conn:
        for rule in chosen:
            intervals = analytics.intervals_in(conn, level, rule.stage, as_of, since)
            counts, breaches = _judge(rule, intervals, as_of)
            summary.append({"sla": rule.name, "stage": rule.stage, "within": rule.within,
                            "intervals": len(intervals), **counts,
                            "breach_rate": share(counts["breached"] + counts["breaching_now"],
                                                 len(intervals))})
            rows += breaches
    document = report_base.header(view, as_of=as_of, level=level, since=since)
    document |= {"summary": summary, "rows": rows}
    return document


def _judge(rule: Sla, intervals: list[dict[str, Any]], as_of: datetime
           ) -> tuple[dict[str, int], list[dict[str, Any]]]:
    limit: timedelta = rule.duration
    counts = {"in_sla": 0, "breached": 0, "open": 0, "breaching_now": 0}
    breaches = []
    for interval in sorted(intervals, key=lambda i: (i["subject_type"], i["subject_id"],
                                                     i["entered_at"])):
        exited = interval["exited_at"]
        closed = exited is not None and exited <= as_of
        spent = (exited if closed else as_of) - interval["entered_at"]
        over = spent > limit
        status = ("breached" if over else "in_sla") if closed else \
            ("breaching_now" if over else "open")
        counts[status] += 1
        if over:
            breaches.append(report_base.instants({
                "sla": rule.name, "subject_type": interval["subject_type"],
                "subject_id": interval["subject_id"], "stage": rule.stage,
                "entered_at": interval["entered_at"], "exited_at": exited if closed else None,
                "status": status, "hours_in_stage": rounded(hours(spent)),
                "hours_over": rounded(hours(spent - limit))}))
    return counts, breaches
