"""`report signals`, `report aging` and `report timeline` on the hand-worked ledger (see
`report_facts`)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from report_facts import FACTS, RETRACTED_HAND, event_id, status, write_jsonl
from report_support import Run, assert_json, ok

from lifecycle.domain.timeutil import format_instant
from lifecycle.reports.stats import PERCENTILE_RULE

SIGNAL_COLUMNS = ("subject_type,subject_id,occurred_at,stage,kind,fit,reason,campaign,"
                  "source,actor,event_id\n")


def signal(pid: str, when: str, stage: str, kind: str, fit: str | None, reason: str,
           campaign: str | None = None, source: str | None = None,
           actor: str | None = None, fact: dict | None = None) -> dict:
    found = fact or next(f for f in FACTS if f.get("person_id") == pid
                         and f["occurred_at"] == when and f["type"] == "hand_raised")
    return {"subject_type": "person", "subject_id": pid, "occurred_at": when,
            "stage": stage, "kind": kind, "fit": fit, "reason": reason, "campaign": campaign,
            "source": source, "actor": actor, "event_id": event_id(found)}


P1 = signal("p1", "2024-01-10T00:00:00Z", "sal", "contact_sales", "medium", "engaged",
            "pricing-page", "hubspot", "form: contact us")
P2 = signal("p2", "2024-01-12T00:00:00Z", "new", "demo_request", "low", "low_fit",
            "ppc-brand", "paid_search")
S1 = signal("s1", "2024-01-04T00:00:00Z", "disqualified", "demo_request", "high", "exit",
            actor="sdr@example.com")


def signals_document(rows: list[dict], reasons: list[str], counts: list[int],
                     since: str | None = None, known_at: str | None = None) -> dict:
    return {"since": since, "until": None, "reasons": reasons, "known_at": known_at,
            "definitions_version": "b2b-2024",
            "summary": [{"reason": r, "count": c} for r, c in zip(reasons, counts,
                                                                   strict=True)],
            "rows": rows}


def test_signals_json(run: Run, store_db: str) -> None:
    """p1's first hand raise moved it (not listed); p2's of 01-22 was retracted."""
    out = ok(run("--db", store_db, "report", "signals", "--format", "json"))
    assert_json(out, signals_document([P1, P2, S1], ["engaged", "exit", "low_fit"],
                                      [1, 1, 1]))


def test_signals_since_and_reasons_csv(run: Run, store_db: str) -> None:
    out = ok(run("--db", store_db, "report", "signals", "--since", "2024-01-10", "--reason",
                 "unlisted_kind", "--reason", "engaged", "--format", "csv"))
    p3 = signal("p3", "2024-02-01T00:00:00Z", "verified", "webinar", None, "unlisted_kind",
                "webinar-b")
    assert out == SIGNAL_COLUMNS + (
        f"person,p1,2024-01-10T00:00:00Z,sal,contact_sales,medium,engaged,pricing-page,"
        f"hubspot,form: contact us,{P1['event_id']}\n"
        f"person,p3,2024-02-01T00:00:00Z,verified,webinar,,unlisted_kind,webinar-b,,,"
        f"{p3['event_id']}\n")


def test_signals_known_before_the_retraction(
        run: Run, store_ledger_db: tuple[str, datetime]) -> None:
    store_db, between = store_ledger_db
    out = ok(run("--db", store_db, "report", "signals", "--known-at", format_instant(between),
                 "--reason", "engaged", "--format", "json"))
    retracted = signal("p2", "2024-01-22T00:00:00Z", "mql", "contact_sales", "high",
                       "engaged", "retargeting", fact=RETRACTED_HAND)
    assert_json(out, signals_document([P1, retracted], ["engaged"], [2],
                                      known_at=format_instant(between)))


def test_signals_table(run: Run, store_db: str) -> None:
    out = ok(run("--db", store_db, "report", "signals"))
    assert "3 hand raise(s) that moved nobody" in out and "engaged 1" in out


def aging_row(stage: str, label: str, count: int = 0, median: float | None = None,
              p90: float | None = None, oldest: str | None = None,
              entered: str | None = None, days: float | None = None) -> dict:
    return {"stage": stage, "label": label, "count": count, "median_days": median,
            "p90_days": p90, "oldest_subject_id": oldest, "oldest_entered_at": entered,
            "oldest_days": days}


def test_aging_json(run: Run, db: str) -> None:
    """As of 02-07 06:00: new holds p4 (6.25 days) and p5 (37.25 days and a second),
    verified p2 (13.25), mql p3 (2.25), sql p1 (22.25), disqualified s1 (36.25)."""
    out = ok(run("--db", db, "report", "aging", "--as-of", "2024-02-07T06:00:00Z",
                 "--format", "json"))
    assert_json(out, {
        "as_of": "2024-02-07T06:00:00Z", "level": "person", "known_at": None,
        "definitions_version": "b2b-2024", "total": 6, "percentiles": PERCENTILE_RULE,
        "rows": [
            aging_row("new", "New/Unverified", 2, 21.75, 34.15, "p5",
                      "2023-12-31T23:59:59Z", 37.25),
            aging_row("verified", "Verified", 1, 13.25, 13.25, "p2",
                      "2024-01-25T00:00:00Z", 13.25),
            aging_row("nurture", "Nurture/Recycle"),
            aging_row("mql", "Marketing Qualified", 1, 2.25, 2.25, "p3",
                      "2024-02-05T00:00:00Z", 2.25),
            aging_row("sal", "Sales Accepted/Working"),
            aging_row("meeting_set", "Meeting Set"),
            aging_row("sql", "Sales Qualified", 1, 22.25, 22.25, "p1",
                      "2024-01-16T00:00:00Z", 22.25),
            aging_row("late_stage", "Late Stage Opportunity"),
            aging_row("customer", "Customer"),
            aging_row("churned", "Churned"),
            aging_row("disqualified", "Disqualified", 1, 36.25, 36.25, "s1",
                      "2024-01-02T00:00:00Z", 36.25),
            aging_row("not_a_target", "Not a Target"),
            aging_row("inactive", "No Longer at Company/Inactive"),
        ]})


def test_aging_csv_and_table(run: Run, db: str) -> None:
    out = ok(run("--db", db, "report", "aging", "--as-of", "2024-12-31", "--level",
                 "account", "--format", "csv"))
    assert out.splitlines()[0] == ("stage,label,count,median_days,p90_days,"
                                   "oldest_subject_id,oldest_entered_at,oldest_days")
    assert "customer,Customer,1,320.0,320.0,acme,2024-02-15T00:00:00Z,320.0" in out
    assert "new,New/Unverified,0,,,,," in out
    table = ok(run("--db", db, "report", "aging", "--as-of", "2024-12-31"))
    assert "No Longer at Company/Inactive" in table and "f3" in table


TIMELINE_HEADER = ("period,start,end,total,new,verified,nurture,mql,sal,meeting_set,sql,"
                   "late_stage,customer,churned,disqualified,not_a_target,inactive\n")


def test_timeline_monthly_csv(run: Run, db: str) -> None:
    """End of January: p4's entry at 02-01T00:00Z is not counted yet, p3 is in verified."""
    out = ok(run("--db", db, "report", "timeline", "--from", "2024-01-01", "--to",
                 "2024-03-01", "--every", "month", "--format", "csv"))
    assert out == TIMELINE_HEADER + (
        "2024-01,2024-01-01T00:00:00Z,2024-02-01T00:00:00Z,5,1,2,0,0,0,0,1,0,0,0,1,0,0\n"
        "2024-02,2024-02-01T00:00:00Z,2024-03-01T00:00:00Z,6,2,1,0,1,0,0,1,0,0,0,1,0,0\n")


