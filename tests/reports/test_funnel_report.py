"""`report funnel`: cohorts, inferred stamps, shares and medians, worked by hand
(see `report_facts`)."""

from __future__ import annotations

from report_support import Run, assert_json, ok

from lifecycle.reports.funnel import COUNTING

LABELS = {"new": "New/Unverified", "verified": "Verified", "mql": "Marketing Qualified",
          "sal": "Sales Accepted/Working", "meeting_set": "Meeting Set",
          "sql": "Sales Qualified", "late_stage": "Late Stage Opportunity",
          "customer": "Customer"}


def row(stage: str, cohort: int, reached: int, inferred: int, of_cohort: float | None,
        of_previous: float | None, median: float | None, **group: str | None) -> dict:
    return {**group, "stage": stage, "label": LABELS[stage], "cohort": cohort,
            "reached": reached, "inferred": inferred, "share_of_cohort": of_cohort,
            "share_of_previous": of_previous, "median_days": median}


#: January's cohort of `new`: p1 (01-01), p2 (01-10), p3 (01-31, inferred when it entered
#: at verified). p5 (one second before) and p4 (02-01, the exclusive end) are out.
JANUARY = [
    row("new", 3, 3, 1, 1.0, None, None),
    row("verified", 3, 3, 0, 1.0, 1.0, 2.0),          # 2, 10, 0 days
    row("mql", 3, 3, 0, 1.0, 1.0, 5.0),               # 4, 10, 5 days
    row("sal", 3, 1, 0, 0.3333, 0.3333, 5.0),         # p1 only
    row("meeting_set", 3, 1, 1, 0.3333, 1.0, 15.0),   # inferred when p1 skipped to sql
    row("sql", 3, 1, 0, 0.3333, 1.0, 15.0),
    row("late_stage", 3, 0, 0, 0.0, 0.0, None),
    row("customer", 3, 0, 0, 0.0, None, None),         # nobody reached the stage before
]


def document(rows: list[dict], cohort: int, start: str | None = "2024-01-01T00:00:00Z",
             end: str | None = "2024-02-01T00:00:00Z", by: str | None = None,
             entry: str = "new", level: str = "person") -> dict:
    return {"entry_stage": entry, "level": level, "from": start, "to": end, "by": by,
            "known_at": None, "definitions_version": "b2b-2024", "cohort": cohort,
            "counting": COUNTING, "rows": rows}


def funnel(run: Run, db: str, *args: str) -> str:
    return ok(run("--db", db, "report", "funnel", *args))


def test_funnel_json(run: Run, db: str) -> None:
    out = funnel(run, db, "--entry-stage", "new", "--from", "2024-01-01", "--to",
                 "2024-02-01", "--format", "json")
    assert_json(out, document(JANUARY, 3))


def test_cohort_bounds_are_inclusive_then_exclusive(run: Run, db: str) -> None:
    """p4 entered at 2024-02-01T00:00:00Z: in February's cohort, not in January's; p5 at
    23:59:59 on 2023-12-31 is in neither."""
    out = funnel(run, db, "--from", "2024-02-01", "--to", "2024-03-01", "--format", "csv")
    assert out.splitlines()[1] == "new,New/Unverified,1,1,0,1.0,,"
    one_second = funnel(run, db, "--from", "2023-12-31T23:59:59Z", "--to",
                        "2024-01-01T00:00:00Z", "--format", "csv")
    assert one_second.splitlines()[1] == "new,New/Unverified,1,1,0,1.0,,"


def test_funnel_csv(run: Run, db: str) -> None:
    out = funnel(run, db, "--from", "2024-01-01", "--to", "2024-02-01", "--format", "csv")
    assert out == (
        "stage,label,cohort,reached,inferred,share_of_cohort,share_of_previous,median_days\n"
        "new,New/Unverified,3,3,1,1.0,,\n"
        "verified,Verified,3,3,0,1.0,1.0,2.0\n"
        "mql,Marketing Qualified,3,3,0,1.0,1.0,5.0\n"
        "sal,Sales Accepted/Working,3,1,0,0.3333,0.3333,5.0\n"
        "meeting_set,Meeting Set,3,1,1,0.3333,1.0,15.0\n"
        "sql,Sales Qualified,3,1,0,0.3333,1.0,15.0\n"
        "late_stage,Late Stage Opportunity,3,0,0,0.0,0.0,\n"
        "customer,Customer,3,0,0,0.0,,\n")


def test_funnel_table_says_inferred_stamps_count(run: Run, db: str) -> None:
    out = funnel(run, db, "--from", "2024-01-01", "--to", "2024-02-01")
    assert "33.3%" in out and "Marketing Qualified" in out
    assert "3 persons first reached new from 2024-01-01T00:00:00Z" in out
    assert "inferred stamps (skipped stages) count" in " ".join(out.split())
    assert "inferred stamps" in run("report", "funnel", "--help").stdout


