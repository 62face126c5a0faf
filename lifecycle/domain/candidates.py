"""What an importer hands the ledger: a validated fact waiting to be stored, or a rejection
naming the line, the field and the reason (the reader contract; pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from lifecycle.domain.facts import FactModel


@dataclass
class Candidate:
    """A validated fact waiting to be stored, with where it came from.

    Its canonical JSON, identity and content hash are worked out together, the first time
    one is asked for (storing needs all three; `--strict`'s checking pass needs none).
    """

    fact: FactModel
    line: int | None = None
    raw: str | None = None
    _identity: tuple[str, UUID, str] | None = field(
        default=None, init=False, repr=False, compare=False)

    def _identify(self) -> tuple[str, UUID, str]:
        canonical = self.fact.canonical_json()
        self._identity = (canonical, self.fact.event_id(canonical),
                          self.fact.content_hash(canonical))
        return self._identity

    @property
    def canonical_json(self) -> str:
        return (self._identity or self._identify())[0]

    @property
    def event_id(self) -> UUID:
        return (self._identity or self._identify())[1]

    @property
    def content_hash(self) -> str:
        return (self._identity or self._identify())[2]


@dataclass(frozen=True)
class Rejection:
    line: int | None
    field: str | None
    reason: str
    raw: str | None = None
