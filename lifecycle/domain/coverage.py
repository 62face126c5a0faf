"""Which status values the definitions map, and which they leave unmapped (pure).

A mapping whose field names or values match nothing derives no stage at all, and every
report counts zero. `StatusTally` counts the status values of some facts (a file being
imported, or the whole ledger) by subject type, field and value, matched as the
definitions match them (SPEC §6: field names exactly, values trimmed and
case-insensitively); `rows` says which stage each maps to, and `warning` speaks up when
most of them map to nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lifecycle.domain.definitions import Definitions, normalise
from lifecycle.domain.recorded import RecordedFact

UNMAPPED = "unmapped"
CLEARED = "cleared"
#: How many unmapped values a warning names.
NAMED = 5


@dataclass
class StatusTally:
    """(subject type, field, normalised value) -> facts, and how each value was spelt."""

    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    spellings: dict[tuple[str, str, str], Counter[str]] = field(default_factory=dict)

    def add(self, subject_type: str, field_name: str, value: str, count: int = 1) -> None:
        key = (subject_type, field_name, normalise(value))
        self.counts[key] = self.counts.get(key, 0) + count
        self.spellings.setdefault(key, Counter())[value] += count

    def spelling(self, key: tuple[str, str, str]) -> str:
        """The commonest spelling of a value (of equally common ones, the first sorted)."""
        return min(self.spellings[key].items(), key=lambda item: (-item[1], item[0]))[0]

    def add_fact(self, fact: Any) -> None:
        """Count `fact` when it is a status change (any fact model)."""
        if getattr(fact, "type", None) == "status_changed":
            self.add(fact.subject.type, fact.field, fact.value)

    def add_subject(self, facts: Iterable[RecordedFact]) -> None:
        """Count one subject's recorded facts, less those retracted."""
        facts = list(facts)
        retracted = {getattr(f.fact, "target_event_id", None) for f in facts
                     if f.type == "retracted"}
        for recorded in facts:
            if recorded.event_id not in retracted:
                self.add_fact(recorded.fact)

    def stage_of(self, definitions: Definitions, key: tuple[str, str, str]) -> str:
        _, field_name, value = key
        if not value:
            return CLEARED
        return definitions.status_lookup.get(field_name, {}).get(value, UNMAPPED)

    def rows(self, definitions: Definitions) -> list[dict[str, Any]]:
        """One row per subject type, field and value: its facts and the stage it maps to
        (`unmapped`, or `cleared` for an empty value), sorted by those three."""
        return [{"subject_type": key[0], "field": key[1], "value": self.spelling(key),
                 "facts": count, "stage": self.stage_of(definitions, key)}
                for key, count in sorted(self.counts.items())]

    def warning(self, definitions: Definitions, what: str) -> str | None:
        """A warning when most status changes with a value map to no stage; None else."""
        valued = {k: n for k, n in self.counts.items() if k[2]}
        unmapped = {k: n for k, n in valued.items()
                    if self.stage_of(definitions, k) == UNMAPPED}
        total, missed = sum(valued.values()), sum(unmapped.values())
        if not total or missed * 2 <= total:
            return None
        top = sorted(unmapped.items(), key=lambda item: (-item[1], item[0]))
        named = ", ".join(f"{k[1]} = {self.spelling(k)!r} ({n})" for k, n in top[:NAMED])
        more = f" and {len(top) - NAMED} more" if len(top) > NAMED else ""
        return (f"{missed} of {total} status changes {what} map to no stage under definitions "
                f"{definitions.version}: {named}{more}; see `lifecycle definitions check`")
