"""Opportunities (SPEC §7; pure): their accounts and kinds over time, the roles persons hold
on them, the stages those roles cascade to persons, and the flags open ones give accounts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from lifecycle.domain.definitions import Definitions, normalise
from lifecycle.domain.history import (
    Cascaded,
    Cause,
    FlagInterval,
    OpportunityLink,
    RoleChange,
    Step,
    sequence,
    stage_at,
)
from lifecycle.domain.links import Resolve, same
from lifecycle.domain.recorded import RecordedFact


def opportunity_links(opportunity_id: str, facts: Sequence[RecordedFact],
                      account_of: Resolve = same) -> list[OpportunityLink]:
    """The opportunity's account and kind over time: those of its latest
    `opportunity_linked` at or before each moment."""
    result: list[OpportunityLink] = []
    open_: OpportunityLink | None = None
    for recorded in facts:
        if recorded.type != "opportunity_linked":
            continue
        assert recorded.fact.account_id is not None  # validated: it names both
        account, kind = account_of(recorded.fact.account_id), recorded.fact.kind
        if open_ is not None and (open_.account_id, open_.kind) == (account, kind):
            continue
        at = recorded.occurred_at
        if open_ is not None:
            result.append(OpportunityLink(open_.opportunity_id, open_.account_id, open_.kind,
                                          open_.start, at, open_.cause, Cause.of(recorded)))
        open_ = OpportunityLink(opportunity_id, account, kind, at, None, Cause.of(recorded))
    if open_ is not None:
        result.append(open_)
    return result


def role_changes(opportunity_id: str, facts: Iterable[RecordedFact],
                 person_of: Resolve = same) -> list[RoleChange]:
    """The opportunity's `contact_role` facts, as role changes of the persons they name."""
    return [RoleChange(f.occurred_at, sequence(f), opportunity_id,
                       person_of(f.fact.person_id or ""), f.fact.state == "added", Cause.of(f))
            for f in facts if f.type == "contact_role"]


def cascaded(roles: Sequence[RoleChange], steps_of: dict[str, Sequence[Step]]
             ) -> list[Cascaded]:
    """The targets one person gets from the opportunities it holds a role on.

    While the person holds a role (its latest role change at or before T, read after
    every change at T, is `added`), each transition of the opportunity into a stage S at T
    gives it S at T; so does each `added` at T when the opportunity then has a stage S."""
    by_opportunity: dict[str, list[RoleChange]] = defaultdict(list)
    for change in roles:
        by_opportunity[change.opportunity_id].append(change)
    result: list[Cascaded] = []
    for opportunity_id, changes in by_opportunity.items():
        changes.sort(key=lambda c: (c.at, c.order))
        steps = steps_of.get(opportunity_id, ())
        for step in steps:
            if step.stage is not None and _holds(changes, step.at):
                result.append(Cascaded(step.at, step.cause.order, step.stage, step.cause,
                                       opportunity_id))
        for change in changes:
            stage = stage_at(steps, change.at) if change.added else None
            if stage is not None:
                result.append(Cascaded(change.at, change.order, stage, change.cause,
                                       opportunity_id))
    result.sort(key=lambda c: (c.at, c.order))
    return result


def _holds(changes: Sequence[RoleChange], at: datetime) -> bool:
    held = False
    for change in changes:
        if change.at > at:
            break
        held = change.added
    return held


def opportunity_flags(definitions: Definitions, account_id: str,
                      opportunities: Iterable[tuple[Sequence[OpportunityLink], Sequence[Step]]]
                      ) -> list[FlagInterval]:
    """The flags the account has from its open opportunities of a listed kind."""
    result: list[FlagInterval] = []
    for links, steps in opportunities:
        for link in links:
            flag = definitions.flag_kinds.get(normalise(link.kind or ""))
            if link.account_id != account_id or flag is None:
                continue
            result += _open_spans(definitions, account_id, flag, link, steps)
    return result


def _open_spans(definitions: Definitions, account_id: str, flag: str, link: OpportunityLink,
                steps: Sequence[Step]) -> list[FlagInterval]:
    """The parts of `link` during which the opportunity was open."""
    spans: list[FlagInterval] = []
    moments = [link.start] + [s.at for s in steps if link.start < s.at
                              and (link.end is None or s.at < link.end)]
    opened: datetime | None = None
    for at in moments:
        is_open = definitions.is_open(stage_at(steps, at))
        if is_open and opened is None:
            opened = at
        elif not is_open and opened is not None:
            spans.append(FlagInterval(account_id, flag, opened, at))
            opened = None
    if opened is not None:
        spans.append(FlagInterval(account_id, flag, opened, link.end))
    return spans


def union_flags(first: Sequence[FlagInterval], second: Sequence[FlagInterval]
                ) -> list[FlagInterval]:
    """Both sets of flag intervals, overlapping ones of a flag joined into one."""
    by_flag: dict[str, list[FlagInterval]] = defaultdict(list)
    for flag in [*first, *second]:
        by_flag[flag.flag].append(flag)
    result: list[FlagInterval] = []
    for intervals in by_flag.values():
        intervals.sort(key=lambda f: f.raised_at)
        current = intervals[0]
        for nxt in intervals[1:]:
            if current.cleared_at is None or nxt.raised_at < current.cleared_at:
                end = None if current.cleared_at is None or nxt.cleared_at is None else max(
                    current.cleared_at, nxt.cleared_at)
                current = FlagInterval(current.account_id, current.flag, current.raised_at, end)
            else:
                result.append(current)
                current = nxt
        result.append(current)
    result.sort(key=lambda f: (f.raised_at, f.flag))
    return result
