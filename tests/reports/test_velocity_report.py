"""`report velocity`: durations between first reaching two stages, the percentile rule,
backward moves and recycle rates (see `report_facts`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_support import Run, assert_json, invoke, ok

from lifecycle.reports.stats import PERCENTILE_RULE, percentile

HEADER = ("from_stage,to_stage,count,inferred,median_days,p75_days,p90_days,entries,"
          "backward_moves,recycle_rate\n")


def test_percentile_rule_is_linear_interpolation() -> None:
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4], 75) == 3.25
    assert percentile([1, 2, 3, 4], 90) == pytest.approx(3.7)
    assert percentile([0, 2, 5], 75) == 3.5
    assert percentile([0, 2, 5], 90) == pytest.approx(4.4)
    assert percentile([7], 90) == 7
    assert percentile([], 50) is None
    assert percentile([1, 2], 0) == 1 and percentile([1, 2], 100) == 2


def pair(a: str, b: str, count: int, inferred: int, med: float | None, p75: float | None,
         p90: float | None, entries: int, backward: int, rate: float | None, **month: str
         ) -> dict:
    return {**month, "from_stage": a, "to_stage": b, "count": count, "inferred": inferred,
            "median_days": med, "p75_days": p75, "p90_days": p90, "entries": entries,
            "backward_moves": backward, "recycle_rate": rate}


def document(rows: list[dict], by: str | None = None, a: str | None = None,
             b: str | None = None) -> dict:
    return {"level": "person", "from_stage": a, "to_stage": b, "by": by, "since": None,
            "until": None, "known_at": None, "definitions_version": "b2b-2024",
            "percentiles": PERCENTILE_RULE, "rows": rows}


def test_every_consecutive_pair_json(run: Run, db: str) -> None:
    """new->verified: p1 2 days, p2 10, p3 0 (its new stamp was inferred at verified).
    verified->mql: p1 2, p2 0 (verified inferred at mql, really entered later), p3 5.
    Entries into new: p1, p2, p4, p5; p2 moved backward out of mql (1 of 3 entries)."""
    out = ok(run("--db", db, "report", "velocity", "--format", "json"))
    assert_json(out, document([
        pair("new", "verified", 3, 1, 2.0, 6.0, 8.4, 4, 0, 0.0),
        pair("verified", "mql", 3, 0, 2.0, 3.5, 4.4, 3, 0, 0.0),
        pair("mql", "sal", 1, 0, 1.0, 1.0, 1.0, 3, 1, 0.3333),
        pair("sal", "meeting_set", 1, 1, 10.0, 10.0, 10.0, 1, 0, 0.0),
        pair("meeting_set", "sql", 1, 1, 0.0, 0.0, 0.0, 0, 0, None),
        pair("sql", "late_stage", 0, 0, None, None, None, 1, 0, 0.0),
        pair("late_stage", "customer", 0, 0, None, None, None, 0, 0, None),
    ]))


def test_velocity_csv(run: Run, db: str) -> None:
    out = ok(run("--db", db, "report", "velocity", "--from-stage", "mql", "--to-stage",
                 "sal", "--format", "csv"))
    assert out == HEADER + "mql,sal,1,0,1.0,1.0,1.0,3,1,0.3333\n"


def test_velocity_by_month(run: Run, db: str) -> None:
    """new->mql grouped by the month mql was first reached: January p1 (4 days) and p2
    (10); February p3 (5, from an inferred new). Entries into new by month: 2023-12 p5,
    2024-01 p1 and p2, 2024-02 p4."""
    out = ok(run("--db", db, "report", "velocity", "--from-stage", "new", "--to-stage",
                 "mql", "--by", "month", "--format", "json"))
    assert_json(out, document([
        pair("new", "mql", 0, 0, None, None, None, 1, 0, 0.0, month="2023-12"),
        pair("new", "mql", 2, 0, 7.0, 8.5, 9.4, 2, 0, 0.0, month="2024-01"),
        pair("new", "mql", 1, 1, 5.0, 5.0, 5.0, 1, 0, 0.0, month="2024-02"),
    ], by="month", a="new", b="mql"))
    csv = ok(run("--db", db, "report", "velocity", "--from-stage", "new", "--to-stage",
                 "mql", "--by", "month", "--format", "csv"))
    assert csv.splitlines()[0] == "month," + HEADER.strip()
    assert csv.splitlines()[2] == "2024-01,new,mql,2,0,7.0,8.5,9.4,2,0,0.0"


def test_velocity_window(run: Run, db: str) -> None:
    """--since/--until select conversions by when the to-stage was first reached, and
    moves by when they happened."""
    out = ok(run("--db", db, "report", "velocity", "--from-stage", "new", "--to-stage",
                 "mql", "--since", "2024-01-10", "--until", "2024-02-01", "--format", "csv"))
    assert out == HEADER + "new,mql,1,0,10.0,10.0,10.0,1,0,0.0\n"


def test_velocity_table_states_the_percentile_rule(run: Run, db: str) -> None:
    out = ok(run("--db", db, "report", "velocity"))
    assert "33.3%" in out and "linear interpolation" in out
    help_text = " ".join(run("report", "velocity", "--help").stdout.split())
    assert "linear interpolation between closest ranks" in help_text
    assert "the median of 1, 2, 3, 4 days is 2.5 and its p90 is 3.7" in help_text


def test_percentiles_through_the_command(tmp_path: Path) -> None:
    """Four persons from mql to sal in 1, 2, 3 and 4 days: median 2.5, p75 3.25, p90 3.7."""
    facts = []
    for n in range(1, 5):
        facts.append(f'{{"type": "status_changed", "person_id": "q{n}", "occurred_at": '
                     f'"2024-03-01T00:00:00Z", "value": "marketingqualifiedlead"}}')
        facts.append(f'{{"type": "status_changed", "person_id": "q{n}", "occurred_at": '
                     f'"2024-03-0{1 + n}T00:00:00Z", "field": "Status", '
                     f'"value": "Working - Contacted"}}')
    (tmp_path / "q.jsonl").write_text("\n".join(facts) + "\n")
    url = f"sqlite:///{tmp_path / 'q.db'}"
    assert invoke("--db", url, "init", "--definitions", "b2b-2024").exit_code == 0
    assert invoke("--db", url, "import", str(tmp_path / "q.jsonl")).exit_code == 0
    out = ok(invoke("--db", url, "report", "velocity", "--from-stage", "mql", "--to-stage",
                    "sal", "--format", "csv"))
    assert out == HEADER + "mql,sal,4,0,2.5,3.25,3.7,4,0,0.0\n"


def test_velocity_errors(run: Run, db: str) -> None:
    one = run("--db", db, "report", "velocity", "--from-stage", "mql")
    assert (one.exit_code, one.stderr) == (
        1, "Error: give both --from-stage and --to-stage, or neither (every consecutive "
           "pair of path stages)\n")
    same = run("--db", db, "report", "velocity", "--from-stage", "mql", "--to-stage", "mql")
    assert same.exit_code == 1 and "the same stage" in same.stderr
    unknown = run("--db", db, "report", "velocity", "--from-stage", "x", "--to-stage", "mql")
    assert unknown.exit_code == 1 and "--from-stage: unknown stage 'x'" in unknown.stderr
    assert run("--db", db, "report", "velocity", "--by", "week").exit_code == 2
