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

from collections import Counter
from datetime import datetime
from typing import Any

from lifecycle.domain.errors import LedgerError
from lifecycle.domain.facts import PERSON, plural
from lifecycle.reports import base as report_base
from lifecycle.reports.base import scope
from lifecycle.reports.stats import PERCENTILE_RULE, share, summary_sorted
from projections.queries import analytics
from projections.view import View

BY = ("month",)
COLUMNS = ["from_stage", "to_stage", "count", "inferred", "median_days", "p75_days",
           "p90_days", "entries", "backward_moves", "recycle_rate"]


def columns(by: str | None) -> list[str]:
    return ([by] if by else []) + COLUMNS


def velocity(view: View, from_stage: str | None = None, to_stage: str | None = None,
                by: str | None = None, level: str = PERSON, since: datetime | None = None,
                until: datetime | None = None) -> dict[str, Any]:
    """Days between stages: count, median, p75, p90, with backward moves and recycling."""
    defs = view.definitions
    report_base.check_level(level)
    report_base.check_window(since, until)
    if by is not None:
        report_base.check_choices([by], BY, "--by value")
    pairs = _pairs(defs, from_stage, to_stage)
    sources = sorted({a for a, _ in pairs}, key=defs.order.__getitem__)
    durations: dict[tuple[str, str], dict[str | None, list[int]]] = {}
    inferred: Counter[tuple[str, str, str | None]] = Counter()
    with view.connect() as conn:
        for a, b in pairs:
            found: dict[str | None, list[int]] = {}
            for bucket, _, in_bucket_inferred, ordered in analytics.pair_steps(
                    conn, level, a, b, since, until, by is not None):
                found[bucket] = ordered  # microseconds, ascending
                inferred[a, b, bucket] = in_bucket_inferred
            durations[a, b] = found
        entries, backward = _move_counts(
            analytics.move_totals(conn, level, since, until, by is not None), sources)
    rows = []
    for a, b in pairs:
        found = durations[a, b]
        buckets: list[str | None] = [None] if not by else sorted(  # type: ignore[type-var]
            set(found) | {k for s, k in entries if s == a}
            | {k for s, k in backward if s == a})
        for bucket in buckets:
            values = found.get(bucket, [])
            came, went = entries[(a, bucket)], backward[(a, bucket)]
            out: dict[str, Any] = {by: bucket} if by else {}
            out |= {"from_stage": a, "to_stage": b, "count": len(values),
                    "inferred": inferred[a, b, bucket], **summary_sorted(values),
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


def _move_counts(totals: list[analytics.MoveTotal], stages: list[str]
                 ) -> tuple[Counter[tuple[str, str | None]], Counter[tuple[str, str | None]]]:
    """Moves into each of `stages`, and backward moves out of each, by (stage, month)."""
    entries: Counter[tuple[str, str | None]] = Counter()
    backward: Counter[tuple[str, str | None]] = Counter()
    for before, after, direction, month, n in totals:
        if after in stages:
            entries[after, month] += n
        if direction == "backward" and before in stages:
            backward[before, month] += n
    return entries, backward


def caption(document: dict[str, Any]) -> str:
    return (f"{plural(document['level'])}: days from first reaching from_stage to first reaching "
            "to_stage (inferred stamps count; `inferred` says how many). Percentiles: "
            f"{document['percentiles']}. recycle_rate = backward_moves / entries of "
            f"from_stage. {scope(document)}")
