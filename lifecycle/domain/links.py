"""Who belongs to which account when, and the account flags its persons carry (pure)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from lifecycle.domain.history import Cause, FlagInterval, Membership, OpportunityLink
from lifecycle.domain.recorded import RecordedFact

#: An id resolved to its survivor's (SPEC §8).
Resolve = Callable[[str], str]


def same(subject_id: str) -> str:
    """No merges: every id is its own."""
    return subject_id


def memberships(facts: Sequence[RecordedFact], person_id: str | None = None,
                account_of: Resolve = same) -> list[Membership]:
    """A person's accounts over time, from `person_linked` and `person_left`.

    `person_id` names the person (its survivor's id when its facts come from several ids)
    and `account_of` resolves an account id to its survivor's (SPEC §8)."""
    result: list[Membership] = []
    open_: Membership | None = None
    for recorded in facts:
        if recorded.type not in ("person_linked", "person_left"):
            continue
        fact = recorded.fact
        at = recorded.occurred_at
        account = (account_of(fact.account_id) if recorded.type == "person_linked"
                   and fact.account_id is not None else None)
        if account is not None and open_ is not None and open_.account_id == account:
            continue
        if open_ is not None:
            result.append(Membership(open_.person_id, open_.account_id, open_.start, at,
                                     open_.cause, Cause.of(recorded)))
            open_ = None
        if account is not None:
            member = person_id if person_id is not None else fact.person_id
            assert member is not None
            open_ = Membership(member, account, at, None, Cause.of(recorded))
    if open_ is not None:
        result.append(open_)
    return result


def account_at(links: Sequence[Membership | OpportunityLink], at: datetime) -> str | None:
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
        flag, state = fact.flag, fact.state
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
