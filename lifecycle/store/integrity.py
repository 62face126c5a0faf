"""Tamper evidence: every stored fact carries a hash chained to the previous fact of its
stream, so an edit, a deletion or a reordering done behind the ledger's back shows."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from itertools import groupby
from typing import TYPE_CHECKING
from uuid import UUID

from lifecycle.domain.progress import FACTS, SILENT, Progress
from lifecycle.domain.recorded import RecordedFact, StoredFact
from lifecycle.domain.timeutil import format_instant

if TYPE_CHECKING:
    from lifecycle.store import StreamEvent
    from lifecycle.store.eventlog import EventLog

#: The chain value before a stream's first fact.
GENESIS = ""


def chain_hash(previous: str, event_id: UUID, recorded_at: str, canonical_json: str) -> str:
    """sha256 over the previous link, the fact's identity, when it was stored and what it
    says."""
    body = "\n".join((previous, str(event_id), recorded_at, canonical_json))
    return hashlib.sha256(body.encode()).hexdigest()


def check_log(log: EventLog, max_listed: int = 50, progress: Progress = SILENT
              ) -> tuple[int, int, list[str]]:
    """Read the whole log back: every event decodes, each stream's versions run 1, 2, 3…,
    every chain hash matches, and the fact index agrees with the events.

    Returns (events, streams, problems); each problem names the fact and what is wrong.
    """
    problems: list[str] = []
    events = streams = checked = 0
    indexed: list[tuple[StreamEvent, RecordedFact, str]] = []
    progress.phase("checking the log", log.recorder.count_events(), FACTS)

    def flag(message: str) -> None:
        if len(problems) < max_listed:
            problems.append(message)

    for stream_id, group in groupby(log.recorder.select_all_streams(),
                                    key=lambda e: e.event.originator_id):
        streams += 1
        previous = GENESIS
        expected_version = 1
        for item in group:
            events += 1
            event = item.event
            where = f"event at log position {item.seq} (stream {stream_id}, " \
                    f"version {event.originator_version})"
            if event.originator_version != expected_version:
                flag(f"{where}: expected version {expected_version}: a fact before it was "
                     "deleted or the stream was reordered")
            expected_version = event.originator_version + 1
            if log.mapper.is_definitions(event):
                continue
            try:
                fact = log.mapper.to_fact(event, item.seq)
                if isinstance(fact.fact, StoredFact):
                    fact.fact.validated()  # stored content must still be a valid fact
                canonical = log.mapper.canonical_of(event)
            except Exception as exc:  # any damage to stored bytes is a finding, not a crash
                flag(f"{where}: cannot be read back ({type(exc).__name__}: {exc})")
                previous = ""
                continue
            where = f"fact {fact.event_id} ({fact.subject.type} {fact.subject.id!r}, " \
                    f"log position {item.seq})"
            if fact.subject.stream_id != stream_id:
                flag(f"{where}: stored in another subject's stream")
            expected = chain_hash(previous, fact.event_id, format_instant(fact.recorded_at),
                                  canonical)
            if fact.chain != expected:
                flag(f"{where}: chain hash does not match: the fact or one before it in its "
                     "stream was edited, deleted or reordered")
            previous = fact.chain
            indexed.append((item, fact, canonical))
            if len(indexed) >= 2_000:
                _check_index(log, indexed, flag)
                progress.advance(events - checked)
                checked, indexed = events, []
    _check_index(log, indexed, flag)
    progress.advance(events - checked)
    index_count = log.recorder.count_index()
    if index_count != events:
        flag(f"fact index holds {index_count} rows for {events} stored events: events were "
             "deleted or inserted behind the ledger's back")
    return events, streams, problems


def _check_index(log: EventLog, items: list[tuple[StreamEvent, RecordedFact, str]],
                 flag: Callable[[str], None]) -> None:
    if not items:
        return
    rows = log.recorder.index_rows([fact.event_id for _, fact, _ in items])
    for item, fact, canonical in items:
        row = rows.get(fact.event_id)
        if row is None:
            flag(f"fact {fact.event_id} (log position {item.seq}) is not in the fact index")
        elif row.content_hash != hashlib.sha256(canonical.encode()).hexdigest() or (
                row.subject_type, row.subject_id) != tuple(fact.subject):
            flag(f"fact {fact.event_id} (log position {item.seq}) differs from what was "
                 "recorded (content or subject changed)")
