"""Facts as the ledger stored them: `RecordedFact` adds the event id, when it was recorded
and its place in the log; `StoredFact` is a stored fact read back without validating it
again, so decoding a whole log stays cheap."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lifecycle.domain.facts import (
    ACCOUNT,
    FACT_TYPES,
    FIELD_DEFAULTS,
    OPPORTUNITY,
    PERSON,
    FactModel,
    Subject,
    parse_fact,
)
from lifecycle.domain.timeutil import parse_instant


class StoredFact:
    """A fact as the ledger stored it, read back for replay: plain attributes, no
    validation (it was validated on the way in), so decoding a whole log stays cheap.

    It has the fields of its type (absent ones at their defaults), `subject`, and
    `canonical()`, which is what derivation, reports and audits read."""

    type: str
    person_id: str | None
    account_id: str | None
    opportunity_id: str | None
    occurred_at: datetime
    source: str | None
    source_id: str | None
    actor: str | None
    campaign: str | None
    attributes: dict[str, str]

    if TYPE_CHECKING:
        def __getattr__(self, name: str) -> Any:
            """A field of its type (`value`, `kind`...): set from the stored data."""

    def __init__(self, data: dict[str, Any]):
        self._canonical = dict(data)
        cls = FACT_TYPES[data["type"]]
        self.__dict__.update(FIELD_DEFAULTS[cls])
        self.__dict__.update(data)
        self.attributes = data.get("attributes") or {}
        self.occurred_at = parse_instant(data["occurred_at"])
        if "target_event_id" in data:
            self.target_event_id = uuid.UUID(data["target_event_id"])
        self.subject_kinds = cls.subject_kinds

    @property
    def subject(self) -> Subject:
        """As the fact models say: an opportunity's facts are about it even when they name
        an account or a person too, a person's even when they name an account."""
        if self.opportunity_id is not None:
            return Subject(OPPORTUNITY, self.opportunity_id)
        if self.person_id is not None:
            return Subject(PERSON, self.person_id)
        assert self.account_id is not None
        return Subject(ACCOUNT, self.account_id)

    def canonical(self) -> dict[str, Any]:
        return dict(self._canonical)

    def validated(self) -> FactModel:
        """The same fact as its pydantic model (validating it again)."""
        return parse_fact(self.canonical())


def trusted_fact(data: dict[str, Any]) -> StoredFact:
    """Rebuild a fact the ledger itself stored, without validating it again."""
    return StoredFact(data)


@dataclass(frozen=True, slots=True)
class RecordedFact:
    """A fact as the ledger stored it."""

    fact: FactModel | StoredFact
    event_id: uuid.UUID
    recorded_at: datetime
    #: Position in its subject's stream: the ledger's recording order for that subject.
    version: int
    #: Global position in the log (notification id), when read from the log.
    seq: int | None = None
    #: The tamper-evidence hash chained to the previous fact of the stream.
    chain: str = ""

    @property
    def subject(self) -> Subject:
        return self.fact.subject

    @property
    def type(self) -> str:
        return self.fact.type

    @property
    def occurred_at(self) -> datetime:
        return self.fact.occurred_at


