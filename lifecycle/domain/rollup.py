"""Account roll-up: an account's stage from its own stage and its members' (SPEC §4, §7).

Pure: it takes the account's own history and, for each member ever linked to it (persons,
and opportunities), its links to the account and its steps, and returns the account's
history under roll-up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lifecycle.domain.definitions import Definitions
from lifecycle.domain.derivation import history_from_steps
from lifecycle.domain.facts import Subject
from lifecycle.domain.history import Cause, Membership, OpportunityLink, Step, SubjectHistory

OWN = Subject("", "\x00own")  # the account's own contribution, never a member


@dataclass(frozen=True, slots=True)
class Member:
    """One person or opportunity as the roll-up of one account sees it."""

    subject: Subject
    links: Sequence[Membership | OpportunityLink]  # only its links to this account
    steps: Sequence[Step]


def _precedence(definitions: Definitions, stage: str) -> tuple[int, int, int]:
    """Higher wins: rank, then a path stage over an off-path one, then listed first."""
    info = definitions.stage_by_key[stage]
    assert info.rank is not None
    return info.rank, 1 if info.kind == "path" else 0, -definitions.order[stage]


def rollup_account(definitions: Definitions, own: SubjectHistory,
                   members: Sequence[Member]) -> SubjectHistory:
    """The account's history under `account_rollup: most_advanced` (or its own under none)."""
    if definitions.account_rollup == "none" or not members:
        return own
    # Every change at a moment: (at, order, contributor, kind, value, cause)
    changes: list[tuple[datetime, int, Subject, str, str | None, Cause]] = []
    for step in own.own_steps:
        changes.append((step.at, len(changes), OWN, "stage", step.stage, step.cause))
    # Members in a fixed order, whatever order they came in: which fact is credited for a
    # change at a moment must not depend on how the subjects were fed (a catch-up of a few
    # subjects and a full replay feed them differently).
    for member in sorted(members, key=lambda m: m.subject):
        for step in member.steps:
            changes.append((step.at, len(changes), member.subject, "stage", step.stage,
                            step.cause))
        for link in member.links:
            changes.append((link.start, len(changes), member.subject, "link", "in",
                            link.cause))
            if link.end is not None:
                changes.append((link.end, len(changes), member.subject, "link", None,
                                link.end_cause or link.cause))
    changes.sort(key=lambda c: (c[0], c[1]))

    stage_of: dict[Subject, str | None] = {}
    linked: dict[Subject, bool] = {OWN: True}
    ranked = Counter[str]()  # ranked stages among contributors that count now
    steps: list[Step] = []
    current: str | None = None

    def contribution(who: Subject) -> str | None:
        stage = stage_of.get(who)
        if linked.get(who) and stage is not None and definitions.rank(stage) is not None:
            return stage
        return None

    index = 0
    while index < len(changes):
        at = changes[index][0]
        causes: dict[Subject, Cause] = {}
        while index < len(changes) and changes[index][0] == at:
            _, _, who, kind, value, cause = changes[index]
            before = contribution(who)
            if kind == "stage":
                stage_of[who] = value
            else:
                linked[who] = value is not None
            after = contribution(who)
            if before != after:
                if before is not None:
                    ranked[before] -= 1
                if after is not None:
                    ranked[after] += 1
            causes[who] = cause
            index += 1
        present = [stage for stage, count in ranked.items() if count > 0]
        if present:
            best: str | None = max(present, key=lambda s: _precedence(definitions, s))
        else:
            best = stage_of.get(OWN)
        if best != current:
            steps.append(Step(at, best, _cause_of(best, stage_of, linked, causes)))
            current = best
    transitions, intervals, stamps = history_from_steps(definitions, own.subject, steps)
    return SubjectHistory(own.subject, steps, transitions, intervals, stamps, own.outcomes,
                          own.memberships, own.flags, own_steps=own.own_steps)


def _cause_of(best: str | None, stage_of: dict[Subject, str | None],
              linked: dict[Subject, bool], causes: dict[Subject, Cause]) -> Cause:
    """The fact behind a roll-up change: that of a contributor now holding the stage and
    changed at this moment; else whatever changed at this moment."""
    for who, cause in causes.items():
        if stage_of.get(who) == best and linked.get(who):
            return cause
    return next(iter(causes.values()))
