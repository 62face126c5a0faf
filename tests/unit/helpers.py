"""Builders for pure unit tests: facts, recorded facts, definitions, derivation shortcuts.

No database: a `Log` hands out `RecordedFact`s with per-subject versions, a global
sequence and a `recorded_at` clock, the way the ledger would.
"""

from __future__ import annotations

import copy
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import yaml

from lifecycle.domain.definitions import Definitions, definitions_from_data, load_definitions
from lifecycle.domain.derivation import derive_subject
from lifecycle.domain.facts import ACCOUNT, OPPORTUNITY, PERSON, FactModel, Subject, parse_fact
from lifecycle.domain.history import SubjectHistory
from lifecycle.domain.recorded import RecordedFact
from lifecycle.domain.replay import Replay
from lifecycle.domain.starters import DATA

T0 = datetime(2024, 1, 1, tzinfo=UTC)
#: When the ledger starts recording (well after every occurred_at used in tests).
REC0 = datetime(2025, 1, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    """`n` days after 2024-01-01T00:00:00Z."""
    return T0 + timedelta(days=n)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def P(person_id: str) -> Subject:
    return Subject(PERSON, person_id)


def A(account_id: str) -> Subject:
    return Subject(ACCOUNT, account_id)


def O(opportunity_id: str) -> Subject:  # noqa: E743
    return Subject(OPPORTUNITY, opportunity_id)


# ---- facts -----------------------------------------------------------------------------


def _subject_fields(subject: Subject) -> dict[str, str]:
    return {f"{subject.type}_id": subject.id}


def fact(type_: str, subject: Subject, at: datetime | str, **fields: Any) -> FactModel:
    data = {"type": type_, **_subject_fields(subject),
            "occurred_at": at if isinstance(at, str) else iso(at)}
    data.update({k: v for k, v in fields.items() if v is not None})
    return parse_fact(data)


def status(subject: Subject, value: str, at: datetime, field: str = "lifecycle_stage",
           **extra: Any) -> FactModel:
    return fact("status_changed", subject, at, field=field, value=value, **extra)


def hand(person: str, at: datetime, kind: str = "demo_request", fit: str | None = "high",
         **extra: Any) -> FactModel:
    return fact("hand_raised", P(person), at, kind=kind, fit=fit, **extra)


def disq(subject: Subject, at: datetime, **extra: Any) -> FactModel:
    return fact("disqualified", subject, at, **extra)


def left(person: str, at: datetime) -> FactModel:
    return fact("person_left", P(person), at)


def link(person: str, account: str, at: datetime) -> FactModel:
    return parse_fact({"type": "person_linked", "person_id": person, "account_id": account,
                       "occurred_at": iso(at)})


def flag(account: str, name: str, state: str, at: datetime) -> FactModel:
    return fact("renewal_flagged", A(account), at, flag=name, state=state)


def opp_link(opportunity: str, account: str, at: datetime, kind: str | None = None
             ) -> FactModel:
    return fact("opportunity_linked", O(opportunity), at, account_id=account, kind=kind)


def stage(opportunity: str, value: str, at: datetime, **extra: Any) -> FactModel:
    """An opportunity's StageName changed (Salesforce's OpportunityHistory)."""
    return status(O(opportunity), value, at, field="StageName", **extra)


def role(opportunity: str, person: str, at: datetime, state: str = "added",
         **extra: Any) -> FactModel:
    return fact("contact_role", O(opportunity), at, person_id=person, state=state, **extra)


def merge(survivor: Subject, alias: str, at: datetime, **extra: Any) -> FactModel:
    return fact("merged", survivor, at, merged_id=alias, **extra)


# ---- recording -------------------------------------------------------------------------


class Log:
    """An in-memory stand-in for the ledger: versions per subject, a global sequence and a
    recorded_at clock that advances one second per fact unless told otherwise."""

    def __init__(self) -> None:
        self.facts: list[RecordedFact] = []
        self._versions: Counter[Subject] = Counter()
        self._clock = REC0

    def add(self, fact_: FactModel, recorded_at: datetime | None = None) -> RecordedFact:
        subject = fact_.subject
        self._versions[subject] += 1
        if recorded_at is None:
            self._clock += timedelta(seconds=1)
            recorded_at = self._clock
        recorded = RecordedFact(fact_, fact_.event_id(), recorded_at, self._versions[subject],
                                len(self.facts) + 1)
        self.facts.append(recorded)
        return recorded

    def many(self, *facts: FactModel) -> list[RecordedFact]:
        return [self.add(f) for f in facts]

    def retract(self, target: RecordedFact, at: datetime | None = None,
                recorded_at: datetime | None = None, reason: str | None = None
                ) -> RecordedFact:
        data: dict[str, Any] = {"type": "retracted", **_subject_fields(target.subject),
                                "occurred_at": iso(at or target.occurred_at),
                                "target_event_id": str(target.event_id)}
        if reason is not None:
            data["reason"] = reason
        return self.add(parse_fact(data), recorded_at)

    def of(self, subject: Subject) -> list[RecordedFact]:
        return [f for f in self.facts if f.subject == subject]

    def by_subject(self) -> dict[Subject, list[RecordedFact]]:
        grouped: dict[Subject, list[RecordedFact]] = defaultdict(list)
        for f in self.facts:
            grouped[f.subject].append(f)
        return dict(grouped)


# ---- definitions -----------------------------------------------------------------------


@cache
def b2b_text() -> str:
    return (DATA / "b2b-2024.yaml").read_text()


@cache
def b2b() -> Definitions:
    return load_definitions(b2b_text())


def b2b_data() -> dict[str, Any]:
    """A fresh, mutable copy of the bundled definitions as plain data."""
    return copy.deepcopy(_b2b_data())


@cache
def _b2b_data() -> dict[str, Any]:
    return yaml.safe_load(b2b_text())  # type: ignore[no-any-return]


def b2b_with(**changes: Any) -> Definitions:
    """The bundled definitions with top-level keys replaced (e.g. stamp_skipped=False)."""
    data = b2b_data()
    data.update(changes)
    return definitions_from_data(data)


# ---- derivation shortcuts --------------------------------------------------------------


def derive(subject: Subject, facts: Sequence[RecordedFact] | Log,
           definitions: Definitions | None = None, known_at: datetime | None = None
           ) -> SubjectHistory:
    """One subject's own history (default definitions: `b2b_plus`)."""
    if isinstance(facts, Log):
        facts = facts.of(subject)
    return derive_subject(definitions or b2b_plus(), subject, facts, known_at)


def replay(facts: Sequence[RecordedFact] | Log, definitions: Definitions | None = None,
           known_at: datetime | None = None) -> dict[Subject, SubjectHistory]:
    """Every subject's history, accounts rolled up (default definitions: `b2b_plus`)."""
    log_facts = facts.facts if isinstance(facts, Log) else facts
    grouped: dict[Subject, list[RecordedFact]] = defaultdict(list)
    for f in log_facts:
        grouped[f.subject].append(f)
    run = Replay(definitions or b2b_plus(), known_at)
    for subject in sorted(grouped):  # persons and accounts in any order
        run.add(subject, grouped[subject])
    return run.finish()


def moves(history: SubjectHistory) -> list[tuple[str | None, str, str]]:
    """(from, to, direction) for every transition."""
    return [(t.from_stage, t.to_stage, t.direction) for t in history.transitions]


def timed_moves(history: SubjectHistory) -> list[tuple[datetime, str | None, str, str]]:
    return [(t.occurred_at, t.from_stage, t.to_stage, t.direction)
            for t in history.transitions]


def stamps(history: SubjectHistory
           ) -> dict[str, tuple[datetime, datetime | None, int, bool]]:
    """stage -> (first_reached_at, last_reached_at, times_reached, inferred)."""
    return {s.stage: (s.first_reached_at, s.last_reached_at, s.times_reached, s.inferred)
            for s in history.stamps}


def intervals(history: SubjectHistory) -> list[tuple[str, datetime, datetime | None]]:
    return [(i.stage, i.entered_at, i.exited_at) for i in history.intervals]


def outcome(history: SubjectHistory, recorded_fact: RecordedFact) -> str:
    return history.outcomes[recorded_fact.event_id].kind


def b2b_plus_data() -> dict[str, Any]:
    """The bundled definitions plus status values for the stages b2b-2024 never maps to
    (nurture, meeting_set, churned, not_a_target), so every direction can be reached."""
    data = b2b_data()
    data["version"] = "b2b-plus"
    data["map"]["status"]["lifecycle_stage"].update(
        recycle="nurture", meeting="meeting_set", churned="churned", nat="not_a_target")
    return data


@cache
def b2b_plus() -> Definitions:
    return definitions_from_data(b2b_plus_data())


def b2b_plus_with(mutate: Any) -> Definitions:
    """b2b_plus as data, changed in place by `mutate(data)`."""
    data = b2b_plus_data()
    mutate(data)
    return definitions_from_data(data)


#: Salesforce's default opportunity stages, mapped as the starters map them.
STAGE_NAMES = {"Prospecting": "sql", "Qualification": "sql", "Needs Analysis": "sql",
               "Proposal/Price Quote": "late_stage", "Negotiation/Review": "late_stage",
               "Closed Won": "customer", "Closed Lost": "nurture"}


def pipeline_data(cascade: bool = True) -> dict[str, Any]:
    """b2b_plus with opportunities (SPEC §7): StageName mapped, won and lost closed, renewal
    and upgrade opportunities flagging their accounts, and (unless told not to) the contact
    role cascade."""
    data = b2b_plus_data()
    data["version"] = "b2b-pipeline"
    data["map"]["status"]["StageName"] = dict(STAGE_NAMES)
    data["opportunity_closed"] = ["customer", "nurture"]
    data["opportunity_flags"] = {"renewal": ["Renewal"],
                                 "upgrade": ["Existing Customer - Upgrade"]}
    if cascade:
        data["opportunity_cascade"] = "contact_roles"
    return data


@cache
def pipeline() -> Definitions:
    return definitions_from_data(pipeline_data())


def pipeline_with(mutate: Any) -> Definitions:
    data = pipeline_data()
    mutate(data)
    return definitions_from_data(data)
