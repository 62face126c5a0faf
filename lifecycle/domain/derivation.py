"""Deriving a subject's history from its facts: pure functions, no IO (SPEC §4).

`derive_subject(definitions, facts)` walks one subject's facts and returns its `steps`
(changes of stage over time) with what each fact derived. `history_from_steps` turns steps
into transitions, intervals and stamps; account roll-up (`lifecycle.rollup`) produces steps
of its own and reuses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from lifecycle.domain.definitions import FIT_ORDER, Definitions, normalise
from lifecycle.domain.facts import ACCOUNT, RecordedFact, Subject

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
        )


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

    def stage_at(self, at: datetime) -> str | None:
        return stage_at(self.steps, at)


def stage_at(steps: Sequence[Step], at: datetime) -> str | None:
    """The stage as of `at`: that of the last step with `at` on or before it."""
    stage = None
    for step in steps:
        if step.at > at:
            break
        stage = step.stage
    return stage


def effective_facts(
    facts: Iterable[RecordedFact], known_at: datetime | None = None
) -> tuple[list[RecordedFact], dict[UUID, RecordedFact]]:
    """The facts known at `known_at`, in derivation order, less the retracted ones.

    Returns them sorted by `occurred_at`, ties by recording order, and the retractions
    that apply, keyed by the event they retract.
    """
    known = [f for f in facts if known_at is None or f.recorded_at <= known_at]
    retractions = {
        f.fact.target_event_id: f  # type: ignore[attr-defined]
        for f in known
        if f.type == "retracted"
    }
    kept = [f for f in known if f.event_id not in retractions and f.type != "retracted"]
    kept.sort(key=lambda f: (f.occurred_at, f.version))
    return kept, retractions


def direction(definitions: Definitions, old: str | None, new: str) -> str:
    """The first of entry, exit, reentry, forward, backward, lateral that fits."""
    if old is None:
        return ENTRY
    if definitions.is_exit(new):
        return EXIT
    if definitions.is_exit(old):
        return REENTRY
    old_rank, new_rank = definitions.rank(old), definitions.rank(new)
    assert old_rank is not None and new_rank is not None
    if new_rank > old_rank:
        return FORWARD
    if new_rank < old_rank:
        return BACKWARD
    return LATERAL


def _target(definitions: Definitions, recorded: RecordedFact, current: str | None
            ) -> tuple[str | None, Outcome | None]:
    """The stage a fact moves to, or None with the outcome that explains why not."""
    fact = recorded.fact
    kind = recorded.type
    mapping = definitions.map
    if kind == "status_changed":
        value = normalise(fact.value)  # type: ignore[attr-defined]
        field_name = fact.field  # type: ignore[attr-defined]
        if not value:
            return None, Outcome("unmapped", f"{field_name} cleared")
        stage = definitions.status_lookup.get(field_name, {}).get(value)
        if stage is None:
            return None, Outcome(
                "unmapped", f"{field_name} = {fact.value!r} maps to no stage")  # type: ignore[attr-defined]
        return stage, None
    if kind == "hand_raised":
        hand = mapping.hand_raised
        if hand is None or normalise(fact.kind) not in definitions.hand_raise_kinds:  # type: ignore[attr-defined]
            return None, Outcome("unmapped", f"hand raise {fact.kind!r} is not a listed kind",  # type: ignore[attr-defined]
                                 hand_raise=_hand_raise(recorded, current, "unlisted_kind"))
        fit = fact.fit  # type: ignore[attr-defined]
        if hand.min_fit is not None and (fit is None or FIT_ORDER[fit] < FIT_ORDER[hand.min_fit]):
            return None, Outcome(
                "unmapped", f"hand raise fit {fit or 'missing'} is below {hand.min_fit}",
                hand_raise=_hand_raise(recorded, current, "low_fit"))
        current_rank = definitions.rank(current)
        target_rank = definitions.rank(hand.to)
        moves = current is None or (
            current_rank is not None and target_rank is not None and current_rank < target_rank)
        if not moves:
            reason = "exit" if definitions.is_exit(current) else "engaged"
            return None, Outcome("signal", f"hand raise {fact.kind!r} while in {current}",  # type: ignore[attr-defined]
                                 hand_raise=_hand_raise(recorded, current, reason))
        return hand.to, None
    if kind in ("disqualified", "person_left"):
        stage = getattr(mapping, kind)
        if stage is None:
            return None, Outcome("unmapped", f"{kind} maps to no stage")
        return stage, None
    return None, None


def _hand_raise(recorded: RecordedFact, current: str | None, reason: str) -> HandRaise:
    fact = recorded.fact
    return HandRaise(recorded.occurred_at, fact.kind, fact.fit, current, reason,  # type: ignore[attr-defined]
                     Cause.of(recorded))


def walk(definitions: Definitions, facts: Sequence[RecordedFact]
         ) -> tuple[list[Step], dict[UUID, Outcome]]:
    """Steps 1-2 of SPEC §4: each fact's target, and the changes of stage it makes."""
    steps: list[Step] = []
    outcomes: dict[UUID, Outcome] = {}
    current: str | None = None
    for recorded in facts:
        target, outcome = _target(definitions, recorded, current)
        if target is None:
            outcomes[recorded.event_id] = outcome or Outcome("recorded", _describe(recorded))
        elif target == current:
            outcomes[recorded.event_id] = Outcome("no_change", f"already in {target}")
        else:
            move = direction(definitions, current, target)
            outcomes[recorded.event_id] = Outcome(
                "transition", f"{current or '(none)'} -> {target} ({move})")
            steps.append(Step(recorded.occurred_at, target, Cause.of(recorded)))
            current = target
    return steps, outcomes


