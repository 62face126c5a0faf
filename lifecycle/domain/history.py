"""What derivation returns for one subject: steps, transitions, intervals, stamps with
their first-reached snapshots, memberships, flags and each fact's outcome (pure types)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from lifecycle.domain.facts import Subject
from lifecycle.domain.recorded import RecordedFact

ENTRY, EXIT, REENTRY, FORWARD, BACKWARD, LATERAL = (
    "entry", "exit", "reentry", "forward", "backward", "lateral")
DIRECTIONS = (ENTRY, EXIT, REENTRY, FORWARD, BACKWARD, LATERAL)


@dataclass(frozen=True, slots=True)
class Cause:
    """The fact behind a derived change, as the first-reached snapshot keeps it."""

    event_id: UUID
    type: str
    source: str | None = None
    source_id: str | None = None
    actor: str | None = None
    campaign: str | None = None
    value: str | None = None
    subject: Subject | None = None
    #: The fact's place in the ledger's sequence (log position, stream version): what
    #: breaks ties between facts of one moment.
    order: tuple[int, int] = field(default=(0, 0), compare=False)

    @classmethod
    def of(cls, recorded: RecordedFact) -> Cause:
        fact = recorded.fact
        return cls(
            event_id=recorded.event_id,
            type=recorded.type,
            source=fact.source,
            source_id=fact.source_id,
            actor=fact.actor,
            campaign=fact.campaign,
            value=getattr(fact, "value", None),
            subject=fact.subject,
            order=sequence(recorded),
        )


def sequence(recorded: RecordedFact) -> tuple[int, int]:
    """The ledger's sequence of a fact: its log position, then its stream version."""
    return recorded.seq or 0, recorded.version


@dataclass(frozen=True, slots=True)
class Step:
    """The subject's stage became `stage` (None: no stage) at `at`."""

    at: datetime
    stage: str | None
    cause: Cause


@dataclass(frozen=True, slots=True)
class Transition:
    subject: Subject
    occurred_at: datetime
    from_stage: str | None
    to_stage: str
    direction: str
    cause: Cause


@dataclass(frozen=True, slots=True)
class Interval:
    """Time in one stage: [entered_at, exited_at); an open interval has no exit."""

    subject: Subject
    stage: str
    entered_at: datetime
    exited_at: datetime | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What was true when a stage was first reached."""

    cause: Cause
    from_stage: str | None
    account_id: str | None


@dataclass(slots=True)
class Stamp:
    subject: Subject
    stage: str
    first_reached_at: datetime
    last_reached_at: datetime | None
    times_reached: int
    snapshot: Snapshot

    @property
    def inferred(self) -> bool:
        return self.times_reached == 0


@dataclass(frozen=True, slots=True)
class Membership:
    """The person belonged to `account_id` over [start, end)."""

    person_id: str
    account_id: str
    start: datetime
    end: datetime | None
    cause: Cause
    #: The fact that ended it (person_left, or a link to another account).
    end_cause: Cause | None = None


@dataclass(frozen=True, slots=True)
class OpportunityLink:
    """The opportunity belonged to `account_id` over [start, end), with `kind` (SPEC §7)."""

    opportunity_id: str
    account_id: str
    kind: str | None
    start: datetime
    end: datetime | None
    cause: Cause
    #: The fact that ended it (a link to another account or of another kind).
    end_cause: Cause | None = None


@dataclass(frozen=True, slots=True)
class RoleChange:
    """A person's role on an opportunity was added or removed at `at` (a `contact_role`)."""

    at: datetime
    order: tuple[int, int]  # the ledger's sequence of the fact, for ties
    opportunity_id: str
    person_id: str
    added: bool
    cause: Cause


@dataclass(frozen=True, slots=True)
class Cascaded:
    """A target a person gets from an opportunity it holds a role on (SPEC §7): applied
    like a `status_changed` that maps to `stage`, sorted among the person's facts by `at`
    and `order` (the sequence of the fact that caused it)."""

    at: datetime
    order: tuple[int, int]
    stage: str
    cause: Cause
    opportunity_id: str


@dataclass(frozen=True, slots=True)
class FlagInterval:
    account_id: str
    flag: str
    raised_at: datetime
    cleared_at: datetime | None
    person_id: str | None = None  # set when cascaded to a person


@dataclass(frozen=True, slots=True)
class HandRaise:
    """A hand raise that moved nobody: why, and the stage the subject was in when it came.

    `reason`: `engaged` (already at or past the target), `exit` (in an exit stage),
    `low_fit` (fit missing or below `min_fit`) or `unlisted_kind`.
    """

    occurred_at: datetime
    kind: str
    fit: str | None
    stage: str | None
    reason: str
    cause: Cause


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one fact derived, for the audit: `kind` and a human-readable `detail`."""

    kind: str  # transition, no_change, signal, unmapped, retracted, recorded
    detail: str
    retracted_by: UUID | None = None
    #: Set for a hand raise that moved nobody (a signal, or unmapped by kind or fit).
    hand_raise: HandRaise | None = None


@dataclass
class SubjectHistory:
    subject: Subject
    steps: list[Step]
    transitions: list[Transition]
    intervals: list[Interval]
    stamps: list[Stamp]
    outcomes: dict[UUID, Outcome] = field(default_factory=dict)
    memberships: list[Membership] = field(default_factory=list)
    flags: list[FlagInterval] = field(default_factory=list)
    #: The subject's own steps, before any account roll-up.
    own_steps: list[Step] = field(default_factory=list)
    #: An opportunity's accounts and kinds over time (SPEC §7).
    opportunity_links: list[OpportunityLink] = field(default_factory=list)

    def stage_at(self, at: datetime) -> str | None:
        return stage_at(self.steps, at)

    def account_links(self) -> list[Membership | OpportunityLink]:
        """Its links to accounts: a person's memberships, an opportunity's links."""
        return [*self.memberships, *self.opportunity_links]


def stage_at(steps: Sequence[Step], at: datetime) -> str | None:
    """The stage as of `at`: that of the last step with `at` on or before it."""
    stage = None
    for step in steps:
        if step.at > at:
            break
        stage = step.stage
    return stage


