"""The ledger application: records facts and definitions, keeps the read models current,
and answers reports and audits. The CLI and the Python API both go through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from sqlalchemy import Engine

from lifecycle.application.append import AppendResult, Seen, append_batch
from lifecycle.application.engines import read_models_engine, scratch_engine
from lifecycle.domain.candidates import Candidate
from lifecycle.domain.definitions import Definitions
from lifecycle.domain.errors import LedgerError
from lifecycle.domain.facts import FactModel, Subject
from lifecycle.domain.progress import SILENT, Labelled, Progress
from lifecycle.domain.recorded import RecordedFact
from lifecycle.domain.timeutil import format_instant, utc_now
from lifecycle.store import IndexRow, open_recorder, redact
from lifecycle.store.codec import (
    DEFINITIONS_STREAM,
    DEFINITIONS_SUBJECT_TYPE,
    LedgerMapper,
    RecordedDefinitions,
    definitions_event_id,
)
from lifecycle.store.eventlog import EventLog
from lifecycle.store.failures import ReadOnlyStore
from lifecycle.store.logchain import key_from_environment
from projections import catchup, partitions, positions, rebuild, schema
from projections.view import View

#: Facts per import transaction: fewer commits (each syncs the WAL and rewrites the index
#: pages it dirtied) against less to redo after a crash and a coarser progress bar.
BATCH = 5_000


class Ledger:
    """One ledger, on the store named by a database URL."""

    def __init__(self, url: str, read_only: bool = False, progress: Progress = SILENT,
                 workers: int | None = None):
        """`read_only`: never write (a read replica): the store is opened so that no
        connection can write, nothing is created, every writing method refuses
        (`ReadOnlyStore`), and reports read the projections as they stand instead of
        catching up first. `progress` hears the phases of long work (catch-up, rebuilds,
        replays, imports, verify); the console points it at a terminal for the length of
        a command. `workers`: processes a rebuild, backfill or replay derives in (default:
        one per core; 1: in this process)."""
        self.url = url
        self.workers = workers
        self.read_only = read_only
        self.progress = progress
        #: Why the projections could not follow a write that was committed (None: they did).
        self.behind: Exception | None = None
        recorder, self._factory = open_recorder(url, read_only=read_only)
        recorder.chain_key = key_from_environment()
        self.log = EventLog(recorder, LedgerMapper())
        self.engine = read_models_engine(url, read_only)
        if not read_only:
            self.log.ensure_chain()  # a store made before the log chain gets one, once
            existing = schema.create_tables(self.engine)
            if any(name.startswith("lc_next_") for name in existing):
                rebuild.drop_dead_shadows(self.engine)  # a failed build could not drop them

    def writable(self, what: str) -> None:
        """Refuse `what` (a write) on a store opened read-only, before it touches anything."""
        if self.read_only:
            raise ReadOnlyStore(self.url, what)

    def follow(self) -> None:
        """Catch up after a write was committed. A failure here cannot undo the write: it
        is kept in `behind` for the caller to report, never raised as if nothing was
        stored."""
        try:
            self.catch_up()
        except Exception as exc:  # any failure: the write stands, the views wait
            self.behind = exc

    def close(self) -> None:
        self.engine.dispose()
        self._factory.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def display_url(self) -> str:
        return redact(self.url)

    # ---- definitions ---------------------------------------------------------------

    def definitions_log(self) -> list[RecordedDefinitions]:
        return self.log.definitions_history()

    def active_definitions(self, known_at: datetime | None = None) -> RecordedDefinitions:
        """The definitions in force now, or at `known_at`."""
        history = [d for d in self.definitions_log()
                   if known_at is None or d.recorded_at <= known_at]
        if not history:
            if known_at is not None and self.definitions_log():
                raise LedgerError("no definitions had been published by the --known-at time")
            raise LedgerError(
                "this ledger has no definitions yet: run `lifecycle init --definitions FILE`")
        return history[-1]

    def publish(self, definitions: Definitions) -> tuple[RecordedDefinitions, bool]:
        """Publish a version; returns it and whether it is new. A label names one content."""
        self.writable("publishing definitions")
        event_id = definitions_event_id(definitions.version)
        content_hash = definitions.content_hash()
        with self.log.recorder.append_transaction() as tx:
            known = tx.lookup([event_id]).get(event_id)
            if known is not None:
                if known.content_hash != content_hash:
                    raise LedgerError(
                        f"definitions version {definitions.version!r} is already published "
                        "with other content; give the new definitions a new version label")
            else:
                last = tx.last_events([DEFINITIONS_STREAM]).get(DEFINITIONS_STREAM)
                recorded = RecordedDefinitions(
                    definitions, event_id, utc_now(),
                    (last.originator_version if last else 0) + 1)
                tx.insert(
                    [IndexRow(event_id, content_hash, DEFINITIONS_SUBJECT_TYPE,
                              definitions.version, "definitions_published")],
                    [self.log.mapper.definitions_to_stored(recorded)])
        if known is None:
            self.follow()
        for published in reversed(self.definitions_log()):
            if published.event_id == event_id:
                return published, known is None
        raise AssertionError("published definitions not found")  # pragma: no cover

    # ---- facts ---------------------------------------------------------------------

    def append(self, candidates: list[Candidate], cursor: tuple[str, str] | None = None
               ) -> AppendResult:
        """Store a batch in one transaction: new facts stored, repeats counted, bad ones
        (conflicting content, impossible retractions) rejected with the reason.

        `cursor` (name, value): a sync cursor set in the same transaction, so that it never
        says more (or less) was stored than was."""
        self.writable("storing facts")
        for attempt in (1, 2):
            try:
                with self.log.recorder.append_transaction() as tx:
                    result = append_batch(tx, self.log.mapper, candidates)
                    if cursor is not None:
                        tx.save_cursor(*cursor)
                    return result
            except IntegrityError:
                # A concurrent writer stored a conflicting row first: reclassify once.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def append_all(self, batches: Iterable[list[Candidate]]) -> tuple[AppendResult, bool]:
        """Store every batch in one transaction, or nothing if any row is rejected.

        Returns what happened and whether it was committed."""
        self.writable("storing facts")
        total = AppendResult()
        try:
            with self.log.recorder.append_transaction() as tx:
                seen = Seen()
                for batch in batches:
                    total.add(append_batch(tx, self.log.mapper, batch, seen))
                    if total.rejected:
                        raise _AbortStrict
        except _AbortStrict:
            total.stored = []
            return total, False
        return total, True

    def record(self, fact: FactModel) -> tuple[RecordedFact | None, AppendResult]:
        """Record one fact and bring the read models up to date (if they cannot follow, the
        fact is still recorded: see `behind`)."""
        result = self.append([Candidate(fact)])
        if result.rejected:
            raise LedgerError(result.rejected[0].reason)
        self.follow()
        return (result.stored[0] if result.stored else None), result

    def sync_cursor(self, name: str) -> str | None:
        """How far `lifecycle sync` has stored the object `name` (None: never)."""
        return self.log.recorder.read_cursor(name)

    def known(self, candidates: list[Candidate]) -> dict[UUID, str]:
        """Of these candidates, those stored already: event id -> content hash (read only,
        for a dry run)."""
        rows = self.log.recorder.index_rows([c.event_id for c in candidates])
        return {event_id: row.content_hash for event_id, row in rows.items()}

    def subject_of(self, event_id: UUID) -> Subject:
        with self.log.recorder.append_transaction() as tx:
            row = tx.lookup([event_id]).get(event_id)
        if row is None or row.subject_type == DEFINITIONS_SUBJECT_TYPE:
            raise LedgerError(f"no fact {event_id} is recorded")
        return Subject(row.subject_type, row.subject_id)

    # ---- read models -----------------------------------------------------------------

    def catch_up(self, complete_backfill: bool = True) -> int:
        """Apply what the log holds beyond the projections' position (every partition's,
        when workers keep them: their positions make it safe to help).

        `complete_backfill=False` (readers): views derived under other definitions than
        the active ones (a backfill running, or killed before its swap) are left as they
        are, and so is a stretch of the log that publishes definitions: rebuilding is the
        writers' job, and the views keep saying which definitions they reflect."""
        if self.read_only:
            return 0
        with schema.reading(self.engine) as conn:
            tracked = positions.read_positions(conn)
        if not complete_backfill and self._backfill_pending(tracked):
            return 0
        parts = positions.partitions_of(tracked)
        if not parts:
            return self.project(None, tracked.get(positions.PROJECTION,
                                                  positions.Position(0, None)),
                                complete_backfill)
        return sum(self.project(part, tracked.get(part.name), complete_backfill)
                   for part in parts)

    def _backfill_pending(self, tracked: dict[str, positions.Position]) -> bool:
        try:
            active = self.active_definitions().definitions.version
        except LedgerError:
            return False
        return any(p.definitions_version not in (None, schema.STALE, active)
                   for p in tracked.values())

    def project(self, partition: positions.Partition | None,
                at: positions.Position | None = None, complete_backfill: bool = True) -> int:
        """Catch up the whole projection, or one partition of it (registering it)."""
        self.writable("projecting")
        try:
            definitions = self.active_definitions().definitions
        except LedgerError:
            return 0
        if partition is not None and at is None:
            try:
                positions.register(self.engine, partition)
            except positions.PartitionMismatch as exc:
                raise LedgerError(f"{exc}: start every worker with the same n, or stop them "
                                  "all and run `lifecycle project --inline` first") from None
        for attempt in range(1, 6):
            try:
                applied = catchup.catch_up(self.engine, self.log, definitions, partition, at,
                                           self.progress, follow_definitions=complete_backfill,
                                           workers=self.workers)
                if applied:  # a catch-up that replayed (a backfill) swapped tables in
                    schema.reclaim_free_pages(self.engine)
                return applied
            except positions.ProjectionConflict:
                # Another writer moved first: start again from where it left off.
                at = None
                if attempt == 5:
                    raise
        return 0  # pragma: no cover

    def rebuild(self) -> int:
        self.writable("a rebuild")
        definitions = self.active_definitions().definitions
        position = rebuild.rebuild(self.engine, self.log, definitions, progress=self.progress,
                                   workers=self.workers)
        schema.reclaim_free_pages(self.engine, convert=True)  # an older file: VACUUM once
        return position

    def stop_workers(self) -> None:
        """Give the projections back to inline catch-up (after stopping the workers)."""
        self.writable("handing the projections back")
        positions.unregister(self.engine)
        self.follow()

    def position(self, partition: positions.Partition | None = None) -> int:
        """How far the projections are (the least advanced partition), or one partition."""
        with self.engine.connect() as conn:
            if partition is not None:
                return positions.read_position(conn, partition.name).position
            parts = positions.partitions(conn)
            names = [p.name for p in parts] or [positions.PROJECTION]
            return min(positions.read_position(conn, name).position for name in names)

    def scratch(self, definitions: Definitions, known_at: datetime | None = None,
                upto: int | None = None, label: str | None = None) -> Engine:
        """A throw-away copy of the read models, replayed from the log; its phases are
        named after `label` (default: the known-at time and definitions). A small log's is
        in memory; a large one's is a temporary file (memory stays bounded, and worker
        processes can write it), removed once built: the engine's one connection keeps
        it open until it is disposed of."""
        if label is None:
            label = f"replay under {definitions.version}" + (
                f" as known at {format_instant(known_at)}" if known_at else "")
        path = partitions.scratch_file() \
            if self.log.recorder.count_events() > partitions.PARTITION_EVENTS else None
        engine = scratch_engine(path)
        try:
            schema.create_tables(engine)
            rebuild.rebuild(engine, self.log, definitions, upto=upto, known_at=known_at,
                            progress=Labelled(self.progress, label), workers=self.workers)
        except BaseException:
            engine.dispose()
            raise
        finally:
            if path:  # the engine's one connection holds the file open from now on
                partitions.remove_scratch_file(path)
        return engine

    def view(self, known_at: datetime | None = None, definitions: str | None = None) -> View:
        """The read models to report from: the live ones, or a replay as known at a time
        and/or under another published version of the definitions."""
        if known_at is None and definitions is None:
            self.catch_up(complete_backfill=False)
            return self.live_view()
        recorded = (self.published(definitions) if definitions is not None
                    else self.active_definitions(known_at))
        return View(self.scratch(recorded.definitions, known_at), recorded, known_at)

    def live_view(self) -> View:
        """The live read models as they stand, labelled with the definitions they were
        derived under (their tracking rows say), which during a backfill, or after one
        killed before its swap, are the previous ones."""
        version = self.views_version()
        return View(self.engine, self.views_definitions(version), None,
                    live=version is not None)

    def views_version(self) -> str | None:
        """The definitions version the live views reflect (None: never projected)."""
        with schema.reading(self.engine) as conn:
            try:
                return positions.views_version(conn)
            except ValueError as exc:
                raise LedgerError(f"{exc}: run `lifecycle rebuild`") from None

    def views_definitions(self, version: str | None) -> RecordedDefinitions:
        """The published definitions the live views reflect (`version`, as their tracking
        rows say: the active ones if they were never projected)."""
        if version is None:
            return self.active_definitions()
        if version == schema.STALE:
            raise LedgerError("the views were made by an earlier release and must be "
                              "replayed first: run `lifecycle rebuild`")
        for recorded in reversed(self.definitions_log()):
            if recorded.definitions.version == version:
                return recorded
        raise LedgerError(f"the views say they reflect definitions {version!r}, which were "
                          "never published: run `lifecycle verify`")

    def published(self, version: str) -> RecordedDefinitions:
        """A published version of the definitions, by its label."""
        for recorded in self.definitions_log():
            if recorded.definitions.version == version:
                return recorded
        known = ", ".join(d.definitions.version for d in self.definitions_log()) or "none"
        raise LedgerError(f"no definitions {version!r} were published (published: {known})")

    def iter_subjects(self) -> Iterator[tuple[Subject, list[RecordedFact]]]:
        return self.log.all_subject_facts()


class _AbortStrict(Exception):
    """Roll the strict import back: a row was rejected."""