def _describe(recorded: RecordedFact) -> str:
    fact = recorded.fact
    if recorded.type == "person_linked":
        return f"linked to account {fact.account_id}"
    if recorded.type == "renewal_flagged":
        return f"{fact.flag} {fact.state}"  # type: ignore[attr-defined]
    return "derives no stage"


def memberships(facts: Sequence[RecordedFact]) -> list[Membership]:
    """A person's accounts over time, from `person_linked` and `person_left`."""
    result: list[Membership] = []
    open_: Membership | None = None
    for recorded in facts:
        if recorded.type not in ("person_linked", "person_left"):
            continue
        fact = recorded.fact
        at = recorded.occurred_at
        if recorded.type == "person_linked" and open_ is not None \
                and open_.account_id == fact.account_id:
            continue
        if open_ is not None:
            result.append(Membership(open_.person_id, open_.account_id, open_.start, at,
                                     open_.cause, Cause.of(recorded)))
            open_ = None
        if recorded.type == "person_linked":
            assert fact.person_id is not None and fact.account_id is not None
            open_ = Membership(fact.person_id, fact.account_id, at, None, Cause.of(recorded))
    if open_ is not None:
        result.append(open_)
    return result


def account_at(links: Sequence[Membership], at: datetime) -> str | None:
    for link in links:
        if link.start <= at and (link.end is None or at < link.end):
            return link.account_id
    return None


def flag_intervals(account_id: str, facts: Sequence[RecordedFact]) -> list[FlagInterval]:
    """Renewal, upgrade and at-risk flags: raised to cleared."""
    raised: dict[str, datetime] = {}
    result: list[FlagInterval] = []
    for recorded in facts:
        if recorded.type != "renewal_flagged":
            continue
        fact = recorded.fact
        flag, state = fact.flag, fact.state  # type: ignore[attr-defined]
        if state == "raised" and flag not in raised:
            raised[flag] = recorded.occurred_at
        elif state == "cleared" and flag in raised:
            result.append(FlagInterval(account_id, flag, raised.pop(flag), recorded.occurred_at))
    result += [FlagInterval(account_id, flag, at, None) for flag, at in raised.items()]
    result.sort(key=lambda f: (f.raised_at, f.flag))
    return result


