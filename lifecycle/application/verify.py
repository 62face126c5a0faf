"""`lifecycle verify`: the log reads back whole, and every projection equals a replay."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lifecycle.application.ledger import Ledger
from lifecycle.domain.timeutil import format_instant
from lifecycle.store.integrity import check_log
from projections.queries.stages import row_count, rows_of
from projections.tables import VIEW_TABLES


@dataclass
class VerifyReport:
    events: int = 0
    subjects: int = 0
    position: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(ledger: Ledger, examples: int = 3) -> VerifyReport:
    report = VerifyReport()
    report.events, report.subjects, report.problems = check_log(
        ledger.log, progress=ledger.progress)
    try:
        ledger.catch_up()
        report.position = ledger.position()
        definitions = ledger.active_definitions().definitions
        scratch = ledger.scratch(definitions, upto=report.position, label="fresh replay")
    except Exception as exc:
        if not report.problems:
            raise
        # Damaged events (named above by check_log) cannot be replayed: the projections
        # cannot be compared, which is one more finding, not a crash.
        report.problems.append(
            f"projections not compared: the log cannot be replayed ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})")
        return report
    differences = {}
    with ledger.engine.connect() as live_conn, scratch.connect() as fresh_conn:
        ledger.progress.phase(f"comparing {len(VIEW_TABLES)} tables", sum(
            row_count(conn, view) for view in VIEW_TABLES for conn in (live_conn, fresh_conn)),
            "rows")
        for view in VIEW_TABLES:  # a table at a time, its differences kept
            have, want = set(rows_of(live_conn, view)), set(rows_of(fresh_conn, view))
            differences[view.name] = (sorted(have - want, key=str),
                                      sorted(want - have, key=str))
            ledger.progress.advance(len(have) + len(want))
    for table, (extra, missing) in differences.items():
        if not extra and not missing:
            continue
        report.problems.append(
            f"{table}: differs from a fresh replay ({len(extra)} row(s) not in the replay, "
            f"{len(missing)} missing); run `lifecycle rebuild` after checking the log")
        report.problems += [f"  {table}: not in the replay: {_show(r)}" for r in extra[:examples]]
        report.problems += [f"  {table}: missing: {_show(r)}" for r in missing[:examples]]
    scratch.dispose()
    return report




def _show(row: tuple) -> str:
    return ", ".join("" if v is None else format_instant(v) if isinstance(v, datetime) else str(v)
                     for v in row)
