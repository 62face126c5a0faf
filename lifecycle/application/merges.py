"""`report merges`: every merge the ledger holds (SPEC §8), with the survivor each alias
resolves to and whether the merge is in effect (as known at a moment)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lifecycle.application.ledger import Ledger
from lifecycle.domain.facts import Subject
from lifecycle.domain.identity import identities_of
from lifecycle.domain.timeutil import format_instant

COLUMNS = ["subject_type", "alias_id", "merged_into", "survivor_id", "status", "occurred_at",
           "recorded_at", "source", "source_id", "event_id"]


def merges(ledger: Ledger, known_at: datetime | None = None) -> list[dict[str, Any]]:
    """One row per `merged` fact known at `known_at`: `status` is `in_effect`, `retracted`
    or `superseded` (the id was merged again later); `survivor_id` is where the alias's
    facts derive now (through chains), empty when the merge is not in effect."""
    survivors = sorted({Subject(link.subject_type, link.subject_id)
                        for link in ledger.log.recorder.all_links(["merged"])})
    loaded = ledger.log.subject_facts([s.stream_id for s in survivors])
    facts = [f for found in loaded.values() for f in found
             if known_at is None or f.recorded_at <= known_at]
    identities = identities_of(facts, known_at)
    retracted = {f.fact.target_event_id for f in facts if f.type == "retracted"}
    rows = []
    for recorded in facts:
        if recorded.type != "merged":
            continue
        alias = Subject(recorded.subject.type, recorded.fact.merged_id)
        current = identities.merge_of.get(alias)
        status = ("retracted" if recorded.event_id in retracted else "in_effect"
                  if current is not None and current.event_id == recorded.event_id
                  else "superseded")
        rows.append({
            "subject_type": alias.type, "alias_id": alias.id,
            "merged_into": recorded.subject.id,
            "survivor_id": identities.survivor(alias).id if status == "in_effect" else None,
            "status": status, "occurred_at": format_instant(recorded.occurred_at),
            "recorded_at": format_instant(recorded.recorded_at),
            "source": recorded.fact.source, "source_id": recorded.fact.source_id,
            "event_id": str(recorded.event_id)})
    rows.sort(key=lambda r: (r["subject_type"], r["alias_id"], r["recorded_at"]))
    return rows
