"""How facts and published definitions are kept in the event store.

`LedgerMapper` is an eventsourcing `Mapper`: it turns a recorded fact into a
`StoredEvent` (stable topic, JSON state) and back, with the mapper's optional compressor
and cipher. Topics are registered explicitly so that renaming a class never orphans
stored events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import register_topic
from pydantic import BaseModel, ConfigDict

from lifecycle.domain.definitions import Definitions, definitions_from_data
from lifecycle.domain.facts import FACT_TYPES
from lifecycle.domain.recorded import RecordedFact, trusted_fact
from lifecycle.domain.streams import DEFINITIONS_STREAM, LEDGER_NAMESPACE
from lifecycle.domain.timeutil import format_instant, parse_instant

DEFINITIONS_SUBJECT_TYPE = "definitions"
#: How every stored state the ledger writes begins (facts and definitions alike).
_ID_PREFIX = b'{"event_id":"'


class DefinitionsPublished(BaseModel):
    """A version of the definitions became the active one."""

    model_config = ConfigDict(frozen=True)
    document: dict[str, Any]


TOPICS: dict[str, type[Any]] = {
    **{f"lifecycle:{cls.__name__}": cls for cls in FACT_TYPES.values()},
    "lifecycle:DefinitionsPublished": DefinitionsPublished,
}
TOPIC_OF = {cls: topic for topic, cls in TOPICS.items()}
for _topic, _cls in TOPICS.items():
    register_topic(_topic, _cls)


def definitions_event_id(version: str) -> UUID:
    """Publishing is identified by the version label: a label names one content."""
    return uuid5(LEDGER_NAMESPACE, json.dumps(["definitions", version]))


@dataclass(frozen=True, slots=True)
class RecordedDefinitions:
    definitions: Definitions
    event_id: UUID
    recorded_at: datetime
    version: int
    seq: int | None = None


class _NoTranscoder(Transcoder):
    """The ledger encodes its own JSON; eventsourcing's transcoder is not used."""

    def encode(self, obj: Any) -> bytes:  # pragma: no cover - never called
        raise TypeError("LedgerMapper encodes state itself")

    def decode(self, data: bytes) -> Any:  # pragma: no cover - never called
        raise TypeError("LedgerMapper decodes state itself")


class LedgerMapper(Mapper):
    def __init__(self) -> None:
        super().__init__(transcoder=_NoTranscoder())
        self._definitions: dict[tuple[int, bytes], RecordedDefinitions] = {}
        #: Recording instants read so far: a batch of facts shares one.
        self._recorded_at: dict[str, datetime] = {}

    def _seal(self, state: bytes) -> bytes:
        if self.compressor:
            state = self.compressor.compress(state)
        if self.cipher:
            state = self.cipher.encrypt(state)
        return state

    def _open(self, state: bytes) -> dict[str, Any]:
        if self.cipher:
            state = self.cipher.decrypt(state)
        if self.compressor:
            state = self.compressor.decompress(state)
        return json.loads(state)

    def fact_to_stored(self, recorded: RecordedFact, canonical: str | None = None,
                       recorded_at: str | None = None) -> StoredEvent:
        """The stored event of `recorded`; `canonical` and `recorded_at` (its text) when the
        caller has them already. The state is the ledger's fields followed by the canonical
        JSON made for the identity hash (`canonical_of` reads it back from this layout)."""
        canonical = canonical or recorded.fact.canonical_json()
        recorded_at = recorded_at or format_instant(recorded.recorded_at)
        state = (f'{{"event_id":"{recorded.event_id}","recorded_at":"{recorded_at}",'
                 f'"chain":"{recorded.chain}",{canonical[1:]}')
        return StoredEvent(
            originator_id=recorded.subject.stream_id,
            originator_version=recorded.version,
            topic=TOPIC_OF[type(recorded.fact)],
            state=self._seal(state.encode()),
        )

    def definitions_to_stored(self, recorded: RecordedDefinitions) -> StoredEvent:
        body = {
            "event_id": str(recorded.event_id),
            "recorded_at": format_instant(recorded.recorded_at),
            "document": recorded.definitions.document(),
        }
        return StoredEvent(
            originator_id=DEFINITIONS_STREAM,
            originator_version=recorded.version,
            topic=TOPIC_OF[DefinitionsPublished],
            state=self._seal(json.dumps(body, separators=(",", ":")).encode()),
        )

    def is_definitions(self, stored: StoredEvent) -> bool:
        return stored.topic == TOPIC_OF[DefinitionsPublished]

    def to_fact(self, stored: StoredEvent, seq: int | None = None) -> RecordedFact:
        body = self._open(stored.state)
        event_id = UUID(body.pop("event_id"))
        stamp = body.pop("recorded_at")
        recorded_at = self._recorded_at.get(stamp)
        if recorded_at is None:
            if len(self._recorded_at) >= 4096:
                self._recorded_at.clear()
            recorded_at = self._recorded_at[stamp] = parse_instant(stamp)
        chain = body.pop("chain", "")
        return RecordedFact(trusted_fact(body), event_id, recorded_at,
                            stored.originator_version, seq, chain)

    def canonical_of(self, stored: StoredEvent) -> str:
        """The canonical JSON a stored fact was recorded with, as the bytes hold it: the
        state is the ledger's fields followed by it (see fact_to_stored)."""
        text = self._plain(stored.state)
        body = json.loads(text)
        prefix = (f'{{"event_id":"{body.get("event_id")}",'
                  f'"recorded_at":"{body.get("recorded_at")}","chain":"{body.get("chain")}",')
        if text.startswith(prefix):
            return "{" + text[len(prefix):]
        # Not in the ledger's own layout (edited behind its back): as the content says.
        for key in ("event_id", "recorded_at", "chain"):
            body.pop(key, None)
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)

    def _plain(self, state: bytes) -> str:
        if self.cipher:
            state = self.cipher.decrypt(state)
        if self.compressor:
            state = self.compressor.decompress(state)
        return state.decode()

    def event_id_of(self, stored: StoredEvent) -> UUID | None:
        """The id a stored event (fact or definitions) carries; None if it cannot be read."""
        state = bytes(stored.state)
        try:
            if not self.cipher and not self.compressor and state.startswith(_ID_PREFIX):
                return UUID(state[len(_ID_PREFIX):len(_ID_PREFIX) + 36].decode())
            return UUID(str(self._open(state)["event_id"]))
        except Exception:  # damaged bytes: the caller names the event by its place
            return None

    def document_of(self, stored: StoredEvent) -> tuple[UUID, dict[str, Any]]:
        """A published definitions event's id and document, as stored (not validated)."""
        body = self._open(stored.state)
        return UUID(body["event_id"]), dict(body["document"])

    def chain_of(self, stored: StoredEvent) -> str:
        """The chain hash a stored fact carries ("" for other events)."""
        if self.is_definitions(stored):
            return ""
        return str(self._open(stored.state).get("chain", ""))

    def to_definitions(self, stored: StoredEvent, seq: int | None = None
                       ) -> RecordedDefinitions:
        # Definitions are read on every catch-up and report, and never change once
        # published: validate each stored version once per process.
        key = (stored.originator_version, stored.state)
        cached = self._definitions.get(key)
        if cached is None:
            body = self._open(stored.state)
            cached = self._definitions[key] = RecordedDefinitions(
                definitions_from_data(body["document"]), UUID(body["event_id"]),
                parse_instant(body["recorded_at"]), stored.originator_version, seq)
        return cached