def cascade_flags(links: Sequence[Membership], flags_by_account: dict[str, list[FlagInterval]]
                  ) -> list[FlagInterval]:
    """A person has the flags its account has, while it belongs to the account."""
    result = []
    for link in links:
        for flag in flags_by_account.get(link.account_id, []):
            start = max(link.start, flag.raised_at)
            ends = [e for e in (link.end, flag.cleared_at) if e is not None]
            end = min(ends) if ends else None
            if end is None or start < end:
                result.append(FlagInterval(link.account_id, flag.flag, start, end,
                                           person_id=link.person_id))
    result.sort(key=lambda f: (f.raised_at, f.flag))
    return result


def history_from_steps(definitions: Definitions, subject: Subject, steps: Sequence[Step],
                       links: Sequence[Membership] = ()) -> tuple[
                           list[Transition], list[Interval], list[Stamp]]:
    """Steps 2-5 of SPEC §4: transitions with directions, intervals and stamps."""
    transitions: list[Transition] = []
    intervals: list[Interval] = []
    stamps: dict[str, Stamp] = {}
    current: str | None = None
    entered: datetime | None = None
    for step in steps:
        if step.stage == current:
            continue
        if current is not None:
            assert entered is not None
            intervals.append(Interval(subject, current, entered, step.at))
        if step.stage is None:
            current, entered = None, None
            continue
        move = direction(definitions, current, step.stage)
        transitions.append(Transition(subject, step.at, current, step.stage, move, step.cause))
        _stamp(definitions, stamps, subject, current, step, move, account_at(links, step.at))
        current, entered = step.stage, step.at
    if current is not None:
        assert entered is not None
        intervals.append(Interval(subject, current, entered, None))
    ordered = sorted(stamps.values(), key=lambda s: definitions.order[s.stage])
    return transitions, intervals, ordered


def _stamp(definitions: Definitions, stamps: dict[str, Stamp], subject: Subject,
           old: str | None, step: Step, move: str, account_id: str | None) -> None:
    target = step.stage
    assert target is not None
    snapshot = Snapshot(step.cause, old, account_id)
    stamp = stamps.get(target)
    if stamp is None:
        stamps[target] = Stamp(subject, target, step.at, step.at, 1, snapshot)
    else:
        stamp.times_reached += 1
        stamp.last_reached_at = step.at
    if not definitions.stamp_skipped or definitions.stage_by_key[target].kind != "path":
        return
    target_rank = definitions.rank(target)
    assert target_rank is not None
    if move == FORWARD:
        low = definitions.rank(old)
        assert low is not None
    elif move in (ENTRY, REENTRY):
        low = None
    else:
        return
    for skipped in definitions.path_stages:
        rank = skipped.rank
        assert rank is not None
        if rank >= target_rank or (low is not None and rank <= low):
            continue
        if skipped.key not in stamps:
            stamps[skipped.key] = Stamp(subject, skipped.key, step.at, None, 0, snapshot)


def derive_subject(definitions: Definitions, subject: Subject, facts: Iterable[RecordedFact],
                   known_at: datetime | None = None) -> SubjectHistory:
    """Everything one subject's own facts derive (an account before roll-up)."""
    kept, retractions = effective_facts(facts, known_at)
    steps, outcomes = walk(definitions, kept)
    for target, retraction in retractions.items():
        outcomes[target] = Outcome(
            "retracted", retraction.fact.reason or "", retracted_by=retraction.event_id)  # type: ignore[attr-defined]
    for retraction in retractions.values():
        outcomes[retraction.event_id] = Outcome("recorded", "retraction")
    links = memberships(kept) if subject.type != ACCOUNT else []
    flags = flag_intervals(subject.id, kept) if subject.type == ACCOUNT else []
    transitions, intervals, stamps = history_from_steps(definitions, subject, steps, links)
    return SubjectHistory(subject, steps, transitions, intervals, stamps, outcomes, links,
                          flags, own_steps=steps)
