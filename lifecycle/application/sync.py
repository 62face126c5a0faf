"""`lifecycle sync`: a CRM's records fetched page by page, converted by the importers,
stored with each object's cursor in the same transaction, then the read models caught up.

Exactly once: a page's facts and the cursor that covers them commit together, and a fact's
identity comes from its source record, so a sync killed at any moment and run again
re-reads at most the pages after the last commit (from the cursor less the overlap) and
stores what they hold that is new; the rest are duplicates, counted and not stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from lifecycle.application.ledger import Ledger
from lifecycle.application.sync_sources import Source
from lifecycle.connectors.base import Stopped, SyncError
from lifecycle.domain.candidates import Candidate, Rejection
from lifecycle.domain.timeutil import TimeError, parse_instant, utc_now
from lifecycle.importers.canonical import Row

#: How far before the cursor each incremental read starts: rows stamped in the same
#: second as the cursor, late search indexing and clock skew are read again (as
#: duplicates) rather than missed.
OVERLAP = timedelta(minutes=10)


@dataclass
class ObjectSummary:
    """What one object's sync did: records fetched, facts stored / duplicate / rejected."""

    source: str
    object: str
    fetched: int = 0
    stored: int = 0
    duplicate: int = 0
    skipped: int = 0
    #: Records the CRM listed but could not return (deleted between search and read).
    missing: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    #: The cursor before and after (None: never synced).
    since: str | None = None
    cursor: str | None = None
    #: The records the CRM said the listing holds (None: it does not say), for progress.
    total: int | None = None

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    @property
    def label(self) -> str:
        return f"{self.source} {self.object}"


@dataclass
class SyncReport:
    objects: list[ObjectSummary] = field(default_factory=list)
    #: Why the run stopped early (the objects before it, and its pages so far, are stored).
    error: SyncError | None = None
    #: A stop was asked for (SIGTERM): the run ended after the page it was storing.
    stopped: bool = False

    @property
    def rejected(self) -> int:
        return sum(o.rejected for o in self.objects)


@dataclass(frozen=True)
class SyncRequest:
    objects: tuple[str, ...]
    full: bool = False
    dry_run: bool = False
    overlap: timedelta = OVERLAP
    stop: threading.Event = field(default_factory=threading.Event, compare=False)


def cursor_name(source: str, object_name: str) -> str:
    return f"{source}:{object_name}"


def sync(ledger: Ledger, source: Source, request: SyncRequest,
         progress: Callable[[ObjectSummary], Callable[[int], None]] | None = None
         ) -> SyncReport:
    """One round: every object asked for, in order; then the read models caught up.

    A `SyncError` ends the round (kept in the report) with everything stored so far kept;
    a stop asked for ends it after the page being stored."""
    report = SyncReport()
    source.prepare(ledger.active_definitions().definitions)
    for object_name in request.objects:
        summary = ObjectSummary(source.name, object_name)
        report.objects.append(summary)
        tick = progress(summary) if progress else None
        try:
            _sync_object(ledger, source, request, summary, tick)
        except SyncError as exc:
            report.error = exc
            break
        except Stopped:
            report.stopped = True
            break
        if request.stop.is_set():
            report.stopped = True
            break
    if not request.dry_run:
        ledger.catch_up()
    return report


def _sync_object(ledger: Ledger, source: Source, request: SyncRequest,
                 summary: ObjectSummary, tick: Callable[[int], None] | None) -> None:
    name = cursor_name(source.name, summary.object)
    summary.since = summary.cursor = ledger.sync_cursor(name)
    since = None
    if summary.since is not None and not request.full:
        try:
            since = parse_instant(summary.since) - request.overlap
        except TimeError:
            since = None  # unreadable: read everything again (duplicates, never a gap)
    seen: dict[UUID, str] = {}
    for page in source.pages(summary.object, since, utc_now()):
        rows = list(source.rows(summary.object, page, summary.fetched + 1))
        summary.fetched += len(page.records)
        summary.missing += page.missing
        if page.total is not None:
            summary.total = page.total
        candidates = _collect(rows, summary)
        if request.dry_run:
            _count_dry(ledger, candidates, summary, seen)
        else:
            cursor = (name, page.cursor) if page.cursor is not None else None
            result = ledger.append(candidates, cursor=cursor)
            summary.stored += len(result.stored)
            summary.duplicate += len(result.duplicates)
            summary.rejections += result.rejected
            if page.cursor is not None:
                summary.cursor = page.cursor
        if tick is not None:
            tick(summary.fetched)
        if request.stop.is_set():
            return


def _collect(rows: list[Row], summary: ObjectSummary) -> list[Candidate]:
    candidates: list[Candidate] = []
    for row in rows:
        if row.notice is not None:
            summary.warnings.setdefault(row.notice.message, []).append(row.notice.item)
        if row.skipped:
            summary.skipped += 1
        elif row.rejection is not None:
            summary.rejections.append(row.rejection)
        elif row.candidate is not None:
            candidates.append(row.candidate)
    return candidates


def _count_dry(ledger: Ledger, candidates: list[Candidate], summary: ObjectSummary,
               seen: dict[UUID, str]) -> None:
    """What storing would do, without storing: new, already stored, or conflicting."""
    known = ledger.known(candidates)
    for candidate in candidates:
        previous = known.get(candidate.event_id) or seen.get(candidate.event_id)
        if previous is None:
            summary.stored += 1
            seen[candidate.event_id] = candidate.content_hash
        elif previous == candidate.content_hash:
            summary.duplicate += 1
        else:
            summary.rejections.append(Rejection(
                candidate.line, "source_id", "a fact with this source and source_id is "
                "already recorded with other content", candidate.raw))


# ---- on a schedule -----------------------------------------------------------------------

@dataclass
class Round:
    """One round of `--every`: when it started and what it did."""

    started: datetime
    report: SyncReport


def every(run: Callable[[], SyncReport], interval: timedelta, stop: threading.Event
          ) -> Iterator[Round]:
    """Rounds `interval` apart (from start to start) until `stop` is set. A round that
    ends in a transient error (a limit, an outage) is reported and the next one comes as
    planned; an auth failure ends the rounds after reporting it."""
    while not stop.is_set():
        started = utc_now()
        report = run()
        yield Round(started, report)
        if report.stopped or (report.error is not None and not report.error.transient):
            return
        wait = interval - (utc_now() - started)
        if stop.wait(max(wait.total_seconds(), 0.0)):
            return