def test_funnel_by_source(run: Run, db: str) -> None:
    """Split by the source of the fact that first reached `new`: hubspot for p1 and p2,
    salesforce for p3 (its `lead` status, which inferred `new`)."""
    out = funnel(run, db, "--from", "2024-01-01", "--to", "2024-02-01", "--by", "source",
                 "--format", "json")
    hubspot = [row("new", 2, 2, 0, 1.0, None, None, source="hubspot"),
               row("verified", 2, 2, 0, 1.0, 1.0, 6.0, source="hubspot"),    # 2, 10
               row("mql", 2, 2, 0, 1.0, 1.0, 7.0, source="hubspot"),         # 4, 10
               row("sal", 2, 1, 0, 0.5, 0.5, 5.0, source="hubspot"),
               row("meeting_set", 2, 1, 1, 0.5, 1.0, 15.0, source="hubspot"),
               row("sql", 2, 1, 0, 0.5, 1.0, 15.0, source="hubspot"),
               row("late_stage", 2, 0, 0, 0.0, 0.0, None, source="hubspot"),
               row("customer", 2, 0, 0, 0.0, None, None, source="hubspot")]
    salesforce = [row("new", 1, 1, 1, 1.0, None, None, source="salesforce"),
                  row("verified", 1, 1, 0, 1.0, 1.0, 0.0, source="salesforce"),
                  row("mql", 1, 1, 0, 1.0, 1.0, 5.0, source="salesforce"),
                  row("sal", 1, 0, 0, 0.0, 0.0, None, source="salesforce"),
                  row("meeting_set", 1, 0, 0, 0.0, None, None, source="salesforce"),
                  row("sql", 1, 0, 0, 0.0, None, None, source="salesforce"),
                  row("late_stage", 1, 0, 0, 0.0, None, None, source="salesforce"),
                  row("customer", 1, 0, 0, 0.0, None, None, source="salesforce")]
    assert_json(out, document(hubspot + salesforce, 3, by="source"))


def test_funnel_by_campaign_csv(run: Run, db: str) -> None:
    """Subjects without a campaign make a group of their own (empty in CSV)."""
    out = funnel(run, db, "--from", "2024-01-01", "--to", "2024-02-01", "--by", "campaign",
                 "--entry-stage", "sql", "--format", "csv")
    assert out == (
        "campaign,stage,label,cohort,reached,inferred,share_of_cohort,share_of_previous,"
        "median_days\n"
        ",sql,Sales Qualified,1,1,0,1.0,,\n"
        ",late_stage,Late Stage Opportunity,1,0,0,0.0,0.0,\n"
        ",customer,Customer,1,0,0,0.0,,\n")


def test_funnel_from_a_later_stage_over_all_time(run: Run, db: str) -> None:
    """Without a window every subject that reached the entry stage is in the cohort."""
    out = funnel(run, db, "--entry-stage", "mql", "--format", "json")
    rows = [
        row("mql", 3, 3, 0, 1.0, None, None),
        row("sal", 3, 1, 0, 0.3333, 0.3333, 1.0),
        row("meeting_set", 3, 1, 1, 0.3333, 1.0, 11.0),
        row("sql", 3, 1, 0, 0.3333, 1.0, 11.0),
        row("late_stage", 3, 0, 0, 0.0, 0.0, None),
        row("customer", 3, 0, 0, 0.0, None, None),
    ]
    assert_json(out, document(rows, 3, start=None, end=None, entry="mql"))


def test_account_funnel(run: Run, db: str) -> None:
    """acme entered at customer on 02-15: every lower path stage is inferred then."""
    out = funnel(run, db, "--level", "account", "--format", "csv")
    assert out.splitlines()[1:] == [
        "new,New/Unverified,1,1,1,1.0,,",
        "verified,Verified,1,1,1,1.0,1.0,0.0",
        "mql,Marketing Qualified,1,1,1,1.0,1.0,0.0",
        "sal,Sales Accepted/Working,1,1,1,1.0,1.0,0.0",
        "meeting_set,Meeting Set,1,1,1,1.0,1.0,0.0",
        "sql,Sales Qualified,1,1,1,1.0,1.0,0.0",
        "late_stage,Late Stage Opportunity,1,1,1,1.0,1.0,0.0",
        "customer,Customer,1,1,0,1.0,1.0,0.0",
    ]


def test_empty_cohort(run: Run, db: str) -> None:
    out = funnel(run, db, "--from", "2030-01-01", "--to", "2030-02-01", "--format", "csv")
    assert out.splitlines()[1] == "new,New/Unverified,0,0,0,,,"
    assert out.splitlines()[2] == "verified,Verified,0,0,0,,,"


def test_funnel_errors(run: Run, db: str) -> None:
    exit_stage = run("--db", db, "report", "funnel", "--entry-stage", "disqualified")
    assert exit_stage.exit_code == 1
    assert exit_stage.stderr == ("Error: --entry-stage: 'disqualified' is an exit stage; a "
                                 "funnel starts at a path or off-path stage\n")
    unknown = run("--db", db, "report", "funnel", "--entry-stage", "nope")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("Error: --entry-stage: unknown stage 'nope' (stages: new,")
    backwards = run("--db", db, "report", "funnel", "--from", "2024-02-01", "--to",
                    "2024-01-01")
    assert backwards.exit_code == 1 and "the window is empty" in backwards.stderr
    assert run("--db", db, "report", "funnel", "--by", "actor").exit_code == 2
