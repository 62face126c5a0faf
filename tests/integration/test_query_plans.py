"""The writer reaches a subject's rows by their key, whatever indexes the reports add.

SQLite plans without statistics, so an index that happens to cover a query can win over
the primary key: one such index once made the writer scan every person's intervals on
each record (record-to-visible went from 6 to 90 ms at 1M facts). Every statement the
writer runs for the subjects it re-derives is checked here with EXPLAIN QUERY PLAN: each
step must look the subject up by its id, never scan.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import event

from lifecycle.application.ledger import Ledger
from lifecycle.domain.definitions import load_definitions
from lifecycle.domain.facts import parse_fact

BY_SUBJECT = re.compile(r"\b(subject_id|person_id|account_id) IN \(")
LOOKUP = re.compile(r"\b(subject_id|person_id|account_id)=\?")


def test_the_writer_reads_and_deletes_a_subjects_rows_by_key(tmp_path: Path,
                                                             definitions_yaml: str) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    statements: list[tuple[str, object]] = []
    with Ledger(url) as ledger:
        ledger.publish(load_definitions(definitions_yaml))
        for n in range(3):
            ledger.record(parse_fact({"type": "person_linked", "person_id": f"p{n}",
                                      "account_id": "acme", "occurred_at": "2024-01-01T00:00:00Z"}))

        @event.listens_for(ledger.engine, "before_cursor_execute")
        def seen(conn, cursor, statement, parameters, context, executemany):
            if BY_SUBJECT.search(statement):
                statements.append((statement, parameters))

        ledger.record(parse_fact({"type": "status_changed", "person_id": "p1",
                                  "value": "lead", "occurred_at": "2024-02-01T00:00:00Z"}))
        event.remove(ledger.engine, "before_cursor_execute", seen)
        tables = {re.search(r"(?:FROM|INTO) (lc_\w+)", s).group(1) for s, _ in statements}
        assert {"lc_intervals", "lc_moves", "lc_steps", "lc_stamps"} <= tables
        with ledger.engine.connect() as conn:
            for statement, parameters in statements:
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                            parameters).all()
                steps = [row[-1] for row in plan if row[-1].startswith(("SCAN", "SEARCH"))]
                assert steps, statement
                for step in steps:
                    assert LOOKUP.search(step), f"{statement}\n  planned as: {step}"


def test_a_count_reads_only_the_part_of_a_day_it_needs(tmp_path: Path,
                                                       definitions_yaml: str) -> None:
    """`report stages` and `timeline` read the intervals of part of a day: a range of an
    index by time, not a scan of an index by stage (which grouping once tempted SQLite
    into, 0.1 s at 1M facts instead of 3 ms)."""
    from projections.queries.counts import WITHIN_DAY, WITHIN_DAY_BEFORE

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(url) as ledger:
        ledger.publish(load_definitions(definitions_yaml))
        day = ("2024-01-01 00:00:00.000000", "2024-01-01 12:00:00.000000")
        with ledger.engine.connect() as conn:
            for statement in (WITHIN_DAY, WITHIN_DAY_BEFORE):
                parameters = ("person", *day) * 2
                plan = conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement.replace("%s", "?"), parameters).all()
                steps = [row[-1] for row in plan if row[-1].startswith(("SCAN", "SEARCH"))]
                assert steps
                for step in steps:
                    assert re.search(r"(entered_at|exited_at)>\?", step), \
                        f"{statement}\n  planned as: {step}"


def test_aging_seeks_each_stage_by_entry(tmp_path: Path, definitions_yaml: str) -> None:
    """`report aging` reads a stage's entries as a range and finds the oldest subject by
    seeking its entry instant, not by scanning the stage in another index."""
    from datetime import UTC, datetime

    from lifecycle.reports import aging

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    statements: list[tuple[str, object]] = []
    with Ledger(url) as ledger:
        ledger.publish(load_definitions(definitions_yaml))
        ledger.record(parse_fact({"type": "status_changed", "person_id": "p1",
                                  "value": "lead", "occurred_at": "2024-01-01T00:00:00Z"}))

        @event.listens_for(ledger.engine, "before_cursor_execute")
        def seen(conn, cursor, statement, parameters, context, executemany):
            if "FROM lc_intervals" in statement:
                statements.append((statement, parameters))

        aging.aging(ledger.view(), datetime(2024, 6, 1, tzinfo=UTC))
        event.remove(ledger.engine, "before_cursor_execute", seen)
        assert statements
        with ledger.engine.connect() as conn:
            for statement, parameters in statements:
                plan = [row[-1] for row in conn.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {statement}", parameters).all()]
                wanted = "entered_at=?" if "entered_at = ?" in statement else "entered_at<?"
                assert any(wanted in step and "stage=?" in step for step in plan), \
                    f"{statement}\n  planned as: {plan}"
