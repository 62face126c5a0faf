"""`report velocity`: how long subjects take from first reaching one stage to the next.

For a pair (A, B): every subject with stamps for both, B first reached at or after A,
gives one duration, B's first_reached_at minus A's. Inferred stamps count (the `inferred`
column says how many pairs had one). With `by="month"` the durations are grouped by the
month B was first reached (when the conversion happened). Percentiles:
`lifecycle.stats.PERCENTILE_RULE`.

Beside each pair, for stage A in the same window: `entries` (real moves into A),
`backward_moves` (moves out of A in the backward direction) and `recycle_rate`
(backward_moves / entries).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from lifecycle import report_base
from lifecycle.facts import PERSON
from lifecycle.ledger import Ledger, LedgerError, View
from lifecycle.periods import month_of
from lifecycle.stats import PERCENTILE_RULE, days, share, summary_days
from projections import analytics

BY = ("month",)
COLUMNS = ["from_stage", "to_stage", "count", "inferred", "median_days", "p75_days",
           "p90_days", "entries", "backward_moves", "recycle_rate"]


def columns(by: str | None) -> list[str]:
    return ([by] if by else []) + COLUMNS


def velocity(ledger: Ledger, from_stage: str | None = None, to_stage: str | None = None,
             by: str | None = None, level: str = PERSON, since: datetime | None = None,
             until: datetime | None = None, known_at: datetime | None = None,
             definitions: str | None = None) -> dict[str, Any]:
    """Days between stages: count, median, p75, p90, with backward moves and recycling."""
    return velocity_in(ledger.view(known_at, definitions), from_stage, to_stage, by, level,
                       since, until)


def velocity_in(view: View, from_stage: str | None = None, to_stage: str | None = None,
                by: str | None = None, level: str = PERSON, since: datetime | None = None,
                until: datetime | None = None) -> dict[str, Any]:
    defs = view.definitions
    report_base.check_level(level)
    report_base.check_window(since, until)
    if by is not None:
        report_base.check_choices([by], BY, "--by value")
    pairs = _pairs(defs, from_stage, to_stage)
    stages = sorted({s for pair in pairs for s in pair}, key=defs.order.__getitem__)
    with view.engine.connect() as conn:
        stamps = analytics.stamps_in(conn, level, stages)
        moves = analytics.move_times(conn, level, [a for a, _ in pairs], since, until)
    first: dict[str, dict[str, tuple[datetime, bool]]] = defaultdict(dict)
    for row in stamps:
        first[row["subject_id"]][row["stage"]] = (row["first_reached_at"], bool(row["inferred"]))
    entries, backward = _move_counts(moves, by)
    rows = []
    for a, b in pairs:
        durations = _durations(first, a, b, by, since, until)
        buckets = [None] if not by else sorted(
            set(durations) | {k for s, k in entries if s == a}
            | {k for s, k in backward if s == a})
        for bucket in buckets:
            found = durations.get(bucket, [])
            came, went = entries[(a, bucket)], backward[(a, bucket)]
            out = {by: bucket} if by else {}
            out |= {"from_stage": a, "to_stage": b, "count": len(found),
                    "inferred": sum(i for _, i in found),
                    **summary_days([d for d, _ in found]),
                    "entries": came, "backward_moves": went, "recycle_rate": share(went, came)}
            rows.append(out)
    document = report_base.header(view, level=level, from_stage=from_stage,
                                  to_stage=to_stage, by=by, since=since, until=until)
    document |= {"percentiles": PERCENTILE_RULE, "rows": rows}
    return document


def _pairs(defs: Any, from_stage: str | None, to_stage: str | None) -> list[tuple[str, str]]:
    if (from_stage is None) != (to_stage is None):
        raise LedgerError("give both --from-stage and --to-stage, or neither (every "
                          "consecutive pair of path stages)")
    if from_stage is not None and to_stage is not None:
        a = report_base.stage(defs, from_stage, "--from-stage").key
        b = report_base.stage(defs, to_stage, "--to-stage").key
        if a == b:
            raise LedgerError("--from-stage and --to-stage are the same stage")
        return [(a, b)]
    path = [s.key for s in defs.path_stages]
    return list(zip(path, path[1:], strict=False))


def _durations(first: dict[str, dict[str, tuple[datetime, bool]]], a: str, b: str,
               by: str | None, since: datetime | None, until: datetime | None
               ) -> dict[str | None, list[tuple[float, bool]]]:
    found: dict[str | None, list[tuple[float, bool]]] = defaultdict(list)
    for stamps in first.values():
        if a not in stamps or b not in stamps:
            continue
        (began, a_inferred), (ended, b_inferred) = stamps[a], stamps[b]
        if ended < began or (since is not None and ended < since) or \
                (until is not None and ended >= until):
            continue
        bucket = month_of(ended) if by else None
        found[bucket].append((days(ended - began), a_inferred or b_inferred))
    return found


def _move_counts(moves: list[dict[str, Any]], by: str | None
                 ) -> tuple[Counter[tuple[str, str | None]], Counter[tuple[str, str | None]]]:
    """Entries into each stage and backward moves out of it, by (stage, bucket)."""
    entries: Counter[tuple[str, str | None]] = Counter()
    backward: Counter[tuple[str, str | None]] = Counter()
    for move in moves:
        bucket = month_of(move["occurred_at"]) if by else None
        entries[(move["to_stage"], bucket)] += 1
        if move["direction"] == "backward":
            backward[(move["from_stage"], bucket)] += 1
    return entries, backward
