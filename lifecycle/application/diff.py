"""`report diff`: why the numbers differ between two (known-at, definitions) views.

Each subject whose stage as of the moment differs is put down to what changed for it:
facts that arrived late (recorded between the two known-at times), retractions made in
between, or, failing those, the change of definitions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lifecycle.application.ledger import Ledger
from lifecycle.domain.changes import summarise
from lifecycle.domain.facts import PERSON, Subject
from lifecycle.domain.recorded import RecordedFact
from lifecycle.domain.timeutil import format_instant
from lifecycle.store.codec import RecordedDefinitions
from projections.queries.stages import stage_counts, stages_at
from projections.rebuild import facts_upto


@dataclass(frozen=True)
class Side:
    known_at: datetime | None
    definitions: str | None


def _definitions(ledger: Ledger, side: Side) -> RecordedDefinitions:
    if side.definitions is not None:
        return ledger.published(side.definitions)
    return ledger.active_definitions(side.known_at)


def _between(fact: RecordedFact, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or fact.recorded_at > start) and (end is None
                                                            or fact.recorded_at <= end)


def diff(ledger: Ledger, as_of: datetime, before: Side, after: Side, level: str = PERSON,
         examples: int = 5) -> dict[str, Any]:
    position = ledger.log.position()
    sides = []
    for side in (before, after):
        recorded = _definitions(ledger, side)
        engine = ledger.scratch(recorded.definitions, side.known_at, upto=position)
        with engine.connect() as conn:
            counts = stage_counts(conn, recorded.definitions, level, as_of)
        sides.append((recorded, engine, counts, stages_at(engine, level, as_of)))
        engine.dispose()
    (old_defs, _, old_counts, old_stages), (new_defs, _, new_counts, new_stages) = sides
    start, end = sorted([before.known_at, after.known_at],
                        key=lambda k: k or datetime.max.replace(tzinfo=as_of.tzinfo))
    late: dict[Subject, list[RecordedFact]] = {}
    if before.known_at != after.known_at:
        ledger.progress.phase("finding late facts", facts_upto(ledger.log, position))
        for subject, facts in ledger.iter_subjects():
            ledger.progress.advance(len(facts))
            window = [f for f in facts if _between(f, start, end) and f.occurred_at <= as_of]
            if window:
                late[subject] = window
    changed = sorted(k for k in set(old_stages) | set(new_stages)
                     if old_stages.get(k) != new_stages.get(k))
    causes: Counter[str] = Counter()
    subjects = []
    for subject_id in changed:
        own = late.get(Subject(level, subject_id), [])
        if any(f.type == "retracted" for f in own):
            cause = "retraction"
        elif own:
            cause = "late facts"
        elif old_defs.definitions != new_defs.definitions:
            cause = "definitions"
        else:
            cause = "linked persons"  # an account moved because its persons did
        causes[cause] += 1
        subjects.append({"subject_id": subject_id, "before": old_stages.get(subject_id),
                         "after": new_stages.get(subject_id), "cause": cause})
    late_facts = [f for facts in late.values() for f in facts]
    late_facts.sort(key=lambda f: (f.recorded_at, str(f.event_id)))
    labels = {c.stage: c.label for c in new_counts} | {c.stage: c.label for c in old_counts}
    before_n = {c.stage: c.count for c in old_counts}
    after_n = {c.stage: c.count for c in new_counts}
    return {
        "as_of": format_instant(as_of),
        "level": level,
        "before": {"known_at": format_instant(before.known_at),
                   "definitions_version": old_defs.definitions.version},
        "after": {"known_at": format_instant(after.known_at),
                  "definitions_version": new_defs.definitions.version},
        "stages": [{"stage": k, "label": labels[k], "before": before_n.get(k, 0),
                    "after": after_n.get(k, 0), "delta": after_n.get(k, 0) - before_n.get(k, 0)}
                   for k in labels],
        "definition_changes": ([] if old_defs.definitions == new_defs.definitions
                               else summarise(old_defs.definitions, new_defs.definitions)),
        "late_facts": {"count": sum(1 for f in late_facts if f.type != "retracted"),
                       "examples": [_fact(f) for f in late_facts
                                    if f.type != "retracted"][:examples]},
        "retractions": {"count": sum(1 for f in late_facts if f.type == "retracted"),
                        "examples": [_fact(f) for f in late_facts
                                     if f.type == "retracted"][:examples]},
        "changed_subjects": {"count": len(subjects), "by_cause": dict(causes),
                             "examples": subjects[:examples * 4]},
    }


def _fact(fact: RecordedFact) -> dict[str, Any]:
    return {"event_id": str(fact.event_id), "type": fact.type,
            "subject_type": fact.subject.type, "subject_id": fact.subject.id,
            "occurred_at": format_instant(fact.occurred_at),
            "recorded_at": format_instant(fact.recorded_at)}
