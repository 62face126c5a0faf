"""Deriving a subject's history from its facts: pure functions, no IO (SPEC §4).

`derive_subject(definitions, facts)` walks one subject's facts and returns its `steps`
(changes of stage over time) with what each fact derived. `history_from_steps` turns steps
into transitions, intervals and stamps; account roll-up (`rollup`) produces steps
of its own and reuses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

from lifecycle.domain.definitions import FIT_ORDER, Definitions, normalise
from lifecycle.domain.facts import ACCOUNT, OPPORTUNITY, PERSON, Subject
from lifecycle.domain.history import (
    BACKWARD,
    ENTRY,
    EXIT,
    FORWARD,
    LATERAL,
    REENTRY,
    Cascaded,
    Cause,
    FlagInterval,
    HandRaise,
    Interval,
    Membership,
    OpportunityLink,
    Outcome,
    Snapshot,
    Stamp,
    Step,
    SubjectHistory,
    Transition,
    sequence,
)
from lifecycle.domain.identity import NO_MERGES, Identities
from lifecycle.domain.links import account_at, flag_intervals, memberships
from lifecycle.domain.opportunities import opportunity_links
from lifecycle.domain.recorded import RecordedFact


def effective_facts(
    facts: Iterable[RecordedFact], known_at: datetime | None = None
) -> tuple[list[RecordedFact], dict[UUID, RecordedFact]]:
    """The facts known at `known_at`, in derivation order, less the retracted ones.

    Returns them sorted by `occurred_at`, ties by recording order, and the retractions
    that apply, keyed by the event they retract.
    """
    known = [f for f in facts if known_at is None or f.recorded_at <= known_at]
    retractions = {
        f.fact.target_event_id: f
        for f in known
        if f.type == "retracted"
    }
    kept = [f for f in known if f.event_id not in retractions and f.type != "retracted"]
    kept.sort(key=lambda f: (f.occurred_at, sequence(f)))
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
        value = normalise(fact.value)
        field_name = fact.field
        if not value:
            return None, Outcome("unmapped", f"{field_name} cleared")
        stage = definitions.status_lookup.get(field_name, {}).get(value)
        if stage is None:
            return None, Outcome(
                "unmapped", f"{field_name} = {fact.value!r} maps to no stage")
        return stage, None
    if kind == "hand_raised":
        hand = mapping.hand_raised
        if hand is None or normalise(fact.kind) not in definitions.hand_raise_kinds:
            return None, Outcome("unmapped", f"hand raise {fact.kind!r} is not a listed kind",
                                 hand_raise=_hand_raise(recorded, current, "unlisted_kind"))
        fit = fact.fit
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
            return None, Outcome("signal", f"hand raise {fact.kind!r} while in {current}",
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
    return HandRaise(recorded.occurred_at, fact.kind, fact.fit, current, reason,
                     Cause.of(recorded))


def walk(definitions: Definitions, facts: Sequence[RecordedFact],
         cascades: Sequence[Cascaded] = ()) -> tuple[list[Step], dict[UUID, Outcome]]:
    """Steps 1-2 of SPEC §4: each fact's target, and the changes of stage it makes.

    `cascades` are the targets a person gets from opportunities (SPEC §7), walked among
    its facts by time, ties by the sequence of the fact that caused each; their outcomes
    are keyed by that fact's event id."""
    steps: list[Step] = []
    outcomes: dict[UUID, Outcome] = {}
    current: str | None = None
    for item in _in_order(facts, cascades):
        target: str | None
        if isinstance(item, Cascaded):
            at, target, cause, outcome = item.at, item.stage, item.cause, None
            via = f" (from opportunity {item.opportunity_id})"
        else:
            target, outcome = _target(definitions, item, current)
            at, cause, via = item.occurred_at, Cause.of(item), ""
        if target is None:
            assert isinstance(item, RecordedFact)
            outcomes[item.event_id] = outcome or Outcome("recorded", _describe(item))
        elif target == current:
            outcomes[cause.event_id] = Outcome("no_change", f"already in {target}{via}")
        else:
            move = direction(definitions, current, target)
            outcomes[cause.event_id] = Outcome(
                "transition", f"{current or '(none)'} -> {target} ({move}){via}")
            steps.append(Step(at, target, cause))
            current = target
    return steps, outcomes


def _in_order(facts: Sequence[RecordedFact], cascades: Sequence[Cascaded]
              ) -> list[RecordedFact | Cascaded]:
    if not cascades:
        return list(facts)
    keyed: list[tuple[datetime, tuple[int, int], RecordedFact | Cascaded]] = [
        (f.occurred_at, sequence(f), f) for f in facts]
    keyed += [(c.at, c.order, c) for c in cascades]
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [item for _, _, item in keyed]


def _describe(recorded: RecordedFact) -> str:
    fact = recorded.fact
    if recorded.type in ("person_linked", "opportunity_linked"):
        kind = f" ({fact.kind})" if recorded.type == "opportunity_linked" and fact.kind else ""
        return f"linked to account {fact.account_id}{kind}"
    if recorded.type == "renewal_flagged":
        return f"{fact.flag} {fact.state}"
    if recorded.type == "contact_role":
        role = f" ({fact.role})" if fact.role else ""
        return f"role{role} {fact.state} for person {fact.person_id}"
    if recorded.type == "merged":
        return f"{recorded.subject.type} {fact.merged_id} merged into {recorded.subject.id}"
    return "derives no stage"


def history_from_steps(definitions: Definitions, subject: Subject, steps: Sequence[Step],
                       links: Sequence[Membership | OpportunityLink] = ()) -> tuple[
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
                   known_at: datetime | None = None, identities: Identities = NO_MERGES,
                   cascades: Sequence[Cascaded] = ()) -> SubjectHistory:
    """Everything one subject's own facts derive (an account before roll-up).

    `facts` are those of the subject and of its aliases; `identities` resolves the
    accounts they name to survivors (SPEC §8); `cascades` are a person's targets from the
    opportunities it holds a role on (SPEC §7)."""
    kept, retractions = effective_facts(facts, known_at)
    steps, outcomes = walk(definitions, kept, cascades)
    for target, retraction in retractions.items():
        outcomes[target] = Outcome(
            "retracted", retraction.fact.reason or "", retracted_by=retraction.event_id)
    for retraction in retractions.values():
        outcomes[retraction.event_id] = Outcome("recorded", "retraction")

    def account_of(account_id: str) -> str:
        return identities.survivor_id(ACCOUNT, account_id)

    links: list[Membership] = []
    opportunity: list[OpportunityLink] = []
    flags: list[FlagInterval] = []
    if subject.type == PERSON:
        links = memberships(kept, subject.id, account_of)
    elif subject.type == OPPORTUNITY:
        opportunity = opportunity_links(subject.id, kept, account_of)
    else:
        flags = flag_intervals(subject.id, kept)
    transitions, intervals, stamps = history_from_steps(definitions, subject, steps,
                                                        links or opportunity)
    return SubjectHistory(subject, steps, transitions, intervals, stamps, outcomes, links,
                          flags, own_steps=steps, opportunity_links=opportunity)
