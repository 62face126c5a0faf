"""`report sla`: SPEC §4.6 on the hand-worked ledger (mql_follow_up 24h, sal_to_meeting 14d).

Intervals in mql: p1 [01-05, 01-06) exactly 24h: in the SLA (a breach must last longer);
p2 [01-20, 01-25) 5 days; p3 [02-05, open). In sal: p1 [01-06, 01-16) 10 days.
"""

from __future__ import annotations

import json

from report_support import Run, assert_json, ok

COLUMNS = ("sla,subject_type,subject_id,stage,entered_at,exited_at,status,hours_in_stage,"
           "hours_over\n")


def summary(name: str, stage: str, within: str, intervals: int, in_sla: int, breached: int,
            open_: int, now: int, rate: float | None) -> dict:
    return {"sla": name, "stage": stage, "within": within, "intervals": intervals,
            "in_sla": in_sla, "breached": breached, "open": open_, "breaching_now": now,
            "breach_rate": rate}


def breach(pid: str, entered: str, exited: str | None, status: str, hours: float,
           over: float) -> dict:
    return {"sla": "mql_follow_up", "subject_type": "person", "subject_id": pid,
            "stage": "mql", "entered_at": entered, "exited_at": exited, "status": status,
            "hours_in_stage": hours, "hours_over": over}


def test_sla_json(run: Run, store_db: str) -> None:
    """As of 02-07 06:00: p2 breached (120h, 96h over), p3 still in mql for 54h."""
    out = ok(run("--db", store_db, "report", "sla", "--as-of", "2024-02-07T06:00:00Z",
                 "--format", "json"))
    assert_json(out, {
        "as_of": "2024-02-07T06:00:00Z", "level": "person", "since": None,
        "known_at": None, "definitions_version": "b2b-2024",
        "summary": [summary("mql_follow_up", "mql", "24h", 3, 1, 1, 0, 1, 0.6667),
                    summary("sal_to_meeting", "sal", "14d", 1, 1, 0, 0, 0, 0.0)],
        "rows": [breach("p2", "2024-01-20T00:00:00Z", "2024-01-25T00:00:00Z", "breached",
                        120.0, 96.0),
                 breach("p3", "2024-02-05T00:00:00Z", None, "breaching_now", 54.0, 30.0)],
    })


def test_an_interval_exited_after_as_of_is_open(run: Run, store_db: str) -> None:
    """As of 01-22, p2 has been in mql for 48h (it leaves on 01-25): breaching now, no
    exit shown. p3 has not entered yet; p1's 24h exactly is within."""
    out = ok(run("--db", store_db, "report", "sla", "--as-of", "2024-01-22", "--format", "csv"))
    assert out == COLUMNS + ("mql_follow_up,person,p2,mql,2024-01-20T00:00:00Z,,"
                             "breaching_now,48.0,24.0\n")


def test_open_and_within(run: Run, store_db: str) -> None:
    out = ok(run("--db", store_db, "report", "sla", "--as-of", "2024-02-05T12:00:00Z", "--sla",
                 "mql_follow_up", "--since", "2024-02-01", "--format", "json"))
    document = json.loads(out)
    assert document["summary"] == [summary("mql_follow_up", "mql", "24h", 1, 0, 0, 1, 0, 0.0)]
    assert document["rows"] == []
    assert document["since"] == "2024-02-01T00:00:00Z"


def test_sla_table(run: Run, store_db: str) -> None:
    out = ok(run("--db", store_db, "report", "sla", "--as-of", "2024-02-07T06:00:00Z"))
    assert "SLA summary" in out and "breaching_now" in out and "66.7%" in out
    assert "2 breach(es) of persons as of 2024-02-07T06:00:00Z" in out


def test_no_intervals_at_account_level(run: Run, store_db: str) -> None:
    out = ok(run("--db", store_db, "report", "sla", "--as-of", "2024-12-31", "--level", "account",
                 "--format", "csv"))
    assert out == COLUMNS


def test_unknown_sla(run: Run, store_db: str) -> None:
    result = run("--db", store_db, "report", "sla", "--as-of", "now", "--sla", "nope")
    assert (result.exit_code, result.stderr) == (
        1, "Error: --sla: no SLA 'nope' in definitions b2b-2024 (SLAs: mql_follow_up, "
           "sal_to_meeting)\n")
    assert run("--db", store_db, "report", "sla").exit_code == 2  # --as-of is required


def test_only_the_worst_breaches_keep_the_whole_summary(store_db: str) -> None:
    """What `report html` asks for: the summary counts every breach, the rows are the
    longest over their limit (ties by subject id)."""
    from datetime import UTC, datetime

    from lifecycle.application.ledger import Ledger
    from lifecycle.reports import sla

    as_of = datetime(2024, 6, 1, tzinfo=UTC)
    with Ledger(store_db) as ledger:
        full = sla.sla(ledger.view(), as_of)
        assert len(full["rows"]) >= 2
        ranked = sorted(full["rows"], key=lambda r: (-r["hours_over"], r["subject_id"]))
        for worst in (1, len(full["rows"]) + 5):
            some = sla.sla(ledger.view(), as_of, worst=worst)
            assert some["summary"] == full["summary"]
            assert some["rows"] == ranked[:worst]
