"""Rows for the read-model tables, made from derived histories (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table

from lifecycle.domain.facts import ACCOUNT, OPPORTUNITY, PERSON
from lifecycle.domain.history import Stamp, SubjectHistory
from projections import tables
from projections.instants import MICROSECOND, epoch_day

Rows = dict[Any, list[dict[str, Any]]]
#: (summary table, its primary key, a count column) -> how many.
Summary = Counter[tuple[Table, tuple[Any, ...], str]]


def empty_rows() -> Rows:
    return {table: [] for table in tables.VIEW_TABLES}


def add_history(rows: Rows, history: SubjectHistory) -> None:
    """Append the rows one subject's history projects to.

    (Dict displays with every key written out: a rebuild makes half a million of these,
    and `{**key, ...}` costs twice as much.)"""
    kind, sid = history.subject
    last = history.steps[-1] if history.steps else None
    if last is not None:
        rows[tables.current].append(
            {"subject_type": kind, "subject_id": sid, "stage": last.stage, "since": last.at})
    append = rows[tables.stamps].append
    for stamp in history.stamps:
        snapshot = stamp.snapshot
        cause = snapshot.cause
        append({
            "subject_type": kind, "subject_id": sid, "stage": stamp.stage,
            "first_reached_at": stamp.first_reached_at,
            "last_reached_at": stamp.last_reached_at, "times_reached": stamp.times_reached,
            "inferred": stamp.inferred, "event_id": str(cause.event_id),
            "fact_type": cause.type, "source": cause.source, "source_id": cause.source_id,
            "actor": cause.actor, "campaign": cause.campaign, "value": cause.value,
            "from_stage": snapshot.from_stage, "account_id": snapshot.account_id,
        })
    rows[tables.steps] += steps_of(kind, sid, history.stamps)
    append = rows[tables.moves].append
    for ordinal, move in enumerate(history.transitions):
        append({
            "subject_type": kind, "subject_id": sid, "ordinal": ordinal,
            "occurred_at": move.occurred_at, "from_stage": move.from_stage,
            "to_stage": move.to_stage, "direction": move.direction,
            "event_id": str(move.cause.event_id),
        })
    append = rows[tables.intervals].append
    for ordinal, interval in enumerate(history.intervals):
        append({
            "subject_type": kind, "subject_id": sid, "ordinal": ordinal,
            "stage": interval.stage, "entered_at": interval.entered_at,
            "exited_at": interval.exited_at,
        })
    for outcome in history.outcomes.values():
        hand = outcome.hand_raise
        if hand is not None:
            cause = hand.cause
            rows[tables.signals].append({
                "subject_type": kind, "subject_id": sid, "event_id": str(cause.event_id),
                "occurred_at": hand.occurred_at, "kind": hand.kind, "fit": hand.fit,
                "stage": hand.stage, "reason": hand.reason, "source": cause.source,
                "source_id": cause.source_id, "actor": cause.actor,
                "campaign": cause.campaign,
            })
    if kind == PERSON:
        for ordinal, link in enumerate(history.memberships):
            rows[tables.memberships].append({
                "person_id": sid, "ordinal": ordinal, "account_id": link.account_id,
                "start_at": link.start, "end_at": link.end,
            })
    if kind == OPPORTUNITY:
        for ordinal, opportunity_link in enumerate(history.opportunity_links):
            rows[tables.opportunity_links].append({
                "opportunity_id": sid, "ordinal": ordinal,
                "account_id": opportunity_link.account_id, "kind": opportunity_link.kind,
                "start_at": opportunity_link.start, "end_at": opportunity_link.end,
            })
    if kind == ACCOUNT:
        for ordinal, flag in enumerate(history.flags):
            rows[tables.flags].append({
                "account_id": sid, "ordinal": ordinal, "flag": flag.flag,
                "raised_at": flag.raised_at, "cleared_at": flag.cleared_at,
            })


def steps_of(kind: str, sid: str, stamps: Sequence[Stamp]) -> list[dict[str, Any]]:
    """`lc_steps` rows of subject (`kind`, `sid`): every ordered pair of `stamps` whose
    second was first reached at or after the first (both ways for stamps of the same
    instant)."""
    found = []
    # Each stamp's fields once, not once per pair.
    reached = [(stamp, stamp.stage, stamp.first_reached_at, stamp.inferred,
                stamp.snapshot.cause) for stamp in stamps]
    for start, from_stage, from_at, from_inferred, cause in reached:
        for end, to_stage, to_at, to_inferred, _ in reached:
            if end is start or to_at < from_at:
                continue
            found.append({
                "subject_type": kind, "subject_id": sid, "from_stage": from_stage,
                "to_stage": to_stage, "from_at": from_at, "to_at": to_at,
                "elapsed_us": (to_at - from_at) // MICROSECOND,
                "from_inferred": from_inferred, "to_inferred": to_inferred,
                "from_source": cause.source, "from_campaign": cause.campaign,
            })
    return found


def rows_for(histories: Iterable[SubjectHistory]) -> Rows:
    rows = empty_rows()
    for history in histories:
        add_history(rows, history)
    return rows


def summarize(rows: Mapping[Any, Iterable[Mapping[str, Any]]]) -> Summary:
    """The per-day counts (`lc_stage_days`, `lc_move_days`) of interval and move rows."""
    counts: Summary = Counter()
    for row in rows.get(tables.intervals, ()):
        kind, stage = row["subject_type"], row["stage"]
        counts[tables.stage_days, (kind, stage, epoch_day(row["entered_at"])), "entered"] += 1
        if row["exited_at"] is not None:
            counts[tables.stage_days, (kind, stage, epoch_day(row["exited_at"])),
                   "exited"] += 1
    for row in rows.get(tables.moves, ()):
        key = (row["subject_type"], epoch_day(row["occurred_at"]), row["from_stage"] or "",
               row["to_stage"], row["direction"])
        counts[tables.move_days, key, "moves"] += 1
    return counts


def summary_rows(counts: Summary) -> dict[Table, list[dict[str, Any]]]:
    """Rows of each summary table for `counts`: a key once, every count column filled,
    in key order (so concurrent writers update shared rows in the same order)."""
    merged: dict[Table, dict[tuple[Any, ...], dict[str, Any]]] = {
        table: {} for table in tables.SUMMARY_TABLES}
    for (table, key, column), n in counts.items():
        row = merged[table].get(key)
        if row is None:
            row = dict(zip((c.name for c in table.primary_key.columns), key, strict=True))
            row |= {c.name: 0 for c in table.columns if not c.primary_key}
            merged[table][key] = row
        row[column] += n
    return {table: [rows[key] for key in sorted(rows)] for table, rows in merged.items()}
