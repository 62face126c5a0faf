"""`report funnel`: conversion of a cohort through the later path stages.

The cohort is every subject whose stamp for the entry stage was first reached in
[start, end). A later path stage (ranked above the entry stage) counts as reached when the
subject has a stamp for it first reached at or after the entry stage's: inferred stamps
(stages skipped on the way up, `stamp_skipped`) count, and the `inferred` column says how
many of the reached did so by an inferred stamp. Days are from first reaching the entry
stage to first reaching the stage; shares are of the cohort and of the stage before.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from lifecycle import report_base
from lifecycle.facts import PERSON
from lifecycle.ledger import Ledger, LedgerError, View
from lifecycle.stats import days, median, rounded, share
from projections import analytics

BY = ("source", "campaign")
COLUMNS = ["stage", "label", "cohort", "reached", "inferred", "share_of_cohort",
           "share_of_previous", "median_days"]
COUNTING = ("a stage counts as reached when the subject has a stamp for it first reached "
            "at or after the entry stage; inferred stamps (skipped stages) count")


def columns(by: str | None) -> list[str]:
    return ([by] if by else []) + COLUMNS


def funnel(ledger: Ledger, entry_stage: str | None = None, start: datetime | None = None,
           end: datetime | None = None, level: str = PERSON, by: str | None = None,
           known_at: datetime | None = None, definitions: str | None = None
           ) -> dict[str, Any]:
    """The funnel of the subjects that first reached `entry_stage` in [start, end)."""
    return funnel_in(ledger.view(known_at, definitions), entry_stage, start, end, level, by)


def funnel_in(view: View, entry_stage: str | None = None, start: datetime | None = None,
              end: datetime | None = None, level: str = PERSON, by: str | None = None
              ) -> dict[str, Any]:
    defs = view.definitions
    report_base.check_level(level)
    report_base.check_window(start, end)
    if by is not None:
        report_base.check_choices([by], BY, "--by value")
    if entry_stage is None and not defs.path_stages:
        raise LedgerError(f"definitions {defs.version} have no path stage: give --entry-stage")
    entry = report_base.stage(defs, entry_stage or defs.path_stages[0].key, "--entry-stage")
    if entry.rank is None:
        raise LedgerError(f"--entry-stage: {entry.key!r} is an exit stage; a funnel starts "
                          "at a path or off-path stage")
    later = [s.key for s in defs.path_stages if (s.rank or 0) > entry.rank]
    with view.engine.connect() as conn:
        members = analytics.cohort(conn, level, entry.key, start, end)
        stamps = analytics.cohort_stamps(conn, level, entry.key, start, end, later)
    entered = {row["subject_id"]: row for row in members}
    reached: dict[str, dict[str, tuple[float, bool]]] = defaultdict(dict)
    for row in stamps:
        began = entered[row["subject_id"]]["first_reached_at"]
        if row["first_reached_at"] >= began:
            reached[row["subject_id"]][row["stage"]] = (
                days(row["first_reached_at"] - began), bool(row["inferred"]))
    groups: dict[str | None, list[str]] = defaultdict(list)
    if by is None:
        groups[None] = []  # every stage is listed, an empty cohort included
    for subject_id, row in entered.items():
        groups[row[by] if by else None].append(subject_id)
    order = sorted(groups, key=lambda g: (-len(groups[g]), g is None, g or ""))
    rows = []
    for group in order:
        rows += _group_rows(defs, entry.key, later, groups[group], entered, reached,
                            {by: group} if by else {})
    document = report_base.header(view, entry_stage=entry.key, level=level, **{"from": start},
                                  to=end, by=by)
    document |= {"cohort": len(entered), "counting": COUNTING, "rows": rows}
    return document


def _group_rows(defs: Any, entry: str, later: list[str], subjects: list[str],
                entered: dict[str, dict[str, Any]],
                reached: dict[str, dict[str, tuple[float, bool]]],
                group: dict[str, str | None]) -> list[dict[str, Any]]:
    size = len(subjects)
    first = {**group, "stage": entry, "label": defs.label(entry), "cohort": size,
             "reached": size, "inferred": sum(bool(entered[s]["inferred"]) for s in subjects),
             "share_of_cohort": share(size, size), "share_of_previous": None,
             "median_days": None}
    rows, previous = [first], size
    for key in later:
        found = [reached[s][key] for s in subjects if key in reached.get(s, {})]
        rows.append({**group, "stage": key, "label": defs.label(key), "cohort": size,
                     "reached": len(found), "inferred": sum(i for _, i in found),
                     "share_of_cohort": share(len(found), size),
                     "share_of_previous": share(len(found), previous),
                     "median_days": rounded(median([d for d, _ in found]))})
        previous = len(found)
    return rows
