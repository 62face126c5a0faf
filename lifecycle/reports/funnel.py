"""`report funnel`: conversion of a cohort through the later path stages.

The cohort is every subject whose stamp for the entry stage was first reached in
[start, end). A later path stage (ranked above the entry stage) counts as reached when the
subject has a stamp for it first reached at or after the entry stage's: inferred stamps
(stages skipped on the way up, `stamp_skipped`) count, and the `inferred` column says how
many of the reached did so by an inferred stamp. Days are from first reaching the entry
stage to first reaching the stage; shares are of the cohort and of the stage before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lifecycle.domain.errors import LedgerError
from lifecycle.domain.facts import OPPORTUNITY, PERSON, plural
from lifecycle.reports import base as report_base
from lifecycle.reports.base import scope
from lifecycle.reports.stats import percentile_at, rounded, share
from projections.queries import analytics
from projections.view import View

BY = ("source", "campaign", "kind")
COLUMNS = ["stage", "label", "cohort", "reached", "inferred", "share_of_cohort",
           "share_of_previous", "median_days"]
COUNTING = ("a stage counts as reached when the subject has a stamp for it first reached "
            "at or after the entry stage; inferred stamps (skipped stages) count")


def columns(by: str | None) -> list[str]:
    return ([by] if by else []) + COLUMNS


def funnel(view: View, entry_stage: str | None = None, start: datetime | None = None,
              end: datetime | None = None, level: str = PERSON, by: str | None = None
              ) -> dict[str, Any]:
    """The funnel of the subjects that first reached `entry_stage` in [start, end)."""
    defs = view.definitions
    report_base.check_level(level)
    report_base.check_window(start, end)
    if by is not None:
        report_base.check_choices([by], BY, "--by value")
        if by == "kind" and level != OPPORTUNITY:
            raise LedgerError("--by kind: only opportunities have a kind; add "
                              "--level opportunity")
    if entry_stage is None and not defs.path_stages:
        raise LedgerError(f"definitions {defs.version} have no path stage: give --entry-stage")
    if entry_stage is None and level == OPPORTUNITY:
        entry_stage = _lowest_reached(view, level)
    entry = report_base.stage(defs, entry_stage or defs.path_stages[0].key, "--entry-stage")
    if entry.rank is None:
        raise LedgerError(f"--entry-stage: {entry.key!r} is an exit stage; a funnel starts "
                          "at a path or off-path stage")
    later = [s.key for s in defs.path_stages if (s.rank or 0) > entry.rank]
    reached: dict[tuple[Any, str], tuple[list[int], int]] = {}
    with view.connect() as conn:
        members = analytics.cohort_groups(conn, level, entry.key, start, end, by)
        for key in later:
            for group, _, inferred, durations in analytics.funnel_steps(
                    conn, level, entry.key, key, start, end, by):
                reached[group, key] = (durations, inferred)
    groups = {group: (size, inferred) for group, size, inferred in members}
    if by is None:
        groups.setdefault(None, (0, 0))  # every stage is listed, an empty cohort included
    order = sorted(groups, key=lambda g: (-groups[g][0], g is None, g or ""))
    rows = []
    for group in order:
        size, inferred = groups[group]
        rows += _group_rows(defs, entry.key, later, size, inferred, group, reached,
                            {by: group} if by else {})
    document = report_base.header(view, entry_stage=entry.key, level=level, **{"from": start},
                                  to=end, by=by)
    document |= {"cohort": sum(size for size, _ in groups.values()), "counting": COUNTING,
                 "rows": rows}
    return document


def _lowest_reached(view: View, level: str) -> str | None:
    """The lowest path stage some subject of `level` really reached (not only inferred):
    where opportunities start (a pipeline begins at its first stage, not at `new`)."""
    with view.connect() as conn:
        for stage in view.definitions.path_stages:
            if any(size > inferred for _, size, inferred in analytics.cohort_groups(
                    conn, level, stage.key, None, None, None)):
                return stage.key
    return None


def _group_rows(defs: Any, entry: str, later: list[str], size: int, inferred: int,
                group_key: Any, reached: dict[tuple[Any, str], tuple[list[int], int]],
                group: dict[str, Any]) -> list[dict[str, Any]]:
    first = {**group, "stage": entry, "label": defs.label(entry), "cohort": size,
             "reached": size, "inferred": inferred, "share_of_cohort": share(size, size),
             "share_of_previous": None, "median_days": None}
    rows, previous = [first], size
    for key in later:
        found, found_inferred = reached.get((group_key, key), ([], 0))
        count = len(found)  # microseconds, in order
        rows.append({**group, "stage": key, "label": defs.label(key), "cohort": size,
                     "reached": count, "inferred": found_inferred,
                     "share_of_cohort": share(count, size),
                     "share_of_previous": share(count, previous),
                     "median_days": rounded(percentile_at(count, 50, found.__getitem__))})
        previous = count
    return rows


def caption(document: dict[str, Any]) -> str:
    window = (f"first reached {document['entry_stage']} from {document['from'] or 'the start'}"
              f" to {document['to'] or 'now'}")
    return (f"{document['cohort']} {plural(document['level'])} {window}. Counting: "
            f"{document['counting']}; median_days from the entry stage. {scope(document)}")
