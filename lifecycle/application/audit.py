"""The audit of one subject: its facts, and what each derived (replayed, not projected).

An id merged into another (SPEC §8) is audited as its survivor, saying when and by which
fact it was merged; a survivor's audit lists its aliases' facts with the id each was
recorded under. A person's targets from opportunities (SPEC §7) are listed with the
opportunity fact that caused each.
"""

from __future__ import annotations

from typing import Any

from lifecycle.application.ledger import Ledger
from lifecycle.domain.errors import LedgerError
from lifecycle.domain.facts import ACCOUNT, PERSON, Subject
from lifecycle.domain.history import FlagInterval, SubjectHistory
from lifecycle.domain.identity import Identities
from lifecycle.domain.links import cascade_flags
from lifecycle.domain.recorded import RecordedFact
from lifecycle.domain.replay import Replay
from lifecycle.domain.timeutil import format_instant
from lifecycle.store.codec import RecordedDefinitions
from projections.dependencies import merge_partners, needed

COMMON = {"person_id", "account_id", "opportunity_id", "occurred_at", "source", "source_id",
          "actor", "campaign", "type"}


def audit(ledger: Ledger, subject: Subject) -> dict[str, Any]:
    """Everything the ledger holds and derives about one subject."""
    recorded: RecordedDefinitions = ledger.active_definitions()
    definitions = recorded.definitions
    recorder = ledger.log.recorder
    partners = merge_partners(recorder, {subject})
    loaded = ledger.log.subject_facts(
        [s.stream_id for s in sorted(needed(recorder, definitions, partners))])
    replay = Replay(definitions)
    for member, facts in loaded.items():
        replay.add(member, facts)
    identities = replay.identities()
    survivor = identities.survivor(subject)
    histories = replay.finish([survivor.id] if survivor.type == ACCOUNT else [])
    history = histories.get(survivor)
    own = sorted((f for s in partners if identities.survivor(s) == survivor
                  for f in loaded.get(s, [])), key=lambda f: (f.occurred_at, f.seq or 0))
    if history is None or not _known(history, own, histories):
        raise LedgerError(f"no facts are recorded about {subject.type} {subject.id!r}")
    flags = history.flags
    if survivor.type == PERSON:
        flags = cascade_flags(history.memberships,
                              _account_flags(ledger, definitions, history))
    document = _document(survivor, recorded, own, history, flags, loaded)
    return {**document, **_identity(subject, survivor, identities)}


def _known(history: SubjectHistory, own: list[RecordedFact],
           histories: dict[Subject, SubjectHistory]) -> bool:
    """The subject has facts, a stage (a person's from an opportunity) or, an account,
    members."""
    if own or history.steps:
        return True
    return history.subject.type == ACCOUNT and any(
        link.account_id == history.subject.id for h in histories.values()
        for link in h.account_links())


def _account_flags(ledger: Ledger, definitions: Any, history: SubjectHistory
                   ) -> dict[str, list[FlagInterval]]:
    """The flags of the accounts a person belonged to (renewals and open opportunities)."""
    accounts = {Subject(ACCOUNT, link.account_id) for link in history.memberships}
    if not accounts:
        return {}
    recorder = ledger.log.recorder
    replay = Replay(definitions)
    for subject, facts in ledger.log.subject_facts(
            [s.stream_id for s in sorted(needed(recorder, definitions, accounts))]).items():
        replay.add(subject, facts)
    derived = replay.finish(sorted(a.id for a in accounts))
    return {a.id: derived[a].flags for a in accounts if a in derived}


def _identity(subject: Subject, survivor: Subject, identities: Identities) -> dict[str, Any]:
    """Which ids are this subject (SPEC §8): its aliases, or the merge that made it one."""
    merge = identities.merge_of.get(subject)
    merged_into = None if merge is None else {
        "subject_id": survivor.id, "merged_into": merge.subject.id,
        "event_id": str(merge.event_id), "occurred_at": format_instant(merge.occurred_at),
        "recorded_at": format_instant(merge.recorded_at), "source": merge.fact.source}
    aliases = identities.aliases().get(survivor, [])
    return {"audited_id": subject.id, "merged_into": merged_into,
            "aliases": [a.id for a in aliases]}


