"""`lifecycle verify`: the log reads back whole and matches its chains, the store's own
integrity check passes, the projections' positions and the fact index agree with the log,
and every projection equals a replay.

Nothing here erases evidence: the projections are caught up only when the log passed its
checks, and a rebuild is advised only then (a rebuild over a damaged log would replace the
views, perhaps the last trace of what it held, with a replay of the damage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lifecycle.application.ledger import Ledger
from lifecycle.domain.errors import LedgerError
from lifecycle.domain.timeutil import format_instant
from lifecycle.store.integrity import check_chain, check_log
from lifecycle.store.logchain import GENESIS, format_head
from projections import positions, schema
from projections.queries.stages import absent_views, row_count, rows_of
from projections.tables import VIEW_TABLES

REBUILD = ("the views differ from a replay of a log that passed its checks: `lifecycle "
           "rebuild` replaces them with a replay of it")
DO_NOT_REBUILD = ("the log failed its checks above: do not rebuild, these views may be the "
                  "last trace of what it held; keep a copy of the store and restore the log "
                  "from a backup")


@dataclass
class VerifyReport:
    events: int = 0
    subjects: int = 0
    position: int = 0
    #: The log's head, `ENTRIES:HASH` (anchor it outside the store).
    head: str = format_head(0, GENESIS)
    problems: list[str] = field(default_factory=list)
    #: What was checked or skipped, beyond the problems (printed, not failing).
    notes: list[str] = field(default_factory=list)
    #: Whether `lifecycle rebuild` may be advised: the log passed and nothing hints that it
    #: lost facts.
    rebuild_safe: bool = True

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(ledger: Ledger, examples: int = 3,
           expect_head: tuple[int, str] | None = None) -> VerifyReport:
    report = VerifyReport()
    report.events, report.subjects, report.problems = check_log(ledger.log,
                                                                progress=ledger.progress)
    chain = check_chain(ledger.log, ledger.log.recorder.chain_key, expect_head)
    report.head = chain.head
    report.problems += chain.problems
    report.notes += chain.notes
    storage_problems, storage_notes = ledger.log.recorder.check_storage()
    report.problems += storage_problems
    report.notes += storage_notes
    report.rebuild_safe = not report.problems
    _check_positions(ledger, report)
    if report.rebuild_safe:
        ledger.catch_up(complete_backfill=False)  # a backfill's rebuild is not verify's job
    _compare_projections(ledger, report, examples)
    return report


def _check_positions(ledger: Ledger, report: VerifyReport) -> None:
    """No projection may claim more of the log than the log holds, nor definitions that
    were never published."""
    with schema.reading(ledger.engine) as conn:
        tracked = positions.read_positions(conn)
    end = ledger.log.position()
    published = {d.definitions.version for d in ledger.definitions_log()}
    for name, at in sorted(tracked.items()):
        if at.position > end:
            report.rebuild_safe = False
            report.problems.append(
                f"projection {name!r} says it applied the log up to position {at.position}, "
                f"beyond its end ({end}): its position was moved ahead (facts recorded from "
                "now on would not reach the views), or the log lost its newest facts. Check "
                "the log against a head you recorded (`lifecycle verify --expect-head "
                "HEAD`); if it is whole, `lifecycle rebuild` resets the position")
        if at.definitions_version not in published | {None, schema.STALE}:
            report.problems.append(
                f"projection {name!r} says its views were derived under definitions "
                f"{at.definitions_version!r}, which were never published")


def _compare_projections(ledger: Ledger, report: VerifyReport, examples: int) -> None:
    """Every view row against a replay of the log up to the views' position, under the
    definitions the views say they reflect."""
    with schema.reading(ledger.engine) as conn:
        tracked = positions.read_positions(conn)
    at = {p.position for p in tracked.values()}
    if len(at) > 1:
        report.notes.append("projections not compared: the workers' partitions stand at "
                            f"different positions ({', '.join(map(str, sorted(at)))})")
        report.position = min(at)
        return
    report.position = ledger.position()
    try:
        version = ledger.views_version()
        recorded = ledger.views_definitions(version)
        if version is not None and recorded.definitions.version != \
                ledger.active_definitions().definitions.version:
            report.notes.append(
                f"the views reflect definitions {version!r}, not the active "
                f"{ledger.active_definitions().definitions.version!r}: a backfill is running "
                "or was interrupted (run the same `lifecycle backfill FILE` again to finish "
                "it); they were compared with a replay under the definitions they reflect")
        scratch = ledger.scratch(recorded.definitions, upto=report.position,
                                 label="fresh replay")
    except LedgerError as exc:
        report.problems.append(f"projections not compared: {exc}")
        return
    except Exception as exc:
        if report.ok:
            raise
        # Damaged events (named above) cannot be replayed: the projections cannot be
        # compared, which is one more finding, not a crash.
        report.problems.append(
            f"projections not compared: the log cannot be replayed ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})")
        return
    differing = False
    with ledger.engine.connect() as live_conn, scratch.connect() as fresh_conn:
        absent = absent_views(live_conn)
        if absent:
            report.notes.append(
                f"not compared: {', '.join(sorted(absent))}, which this store does not have "
                "yet (an earlier release made it and it was opened read-only since; the next "
                "writable open creates and fills it)")
        views = [view for view in VIEW_TABLES if view.name not in absent]
        ledger.progress.phase(f"comparing {len(views)} tables", sum(
            row_count(conn, view) for view in views for conn in (live_conn, fresh_conn)),
            "rows")
        for view in views:
            # A table at a time, compared and let go before the next is read: memory holds
            # one table's two copies, never every table's.
            live, fresh = rows_of(live_conn, view), rows_of(fresh_conn, view)
            ledger.progress.advance(len(live) + len(fresh))
            differing |= _differences(report, view.name, set(live), set(fresh), examples)
            del live, fresh
    scratch.dispose()
    if differing:
        report.notes.append(REBUILD if report.rebuild_safe else DO_NOT_REBUILD)


def _differences(report: VerifyReport, table: str, have: set[tuple[Any, ...]],
                 want: set[tuple[Any, ...]], examples: int) -> bool:
    """Report the rows of `table` that are not in the replay and those missing from it;
    whether there were any."""
    extra, missing = sorted(have - want, key=str), sorted(want - have, key=str)
    if not extra and not missing:
        return False
    report.problems.append(
        f"{table}: differs from a fresh replay ({len(extra)} row(s) not in the replay, "
        f"{len(missing)} missing)")
    report.problems += [f"  {table}: not in the replay: {_show(r)}" for r in extra[:examples]]
    report.problems += [f"  {table}: missing: {_show(r)}" for r in missing[:examples]]
    return True


def _show(row: tuple) -> str:
    return ", ".join("" if v is None else format_instant(v) if isinstance(v, datetime) else str(v)
                     for v in row)
