"""Deriving many subjects at once: persons, then accounts rolled up from them (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from lifecycle.domain.definitions import Definitions
from lifecycle.domain.derivation import derive_subject
from lifecycle.domain.facts import ACCOUNT, PERSON, Subject
from lifecycle.domain.history import SubjectHistory
from lifecycle.domain.progress import SILENT, Progress
from lifecycle.domain.recorded import RecordedFact
from lifecycle.domain.rollup import Member, rollup_account


class Replay:
    """Feed it subjects' facts, stream by stream; `finish` rolls accounts up.

    Persons are derived as they arrive (their facts are not kept); accounts wait for
    their members.
    """

    def __init__(self, definitions: Definitions, known_at: datetime | None = None):
        self.definitions = definitions
        self.known_at = known_at
        self.persons: dict[str, SubjectHistory] = {}
        self.account_facts: dict[str, Sequence[RecordedFact]] = {}

    def add(self, subject: Subject, facts: Sequence[RecordedFact]) -> None:
        if subject.type == PERSON:
            self.persons[subject.id] = derive_subject(
                self.definitions, subject, facts, self.known_at)
        else:
            self.account_facts[subject.id] = facts

    def members_by_account(self) -> dict[str, list[Member]]:
        grouped: dict[str, list[Member]] = defaultdict(list)
        for person_id, history in self.persons.items():
            by_account = defaultdict(list)
            for link in history.memberships:
                by_account[link.account_id].append(link)
            for account_id, links in by_account.items():
                grouped[account_id].append(Member(person_id, links, history.steps))
        return grouped

    def finish(self, accounts: Iterable[str] | None = None, progress: Progress = SILENT
               ) -> dict[Subject, SubjectHistory]:
        """Every person's history and the rolled-up history of `accounts` (default: every
        account with facts of its own or with a person ever linked to it)."""
        members = self.members_by_account()
        wanted = set(accounts) if accounts is not None else (
            set(self.account_facts) | set(members))
        progress.phase("rolling up accounts", len(wanted), "accounts")
        result: dict[Subject, SubjectHistory] = {
            Subject(PERSON, pid): history for pid, history in self.persons.items()}
        for account_id in sorted(wanted):
            subject = Subject(ACCOUNT, account_id)
            own = derive_subject(self.definitions, subject,
                                 self.account_facts.get(account_id, ()), self.known_at)
            result[subject] = rollup_account(self.definitions, own,
                                             members.get(account_id, ()))
            progress.advance()
        return result
