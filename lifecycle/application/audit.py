"""The audit of one subject: its facts, and what each derived (replayed, not projected)."""

from __future__ import annotations

from typing import Any

from lifecycle.application.ledger import Ledger
from lifecycle.domain.errors import LedgerError
from lifecycle.domain.facts import ACCOUNT, PERSON, Subject
from lifecycle.domain.history import SubjectHistory
from lifecycle.domain.links import cascade_flags, flag_intervals
from lifecycle.domain.recorded import RecordedFact
from lifecycle.domain.replay import Replay
from lifecycle.domain.timeutil import format_instant
from lifecycle.store.codec import RecordedDefinitions

COMMON = {"person_id", "account_id", "occurred_at", "source", "source_id", "actor",
          "campaign", "type"}


def audit(ledger: Ledger, subject: Subject) -> dict[str, Any]:
    """Everything the ledger holds and derives about one subject."""
    recorded: RecordedDefinitions = ledger.active_definitions()
    definitions = recorded.definitions
    own = ledger.log.subject_facts([subject.stream_id]).get(subject, [])
    replay = Replay(definitions)
    replay.add(subject, own)
    if subject.type == ACCOUNT:
        members = ledger.log.recorder.linked_persons([subject.id])
        streams = [Subject(PERSON, pid).stream_id for pid in sorted(members)]
        for member, facts in ledger.log.subject_facts(streams).items():
            replay.add(member, facts)
        history = replay.finish([subject.id])[subject]
        flags = history.flags
        if not own and not members:
            raise LedgerError(f"no facts are recorded about account {subject.id!r}")
    else:
        if not own:
            raise LedgerError(f"no facts are recorded about person {subject.id!r}")
        history = replay.finish([])[subject]
        accounts = sorted({link.account_id for link in history.memberships})
        streams = [Subject(ACCOUNT, aid).stream_id for aid in accounts]
        account_flags = {s.id: flag_intervals(s.id, facts) for s, facts in
                         ledger.log.subject_facts(streams).items()}
        flags = cascade_flags(history.memberships, account_flags)
    return _document(subject, recorded, own, history, flags)


def _document(subject: Subject, recorded: RecordedDefinitions, own: list[RecordedFact],
              history: SubjectHistory, flags: list) -> dict[str, Any]:
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
             "to": format_instant(m.end)} for m in history.memberships],
        "flags": [
            {"account_id": f.account_id, "flag": f.flag,
             "raised_at": format_instant(f.raised_at),
             "cleared_at": format_instant(f.cleared_at)} for f in flags],
    }