def test_timeline_weeks_are_cut_to_the_window(run: Run, db: str) -> None:
    """Weeks start on Monday: 2024-01-22 (cut to start on Wednesday the 24th), 01-29,
    and 02-05 (cut to end on the 7th)."""
    out = ok(run("--db", db, "report", "timeline", "--from", "2024-01-24", "--to",
                 "2024-02-07", "--every", "week", "--format", "json"))
    keys = ["new", "verified", "nurture", "mql", "sal", "meeting_set", "sql", "late_stage",
            "customer", "churned", "disqualified", "not_a_target", "inactive"]

    def period(label: str, start: str, end: str, **counts: int) -> dict:
        return {"period": label, "start": start, "end": end, "total": sum(counts.values()),
                "counts": {k: counts.get(k, 0) for k in keys}}

    assert_json(out, {
        "from": "2024-01-24T00:00:00Z", "to": "2024-02-07T00:00:00Z", "every": "week",
        "level": "person", "known_at": None, "definitions_version": "b2b-2024",
        "stages": keys,
        "rows": [
            period("2024-01-22", "2024-01-24T00:00:00Z", "2024-01-29T00:00:00Z",
                   new=1, verified=1, sql=1, disqualified=1),
            period("2024-01-29", "2024-01-29T00:00:00Z", "2024-02-05T00:00:00Z",
                   new=2, verified=2, sql=1, disqualified=1),
            period("2024-02-05", "2024-02-05T00:00:00Z", "2024-02-07T00:00:00Z",
                   new=2, verified=1, mql=1, sql=1, disqualified=1),
        ]})


