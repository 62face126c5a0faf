"""Boundaries of `report sla`, `report flags` and `report signals`, on SQLite and PostgreSQL
(their queries are written per dialect): microseconds, an interval of exactly the SLA limit,
a flag cleared and a membership ended exactly at the as-of moment, ids with quotes and
letters that collations order differently from Python.

Persons (2024, UTC; mql_follow_up is 24h):

    o'brien   mql 03-01T23:59:59.999999 -> verified 03-02T23:59:59.999999: exactly 24h
              linked to o'hara & "co" from 03-01T00:00:00.000001; hand raise 03-02 in mql
    q"uote    mql 03-01T10:00:00.000001 -> verified 03-02T10:00:00.000002: 24h and 1µs
              webinar 02-01T00:00:00.5 before any stage
    Zed       mql 03-05 (open); linked to o'hara & "co" 02-01, to other 03-05; webinar 03-01
    émile     mql 03-05T12:00:00.5 (open); webinar 03-01

o'hara & "co": renewal raised 03-01, cleared 03-10.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_facts import flag, hand, link, status, write_jsonl
from report_support import Run, ok

OBRIEN, QUOTE, ZED, EMILE = "o'brien", 'q"uote', "Zed", "émile"
ACCOUNT = 'o\'hara & "co"'
FACTS = [
    status(OBRIEN, "marketingqualifiedlead", "2024-03-01T23:59:59.999999Z"),
    status(OBRIEN, "lead", "2024-03-02T23:59:59.999999Z"),
    status(QUOTE, "marketingqualifiedlead", "2024-03-01T10:00:00.000001Z"),
    status(QUOTE, "lead", "2024-03-02T10:00:00.000002Z"),
    status(ZED, "marketingqualifiedlead", "2024-03-05T00:00:00Z"),
    status(EMILE, "marketingqualifiedlead", "2024-03-05T12:00:00.5Z"),
    link(OBRIEN, ACCOUNT, "2024-03-01T00:00:00.000001Z"),
    link(ZED, ACCOUNT, "2024-02-01T00:00:00Z"),
    link(ZED, "other", "2024-03-05T00:00:00Z"),
    flag(ACCOUNT, "renewal", "raised", "2024-03-01T00:00:00Z"),
    flag(ACCOUNT, "renewal", "cleared", "2024-03-10T00:00:00Z"),
    hand(OBRIEN, "demo_request", "high", "2024-03-02T00:00:00Z"),
    hand(QUOTE, "webinar", None, "2024-02-01T00:00:00.5Z"),
    hand(ZED, "webinar", None, "2024-03-01T00:00:00Z"),
    hand(EMILE, "webinar", None, "2024-03-01T00:00:00Z"),
]


@pytest.fixture
def db(run: Run, store_url: str, tmp_path: Path) -> str:
    assert run("--db", store_url, "init", "--definitions", "b2b-2024").exit_code == 0
    ok(run("--db", store_url, "import", str(write_jsonl(tmp_path / "f.jsonl", FACTS))))
    return store_url


def report(run: Run, db: str, *args: str) -> dict:
    return json.loads(ok(run("--db", db, "report", *args, "--format", "json")))


def test_sla_limits_are_exact_to_the_microsecond(run: Run, db: str) -> None:
    """24h exactly (across a second boundary at .999999) is within; 24h and 1µs is over."""
    document = report(run, db, "sla", "--as-of", "2024-03-04", "--sla", "mql_follow_up")
    assert document["summary"][0] | {"sla": None} == {
        "sla": None, "stage": "mql", "within": "24h", "intervals": 2, "in_sla": 1,
        "breached": 1, "open": 0, "breaching_now": 0, "breach_rate": 0.5}
    assert document["rows"] == [{
        "sla": "mql_follow_up", "subject_type": "person", "subject_id": QUOTE, "stage": "mql",
        "entered_at": "2024-03-01T10:00:00.000001Z", "exited_at": "2024-03-02T10:00:00.000002Z",
        "status": "breached", "hours_in_stage": 24.0, "hours_over": 0.0}]


def test_an_open_interval_breaches_one_microsecond_after_the_limit(run: Run, db: str) -> None:
    at_limit = report(run, db, "sla", "--as-of", "2024-03-06T00:00:00Z", "--sla",
                      "mql_follow_up", "--since", "2024-03-05")
    assert (at_limit["summary"][0]["open"], at_limit["rows"]) == (2, [])
    over = report(run, db, "sla", "--as-of", "2024-03-06T00:00:00.000001Z", "--sla",
                  "mql_follow_up", "--since", "2024-03-05")
    assert [(r["subject_id"], r["status"], r["exited_at"]) for r in over["rows"]] == [
        (ZED, "breaching_now", None)]


def test_breaches_are_ordered_by_code_point(run: Run, db: str) -> None:
    """Python's order ('Z' < 'q' < 'é'), whatever the database's collation."""
    document = report(run, db, "sla", "--as-of", "2024-03-07", "--sla", "mql_follow_up")
    assert [(r["subject_id"], r["status"], r["hours_in_stage"]) for r in document["rows"]] \
        == [(ZED, "breaching_now", 48.0), (QUOTE, "breached", 24.0),
            (EMILE, "breaching_now", 36.0)]


def test_a_membership_ended_at_as_of_carries_no_flag(run: Run, db: str) -> None:
    """Zed left the account at 03-05 exactly; o'brien joined a microsecond after the
    renewal was raised."""
    document = report(run, db, "flags", "--as-of", "2024-03-05")
    assert document["summary"] == [{"flag": "renewal", "accounts": 1, "persons": 1},
                                   {"flag": "upgrade", "accounts": 0, "persons": 0},
                                   {"flag": "at_risk", "accounts": 0, "persons": 0}]
    assert [(r["subject_type"], r["subject_id"], r["flagged_since"], r["stage"])
            for r in document["rows"]] == [
        ("account", ACCOUNT, "2024-03-01T00:00:00Z", "verified"),
        ("person", OBRIEN, "2024-03-01T00:00:00.000001Z", "verified")]
    before = report(run, db, "flags", "--as-of", "2024-03-04T23:59:59.999999Z")
    assert [r["subject_id"] for r in before["rows"]] == [ACCOUNT, ZED, OBRIEN]


def test_a_flag_cleared_at_as_of_is_not_active(run: Run, db: str) -> None:
    just_before = report(run, db, "flags", "--as-of", "2024-03-09T23:59:59.999999Z")
    assert [r["subject_id"] for r in just_before["rows"]] == [ACCOUNT, OBRIEN]
    assert report(run, db, "flags", "--as-of", "2024-03-10")["rows"] == []


def test_signals_with_quoted_ids_in_code_point_order(run: Run, db: str) -> None:
    document = report(run, db, "signals", "--reason", "engaged", "--reason",
                      "unlisted_kind")
    assert [(r["subject_id"], r["occurred_at"], r["stage"], r["reason"])
            for r in document["rows"]] == [
        (ZED, "2024-03-01T00:00:00Z", None, "unlisted_kind"),
        (OBRIEN, "2024-03-02T00:00:00Z", "mql", "engaged"),
        (QUOTE, "2024-02-01T00:00:00.500000Z", None, "unlisted_kind"),
        (EMILE, "2024-03-01T00:00:00Z", None, "unlisted_kind")]
    assert document["summary"] == [{"reason": "engaged", "count": 1},
                                   {"reason": "unlisted_kind", "count": 3}]
