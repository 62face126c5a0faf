"""`lifecycle verify`: the log reads back whole, and every projection equals a replay."""

from __future__ import annotations

from dataclasses import dataclass, field

from lifecycle.ledger import Ledger
from projections.reports import table_rows


@dataclass
class VerifyReport:
    events: int = 0
    subjects: int = 0
    position: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(ledger: Ledger, max_listed: int = 20) -> VerifyReport:
    report = VerifyReport()
    _check_log(ledger, report)
    ledger.catch_up()
    report.position = ledger.position()
    definitions = ledger.active_definitions().definitions
    scratch = ledger.scratch(definitions, upto=report.position)
    with ledger.engine.connect() as live_conn, scratch.connect() as fresh_conn:
        live, fresh = table_rows(live_conn), table_rows(fresh_conn)
    for table in live:
        have, want = set(live[table]), set(fresh[table])
        for row in sorted(have - want, key=str)[:max_listed]:
            report.problems.append(f"{table}: row not in a fresh replay: {row}")
        for row in sorted(want - have, key=str)[:max_listed]:
            report.problems.append(f"{table}: row missing from the projection: {row}")
    scratch.dispose()
    return report


def _check_log(ledger: Ledger, report: VerifyReport) -> None:
    """Every event decodes, and each stream's versions run 1, 2, 3... without a gap."""
    for subject, facts in ledger.iter_subjects():
        report.subjects += 1
        report.events += len(facts)
        versions = [f.version for f in facts]
        if versions != list(range(1, len(versions) + 1)):
            report.problems.append(
                f"log: stream of {subject.type} {subject.id!r} has versions {versions[:10]}")