def test_timeline_without_a_window_spans_the_transitions(run: Run, db: str) -> None:
    """Accounts: acme's only transition is on 2024-02-15, so one month."""
    out = json.loads(ok(run("--db", db, "report", "timeline", "--level", "account",
                            "--format", "json")))
    assert (out["from"], out["to"]) == ("2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z")
    assert [(r["period"], r["total"], r["counts"]["customer"]) for r in out["rows"]] == [
        ("2024-02", 1, 1)]
    table = ok(run("--db", db, "report", "timeline", "--level", "account"))
    assert "accounts by stage at the end of each month" in table


REPORT_CALLS = [
    ["funnel"], ["velocity"], ["sla", "--as-of", "2024-02-07"], ["flags", "--as-of", "2024-03-20"],
    ["signals"], ["aging", "--as-of", "2024-02-07"], ["timeline"],
]


def test_every_report_takes_known_at_and_definitions(
        run: Run, ledger_db: tuple[str, datetime]) -> None:
    """Under the published b2b-2024 and known at a moment, each report says so, and known
    at a moment before anything was recorded there is nothing to report from."""
    db, between = ledger_db
    for call in REPORT_CALLS:
        out = json.loads(ok(run("--db", db, "report", *call, "--known-at",
                                format_instant(between), "--definitions", "b2b-2024",
                                "--format", "json")))
        assert (out["known_at"], out["definitions_version"]) == (
            format_instant(between), "b2b-2024"), call
        unknown = run("--db", db, "report", *call, "--definitions", "b2b-1999")
        assert unknown.exit_code == 1, call
        assert unknown.stderr.startswith("Error: no definitions 'b2b-1999' were published")
        early = run("--db", db, "report", *call, "--known-at", "2000-01-01")
        assert early.exit_code == 1, call
        assert "no definitions had been published by the --known-at time" in early.stderr


def test_aging_oldest_is_among_those_still_in_the_stage(run: Run, tmp_path: Path) -> None:
    """a1 and b1 entered mql at the same instant; a1 has left it by the as-of moment, so
    the oldest in mql is b1 although a1 sorts first."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    facts = [status("a1", "marketingqualifiedlead", "2024-03-01T00:00:00Z"),
             status("b1", "marketingqualifiedlead", "2024-03-01T00:00:00Z"),
             status("a1", "Working - Contacted", "2024-03-02T00:00:00Z", field="Status")]
    ok(run("--db", url, "init", "--definitions", "b2b-2024"))
    ok(run("--db", url, "import", str(write_jsonl(tmp_path / "f.jsonl", facts))))
    out = ok(run("--db", url, "report", "aging", "--as-of", "2024-03-03", "--format", "csv"))
    assert "mql,Marketing Qualified,1,2.0,2.0,b1,2024-03-01T00:00:00Z,2.0" in out
    assert "sal,Sales Accepted/Working,1,1.0,1.0,a1,2024-03-02T00:00:00Z,1.0" in out
