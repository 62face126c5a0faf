"""Deriving many subjects at once (pure): identities resolved, then opportunities, then
persons (with the stages they take from opportunities), then accounts rolled up from their
members (SPEC §4, §7, §8)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from lifecycle.domain.definitions import Definitions
from lifecycle.domain.derivation import derive_subject, effective_facts
from lifecycle.domain.facts import ACCOUNT, OPPORTUNITY, PERSON, Subject
from lifecycle.domain.history import (
    Membership,
    OpportunityLink,
    RoleChange,
    Step,
    SubjectHistory,
)
from lifecycle.domain.identity import Identities, identities_of
from lifecycle.domain.opportunities import (
    cascaded,
    opportunity_flags,
    role_changes,
    union_flags,
)
from lifecycle.domain.progress import SILENT, Progress
from lifecycle.domain.recorded import RecordedFact
from lifecycle.domain.rollup import Member, rollup_account


class Replay:
    """Feed it subjects' facts, stream by stream; `finish` derives them all.

    Facts are kept until `finish`, which needs them all to resolve identities and cascades.
    `entangled` (optional) says which persons take part in a merge or hold a role on an
    opportunity; the others are derived as they arrive and their facts dropped, which keeps
    a rebuild's memory to its histories. Without it every person's facts are kept.
    """

    def __init__(self, definitions: Definitions, known_at: datetime | None = None,
                 entangled: Callable[[Subject], bool] | None = None):
        self.definitions = definitions
        self.known_at = known_at
        self.entangled = entangled
        self.facts: dict[Subject, Sequence[RecordedFact]] = {}
        self.derived: dict[Subject, SubjectHistory] = {}

    def add(self, subject: Subject, facts: Sequence[RecordedFact]) -> None:
        if subject.type == PERSON and self.entangled is not None \
                and not self.entangled(subject):
            self.derived[subject] = derive_subject(self.definitions, subject, facts,
                                                   self.known_at)
        else:
            self.facts[subject] = facts

    def identities(self) -> Identities:
        return identities_of((f for facts in self.facts.values() for f in facts
                              if f.type in ("merged", "retracted")), self.known_at)

    def finish(self, accounts: Iterable[str] | None = None, progress: Progress = SILENT
               ) -> dict[Subject, SubjectHistory]:
        """Every person's and opportunity's history (under its survivor's id) and the
        rolled-up history of `accounts` (default: every account with facts of its own or
        with a member ever linked to it)."""
        identities = self.identities()
        groups: dict[Subject, list[RecordedFact]] = defaultdict(list)
        for subject, facts in self.facts.items():
            groups[identities.survivor(subject)].extend(facts)
        result = dict(self.derived)
        opportunities = self._opportunities(groups, identities)
        result.update(opportunities)
        result.update(self._persons(groups, identities, opportunities))
        members = _members_by_account(result.values())
        wanted = set(accounts) if accounts is not None else (
            {s.id for s in groups if s.type == ACCOUNT} | set(members))
        # Each account's opportunities, found once (not a pass over all of them per account).
        linked: dict[str, list[SubjectHistory]] = defaultdict(list)
        for history in opportunities.values():
            for account_id in dict.fromkeys(link.account_id
                                            for link in history.opportunity_links):
                linked[account_id].append(history)
        progress.phase("rolling up accounts", len(wanted), "accounts")
        for account_id in sorted(wanted):
            progress.advance()
            subject = Subject(ACCOUNT, account_id)
            if identities.is_alias(subject):
                continue
            own = derive_subject(self.definitions, subject, groups.get(subject, ()),
                                 self.known_at, identities)
            from_opportunities = opportunity_flags(
                self.definitions, account_id,
                ((h.opportunity_links, h.steps) for h in linked.get(account_id, ())))
            if from_opportunities:
                own.flags = union_flags(own.flags, from_opportunities)
            result[subject] = rollup_account(self.definitions, own,
                                             members.get(account_id, ()))
        return result

    def _opportunities(self, groups: dict[Subject, list[RecordedFact]],
                       identities: Identities) -> dict[Subject, SubjectHistory]:
        return {subject: derive_subject(self.definitions, subject, facts, self.known_at,
                                        identities)
                for subject, facts in sorted(groups.items()) if subject.type == OPPORTUNITY}

    def _persons(self, groups: dict[Subject, list[RecordedFact]], identities: Identities,
                 opportunities: dict[Subject, SubjectHistory]
                 ) -> dict[Subject, SubjectHistory]:
        roles: dict[str, list[RoleChange]] = defaultdict(list)
        steps_of: dict[str, Sequence[Step]] = {}
        if self.definitions.opportunity_cascade == "contact_roles":
            for subject, history in opportunities.items():
                steps_of[subject.id] = history.steps
                kept, _ = effective_facts(groups[subject], self.known_at)
                for change in role_changes(
                        subject.id, kept, lambda pid: identities.survivor_id(PERSON, pid)):
                    roles[change.person_id].append(change)
        persons = {s for s in groups if s.type == PERSON}
        persons |= {Subject(PERSON, person_id) for person_id in roles}
        return {subject: derive_subject(self.definitions, subject, groups.get(subject, ()),
                                        self.known_at, identities,
                                        cascaded(roles.get(subject.id, ()), steps_of))
                for subject in sorted(persons)}


def _members_by_account(histories: Iterable[SubjectHistory]) -> dict[str, list[Member]]:
    grouped: dict[str, list[Member]] = defaultdict(list)
    for history in histories:
        by_account: dict[str, list[Membership | OpportunityLink]] = defaultdict(list)
        for link in history.account_links():
            by_account[link.account_id].append(link)
        for account_id, links in by_account.items():
            grouped[account_id].append(Member(history.subject, links, history.steps))
    return grouped