def _document(subject: Subject, recorded: RecordedDefinitions, own: list[RecordedFact],
              history: SubjectHistory, flags: list[FlagInterval],
              loaded: dict[Subject, list[RecordedFact]]) -> dict[str, Any]:
    by_id = {f.event_id: f for f in own}
    facts = []
    for fact in sorted(own, key=lambda f: (f.occurred_at, f.version)):
        outcome = history.outcomes.get(fact.event_id)
        retraction = None
        if outcome is not None and outcome.retracted_by is not None:
            by = by_id[outcome.retracted_by]
            retraction = {"event_id": str(by.event_id), "actor": by.fact.actor,
                          "recorded_at": format_instant(by.recorded_at),
                          "reason": getattr(by.fact, "reason", None)}
        canonical = fact.fact.canonical()
        facts.append({
            "seq": fact.seq,
            "event_id": str(fact.event_id),
            "type": fact.type,
            "occurred_at": format_instant(fact.occurred_at),
            "recorded_at": format_instant(fact.recorded_at),
            "source": fact.fact.source,
            "source_id": fact.fact.source_id,
            "actor": fact.fact.actor,
            "campaign": fact.fact.campaign,
            "details": {k: v for k, v in canonical.items() if k not in COMMON},
            "derived": outcome.kind if outcome else "recorded",
            "derived_detail": outcome.detail if outcome else "",
            "retracted": retraction,
            "recorded_as": fact.subject.id,
        })
    return {
        "subject_type": subject.type,
        "subject_id": subject.id,
        "definitions_version": recorded.definitions.version,
        "current_stage": history.steps[-1].stage if history.steps else None,
        "facts": facts,
        "transitions": [
            {"occurred_at": format_instant(t.occurred_at), "from_stage": t.from_stage,
             "to_stage": t.to_stage, "direction": t.direction,
             "event_id": str(t.cause.event_id)} for t in history.transitions],
        "stamps": [
            {"stage": s.stage, "first_reached_at": format_instant(s.first_reached_at),
             "last_reached_at": format_instant(s.last_reached_at),
             "times_reached": s.times_reached, "inferred": s.inferred,
             "caused_by": str(s.snapshot.cause.event_id), "from_stage": s.snapshot.from_stage,
             "account_id": s.snapshot.account_id} for s in history.stamps],
        "intervals": [
            {"stage": i.stage, "entered_at": format_instant(i.entered_at),
             "exited_at": format_instant(i.exited_at)} for i in history.intervals],
        "memberships": [
            {"account_id": m.account_id, "from": format_instant(m.start),
             "to": format_instant(m.end)} for m in history.memberships]
        + [{"account_id": m.account_id, "kind": m.kind, "from": format_instant(m.start),
            "to": format_instant(m.end)} for m in history.opportunity_links],
        "cascaded": _cascaded(own, history, loaded),
        "flags": [
            {"account_id": f.account_id, "flag": f.flag,
             "raised_at": format_instant(f.raised_at),
             "cleared_at": format_instant(f.cleared_at)} for f in flags],
    }


def _cascaded(own: list[RecordedFact], history: SubjectHistory,
              loaded: dict[Subject, list[RecordedFact]]) -> list[dict[str, Any]]:
    """What the opportunities a person holds a role on gave it (SPEC §7)."""
    mine = {f.event_id for f in own}
    by_id = {f.event_id: f for facts in loaded.values() for f in facts}
    rows = []
    for event_id, outcome in history.outcomes.items():
        cause = by_id.get(event_id)
        if event_id in mine or cause is None:
            continue
        rows.append({"occurred_at": format_instant(cause.occurred_at),
                     "opportunity_id": cause.subject.id, "type": cause.type,
                     "event_id": str(event_id), "derived": outcome.kind,
                     "derived_detail": outcome.detail})
    rows.sort(key=lambda r: (r["occurred_at"], r["event_id"]))
    return rows
