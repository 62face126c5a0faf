"""The ledger's event log: the recorder and mapper together, speaking in facts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from lifecycle.domain.facts import Subject
from lifecycle.domain.recorded import RecordedFact
from lifecycle.store import LedgerRecorder, StreamEvent
from lifecycle.store.codec import DEFINITIONS_STREAM, LedgerMapper, RecordedDefinitions


@dataclass
class EventLog:
    recorder: LedgerRecorder
    mapper: LedgerMapper

    def position(self) -> int:
        return self.recorder.last_position()

    def ensure_chain(self) -> bool:
        """Chain a log stored before the log chain existed (once: see logchain.py)."""
        return self.recorder.ensure_log_chain(self.mapper.event_id_of)

    def definitions_history(self, upto: int | None = None) -> list[RecordedDefinitions]:
        """Every published version, oldest first."""
        return [self.mapper.to_definitions(e.event, e.seq)
                for e in self.recorder.select_streams([DEFINITIONS_STREAM])
                if upto is None or e.seq <= upto]

    def subject_facts(self, streams: Sequence[UUID], upto: int | None = None
                      ) -> dict[Subject, list[RecordedFact]]:
        """The facts of the given subject streams, up to log position `upto`."""
        found = [e for e in self.recorder.select_streams(streams)
                 if upto is None or e.seq <= upto]
        return dict(self._grouped(iter(found)))

    def all_subject_facts(self, upto: int | None = None
                          ) -> Iterator[tuple[Subject, list[RecordedFact]]]:
        """Every subject's facts, one subject at a time (for rebuilds)."""
        events = (e for e in self.recorder.select_all_streams()
                  if upto is None or e.seq <= upto)
        return self._grouped(events)

    def _grouped(self, events: Iterator[StreamEvent]
                 ) -> Iterator[tuple[Subject, list[RecordedFact]]]:
        for stream_id, group in groupby(events, key=lambda e: e.event.originator_id):
            if stream_id == DEFINITIONS_STREAM:
                continue
            facts = [self.mapper.to_fact(e.event, e.seq) for e in group]
            yield facts[0].subject, facts

    def decode(self, event: StoredEvent, seq: int | None = None
               ) -> RecordedFact | RecordedDefinitions:
        if self.mapper.is_definitions(event):
            return self.mapper.to_definitions(event, seq)
        return self.mapper.to_fact(event, seq)
