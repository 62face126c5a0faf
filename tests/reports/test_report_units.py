"""Pure pieces the analytics reports rest on: calendar periods, and the hand-raise detail
derivation keeps for `report signals` (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, literal, select
from sqlalchemy.dialects import sqlite

from lifecycle.domain.definitions import load_definitions
from lifecycle.domain.derivation import derive_subject
from lifecycle.domain.facts import PERSON, Subject, parse_fact
from lifecycle.domain.periods import month_of, period_start, periods
from lifecycle.domain.recorded import RecordedFact
from lifecycle.domain.starters import starter_text
from lifecycle.reports.stats import hours, micro_hours
from projections.instants import epoch_micros
from projections.queries.dialect import EpochMicros


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_weeks_start_on_monday_and_months_roll_over() -> None:
    assert period_start(at("2024-01-24T15:00:00"), "week") == at("2024-01-22T00:00:00")
    assert period_start(at("2024-01-22T00:00:00"), "week") == at("2024-01-22T00:00:00")
    cuts = periods(at("2023-12-15T00:00:00"), at("2024-02-01T00:00:00"), "month")
    assert [(p.label, p.start, p.end) for p in cuts] == [
        ("2023-12", at("2023-12-15T00:00:00"), at("2024-01-01T00:00:00")),
        ("2024-01", at("2024-01-01T00:00:00"), at("2024-02-01T00:00:00"))]
    assert [p.label for p in periods(at("2024-12-30T00:00:00"), at("2025-01-07T00:00:00"),
                                     "week")] == ["2024-12-30", "2025-01-06"]
    assert month_of(datetime.fromisoformat("2024-03-01T00:30:00+01:00")) == "2024-02"


def test_hand_raises_that_move_nobody_keep_why_and_the_stage() -> None:
    definitions = load_definitions(starter_text("b2b-2024") or "")
    raw = [
        {"type": "hand_raised", "person_id": "x", "kind": "demo_request", "fit": "low",
         "occurred_at": "2024-01-01T00:00:00Z", "campaign": "c1"},
        {"type": "hand_raised", "person_id": "x", "kind": "demo_request", "fit": "high",
         "occurred_at": "2024-01-02T00:00:00Z"},
        {"type": "hand_raised", "person_id": "x", "kind": "contact_sales", "fit": "high",
         "occurred_at": "2024-01-03T00:00:00Z", "actor": "form"},
        {"type": "disqualified", "person_id": "x", "occurred_at": "2024-01-04T00:00:00Z"},
        {"type": "hand_raised", "person_id": "x", "kind": "demo_request", "fit": "high",
         "occurred_at": "2024-01-05T00:00:00Z"},
        {"type": "hand_raised", "person_id": "x", "kind": "webinar",
         "occurred_at": "2024-01-06T00:00:00Z"},
    ]
    recorded = [RecordedFact(f, f.event_id(), at("2025-01-01T00:00:00"), n + 1)
                for n, f in enumerate(parse_fact(r) for r in raw)]
    history = derive_subject(definitions, Subject(PERSON, "x"), recorded)
    details = [history.outcomes[r.event_id].hand_raise for r in recorded]
    assert details[1] is None and details[3] is None  # the mql move and the disqualification
    assert [(d.reason, d.stage, d.kind, d.fit) for d in details if d is not None] == [
        ("low_fit", None, "demo_request", "low"),
        ("engaged", "mql", "contact_sales", "high"),
        ("exit", "disqualified", "demo_request", "high"),
        ("unlisted_kind", "disqualified", "webinar", None)]
    assert details[0] is not None and details[0].cause.campaign == "c1"
    assert details[2] is not None and details[2].cause.actor == "form"


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_micro_hours_is_hours_of_a_timedelta_to_the_last_bit(microseconds: int) -> None:
    """`report sla` gets durations from SQL as integer microseconds: the hours it prints
    are those the timedelta arithmetic printed."""
    assert micro_hours(microseconds) == hours(timedelta(microseconds=microseconds))


def test_epoch_micros_is_exact() -> None:
    assert epoch_micros(datetime(2024, 3, 1, 23, 59, 59, 999_999, tzinfo=UTC)) == \
        1_709_337_599_999_999


@pytest.mark.parametrize("stored", ["1970-01-01 00:00:00.000000", "2024-02-29 12:00:00.500000",
                                    "2024-03-01 23:59:59.999999"])
def test_epoch_micros_in_sqlite_with_and_without_unixepoch(stored: str) -> None:
    """A bare dialect knows no SQLite version (strftime, as before 3.38); an engine's
    knows its own (unixepoch from 3.38). Both are exact, .999999 included."""
    engine = create_engine("sqlite://")
    expected = epoch_micros(datetime.fromisoformat(stored).replace(tzinfo=UTC))
    with engine.connect() as conn:
        for dialect in (sqlite.dialect(), engine.dialect):
            sql = select(EpochMicros(literal(stored))).compile(
                dialect=dialect, compile_kwargs={"literal_binds": True})
            assert conn.exec_driver_sql(str(sql)).scalar() == expected, str(sql)


def test_steps_pair_each_stamp_with_those_reached_at_or_after_it() -> None:
    """`lc_steps` (what funnel and velocity read) holds a pair (A, B) exactly when B was
    first reached at or after A (SPEC §4 funnel/velocity): stages skipped on the way up
    are reached at the same instant, so they pair both ways; the time is exact."""
    from projections.rows import steps_of

    definitions = load_definitions(starter_text("b2b-2024") or "")
    raw = [
        {"type": "status_changed", "person_id": "y", "field": "lifecycle_stage",
         "value": "lead", "occurred_at": "2024-01-01T00:00:00Z", "campaign": "spring"},
        # skips mql: it is stamped, inferred, at the same instant as sal
        {"type": "status_changed", "person_id": "y", "field": "Status",
         "value": "Working - Contacted", "occurred_at": "2024-01-03T06:00:00.000001Z"},
    ]
    recorded = [RecordedFact(f, f.event_id(), at("2025-01-01T00:00:00"), n + 1)
                for n, f in enumerate(parse_fact(r) for r in raw)]
    history = derive_subject(definitions, Subject(PERSON, "y"), recorded)
    steps = {(s["from_stage"], s["to_stage"]): s
             for s in steps_of(PERSON, "y", history.stamps)}
    reached = {s.stage for s in history.stamps}
    assert {"verified", "mql", "sal"} <= reached
    assert ("sal", "verified") not in steps and ("mql", "verified") not in steps
    assert ("mql", "sal") in steps and ("sal", "mql") in steps  # the same instant
    assert steps["mql", "sal"]["elapsed_us"] == 0
    assert steps["verified", "sal"]["elapsed_us"] == (2 * 86_400 + 6 * 3_600) * 10**6 + 1
    assert steps["verified", "mql"]["to_inferred"] is True
    assert steps["verified", "mql"]["from_inferred"] is False
    assert steps["verified", "sal"]["from_campaign"] == "spring"
    assert all(s["to_at"] >= s["from_at"] for s in steps.values())
