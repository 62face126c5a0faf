"""Catch-up: the events after the projection's position applied, a page at a time. Each
page re-derives the subjects whose streams changed (and the accounts they roll up to) and
writes their rows with the move of the position, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from lifecycle.domain.definitions import Definitions
from lifecycle.domain.facts import ACCOUNT
from lifecycle.domain.progress import FACTS, SILENT, Progress
from lifecycle.domain.replay import Replay
from lifecycle.store.eventlog import EventLog
from projections.bulk import add_summary, delete_subjects, insert_rows, stored_details
from projections.dependencies import affected, needed
from projections.positions import PROJECTION, Partition, Position, advance, read_position
from projections.rebuild import rebuild
from projections.rows import rows_for, summarize
from projections.schema import reading

PAGE = 5_000


def catch_up(engine: Engine, log: EventLog, definitions: Definitions,
             partition: Partition | None = None, at: Position | None = None,
             progress: Progress = SILENT, follow_definitions: bool = True,
             workers: int | None = None) -> int:
    """Bring the views up to the end of the log; returns how many events were applied.

    With a partition, only that partition's subjects are written, under its own position.
    `at` is the position if the caller has just read it. `progress` hears of a phase
    only when there is something to apply. A page that publishes definitions rebuilds the
    views under the newest ones; with `follow_definitions=False` (a reader) the catch-up
    stops before such a page instead. `workers`: processes a rebuild uses (`rebuild`).
    """
    name = partition.name if partition else PROJECTION
    applied = 0
    if at is None:
        with reading(engine) as conn:
            at = read_position(conn, name)
    if at.definitions_version not in (None, definitions.version):
        return _replay(engine, log, definitions, at, progress, workers)
    while True:
        notes = log.recorder.notifications_after(at.position, PAGE)
        if not notes:
            return applied
        if partition is None and not applied and len(notes) == PAGE and \
                log.position() - at.position > max(at.position, PAGE):
            # More to apply than is already applied: a replay is cheaper.
            return _replay(engine, log, definitions, at, progress, workers)
        upto = notes[-1].id
        if any(log.mapper.is_definitions(n) for n in notes):
            if not follow_definitions:
                return applied
            # The newest published, which may be newer than the caller's `definitions`.
            rebuild(engine, log, log.definitions_history()[-1].definitions, progress=progress,
                    workers=workers)
            return applied + len(notes)
        if not applied:
            # Counted in log positions: facts, and the rare gap a rolled-back append left.
            progress.phase("projecting" + (f" partition {partition.index}/{partition.count}"
                                           if partition else ""),
                           max(log.position(), upto) - at.position, FACTS)
        streams = sorted({n.originator_id for n in notes}, key=str)
        _apply(engine, log, definitions, at, upto, streams, partition)
        applied += len(notes)
        progress.advance(upto - at.position)
        at = Position(upto, definitions.version)



def _replay(engine: Engine, log: EventLog, definitions: Definitions, at: Position,
            progress: Progress, workers: int | None) -> int:
    end = log.position()
    rebuild(engine, log, definitions, upto=end, progress=progress, workers=workers)
    return end - at.position


def _apply(engine: Engine, log: EventLog, definitions: Definitions, at: Position, upto: int,
           streams: Sequence, partition: Partition | None) -> None:
    """Re-derive the subjects a change touches (`projections/dependencies.py`): those whose
    streams changed, the ids merged with them, the persons holding a role on a changed
    opportunity and the accounts they all belong to. Rows of ids merged away are deleted.

    What depends on what is read from the log's own index, never from the views, so a
    worker never depends on what another worker has written yet.
    """
    facts = log.subject_facts(streams, upto)
    targets = affected(log.recorder, definitions, set(facts))
    if partition is not None:
        targets = {s for s in targets if partition.owns(s)}
    wanted = needed(log.recorder, definitions, targets)
    more = [s.stream_id for s in sorted(wanted) if s not in facts]
    replay = Replay(definitions)
    for subject, subject_facts in [*facts.items(), *log.subject_facts(more, upto).items()]:
        replay.add(subject, subject_facts)
    histories = replay.finish({s.id for s in targets if s.type == ACCOUNT})
    rows = rows_for(h for s, h in histories.items() if s in targets)
    with engine.begin() as conn:
        advance(conn, at, upto, definitions.version, partition.name if partition else PROJECTION)
        summary = summarize(rows)
        summary.subtract(summarize(stored_details(conn, targets)))
        delete_subjects(conn, targets)
        insert_rows(conn, rows)
        add_summary(conn, summary)
