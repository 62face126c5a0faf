"""Catch-up: the events after the projection's position applied, a page at a time. Each
page re-derives the subjects whose streams changed (and the accounts they roll up to) and
writes their rows with the move of the position, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from lifecycle.domain.definitions import Definitions
from lifecycle.domain.facts import ACCOUNT, PERSON, Subject
from lifecycle.domain.replay import Replay
from lifecycle.store.eventlog import EventLog
from projections.bulk import add_summary, delete_subjects, insert_rows, stored_details
from projections.positions import PROJECTION, Partition, Position, advance, read_position
from projections.rebuild import rebuild
from projections.rows import rows_for, summarize
from projections.schema import reading

PAGE = 5_000

def catch_up(engine: Engine, log: EventLog, definitions: Definitions,
             partition: Partition | None = None, at: Position | None = None,
             follow_definitions: bool = True) -> int:
    """Bring the views up to the end of the log; returns how many events were applied.

    With a partition, only that partition's subjects are written, under its own position.
    `at` is the position if the caller has just read it. A page that publishes definitions
    rebuilds the views under the newest ones; with `follow_definitions=False` (a reader)
    the catch-up stops before such a page instead.
    """
    name = partition.name if partition else PROJECTION
    applied = 0
    if at is None:
        with reading(engine) as conn:
            at = read_position(conn, name)
    if at.definitions_version not in (None, definitions.version):
        return _replay(engine, log, definitions, at)
    while True:
        notes = log.recorder.notifications_after(at.position, PAGE)
        if not notes:
            return applied
        if partition is None and not applied and len(notes) == PAGE and \
                log.position() - at.position > max(at.position, PAGE):
            # More to apply than is already applied: a replay is cheaper.
            return _replay(engine, log, definitions, at)
        upto = notes[-1].id
        if any(log.mapper.is_definitions(n) for n in notes):
            if not follow_definitions:
                return applied
            # The newest published, which may be newer than the caller's `definitions`.
            rebuild(engine, log, log.definitions_history()[-1].definitions)
            return applied + len(notes)
        streams = sorted({n.originator_id for n in notes}, key=str)
        _apply(engine, log, definitions, at, upto, streams, partition)
        applied += len(notes)
        at = Position(upto, definitions.version)

def _replay(engine: Engine, log: EventLog, definitions: Definitions, at: Position) -> int:
    end = log.position()
    rebuild(engine, log, definitions, upto=end)
    return end - at.position

def _apply(engine: Engine, log: EventLog, definitions: Definitions, at: Position, upto: int,
           streams: Sequence, partition: Partition | None) -> None:
    """Re-derive the subjects whose streams changed, and the accounts they roll up to.

    Who belongs to which account is read from the log's own index, never from the views,
    so a worker never depends on what another worker has written yet.
    """
    facts = log.subject_facts(streams, upto)
    changed = set(facts)
    persons = sorted(s.id for s in changed if s.type == PERSON)
    accounts = {s.id for s in changed if s.type == ACCOUNT}
    if definitions.account_rollup != "none" and persons:
        accounts |= log.recorder.linked_accounts(persons)
    if partition is not None:
        accounts = {a for a in accounts if partition.owns(Subject(ACCOUNT, a))}
    members = log.recorder.linked_persons(sorted(accounts)) if accounts else set()
    more = [Subject(PERSON, pid).stream_id for pid in sorted(members - set(persons))]
    more += [Subject(ACCOUNT, aid).stream_id for aid in sorted(accounts)
             if Subject(ACCOUNT, aid) not in changed]
    replay = Replay(definitions)
    for subject, subject_facts in facts.items():
        replay.add(subject, subject_facts)
    for subject, subject_facts in log.subject_facts(more, upto).items():
        replay.add(subject, subject_facts)
    histories = replay.finish(accounts)
    targets = changed | {Subject(ACCOUNT, aid) for aid in accounts}
    if partition is not None:
        targets = {s for s in targets if partition.owns(s)}
    rows = rows_for(h for s, h in histories.items() if s in targets)
    with engine.begin() as conn:
        advance(conn, at, upto, definitions.version, partition.name if partition else PROJECTION)
        summary = summarize(rows)
        summary.subtract(summarize(stored_details(conn, targets)))
        delete_subjects(conn, targets)
        insert_rows(conn, rows)
        add_summary(conn, summary)
