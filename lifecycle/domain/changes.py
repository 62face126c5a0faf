"""What changed between two versions of the definitions, in words (pure)."""

from __future__ import annotations

from lifecycle.domain.definitions import Definitions


def summarise(old: Definitions | None, new: Definitions) -> list[str]:
    """Human-readable changes from `old` to `new` (everything is new when old is None)."""
    if old is None:
        return [f"first version: {len(new.stages)} stages"]
    changes: list[str] = []
    old_stages, new_stages = old.stage_by_key, new.stage_by_key
    changes += [f"stage {k} added" for k in new_stages if k not in old_stages]
    changes += [f"stage {k} removed" for k in old_stages if k not in new_stages]
    for key in new_stages.keys() & old_stages.keys():
        a, b = old_stages[key], new_stages[key]
        if (a.kind, a.rank) != (b.kind, b.rank):
            changes.append(f"stage {key}: {a.kind} rank {a.rank} -> {b.kind} rank {b.rank}")
        if a.label != b.label:
            changes.append(f"stage {key}: label {a.label!r} -> {b.label!r}")
    for field in sorted(set(old.map.status) | set(new.map.status)):
        was, now = old.status_lookup.get(field, {}), new.status_lookup.get(field, {})
        for value in sorted(set(was) | set(now)):
            if was.get(value) != now.get(value):
                before = was.get(value) or "(unmapped)"
                after = now.get(value) or "(unmapped)"
                changes.append(f"map.status.{field}: {value!r} {before} -> {after}")
    for name in ("hand_raised", "disqualified", "person_left"):
        a, b = getattr(old.map, name), getattr(new.map, name)
        if a != b:
            changes.append(f"map.{name}: {_show(a)} -> {_show(b)}")
    for name in ("account_rollup", "stamp_skipped", "opportunity_cascade",
                 "opportunity_closed", "opportunity_flags"):
        if getattr(old, name) != getattr(new, name):
            changes.append(f"{name}: {getattr(old, name)} -> {getattr(new, name)}")
    old_sla = {s.name: s for s in old.sla}
    new_sla = {s.name: s for s in new.sla}
    for name in sorted(set(old_sla) | set(new_sla)):
        old_rule, new_rule = old_sla.get(name), new_sla.get(name)
        if old_rule != new_rule:
            changes.append(f"sla {name}: {_sla(old_rule)} -> {_sla(new_rule)}")
    return changes or ["no change in content"]


def _show(value: object) -> str:
    if value is None:
        return "(none)"
    if hasattr(value, "model_dump"):
        return ", ".join(f"{k}={v}" for k, v in value.model_dump().items())
    return str(value)


def _sla(sla: object) -> str:
    return "(none)" if sla is None else f"{sla.stage} within {sla.within}"  # type: ignore[attr-defined]
