"""Backfills: new definitions re-derive the whole history, facts untouched.

`dry_run` replays the log under the active and the new definitions into two scratch
copies and says what would change; it writes nothing. `backfill` publishes the new
definitions, which rebuilds every projection beside the live one and swaps it in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from lifecycle.application.ledger import Ledger
from lifecycle.domain.changes import summarise
from lifecycle.domain.definitions import Definitions
from lifecycle.domain.errors import LedgerError
from lifecycle.domain.facts import ACCOUNT, OPPORTUNITY, PERSON
from lifecycle.domain.timeutil import format_instant, utc_now
from projections.queries.stages import current_stages, first_reached, stage_counts


def _counts(engine: Engine, definitions: Definitions, level: str, as_of: datetime
            ) -> dict[str, int]:
    with engine.connect() as conn:
        return {c.stage: c.count for c in stage_counts(conn, definitions, level, as_of)}


def dry_run(ledger: Ledger, new: Definitions, examples: int = 5,
            as_of: datetime | None = None) -> dict[str, Any]:
    """What publishing `new` would change, computed on scratch copies only."""
    active = ledger.active_definitions()
    old = active.definitions
    position = ledger.log.position()
    as_of = as_of or utc_now()
    before = ledger.scratch(old, upto=position)
    after = ledger.scratch(new, upto=position)
    try:
        moved = _stage_changes(current_stages(before), current_stages(after), examples)
        current = current_stages(before)
        levels = [PERSON, ACCOUNT] + ([OPPORTUNITY] if any(
            kind == OPPORTUNITY for kind, _ in current) else [])
        deltas = {level: _deltas(old, new, _counts(before, old, level, as_of),
                                 _counts(after, new, level, as_of))
                  for level in levels}
        stamps = _stamp_changes(first_reached(before), first_reached(after), examples)
    finally:
        before.dispose()
        after.dispose()
    return {
        "from_version": old.version,
        "to_version": new.version,
        "as_of": format_instant(as_of),
        "definition_changes": summarise(old, new),
        "current_stage_changes": moved,
        "stage_count_deltas": deltas,
        "stamp_changes": stamps,
    }


def _stage_changes(old: dict, new: dict, examples: int) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str | None, str | None], list[str]] = defaultdict(list)
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            groups[(key[0], old.get(key), new.get(key))].append(key[1])
    return [{"level": level, "from": was, "to": now, "count": len(ids),
             "examples": ids[:examples]}
            for (level, was, now), ids in sorted(groups.items(), key=lambda g: (
                g[0][0], -len(g[1]), str(g[0][1]), str(g[0][2])))]


def _deltas(old: Definitions, new: Definitions, before: dict[str, int],
            after: dict[str, int]) -> list[dict[str, Any]]:
    keys = [s.key for s in new.stages] + [s.key for s in old.stages
                                          if s.key not in new.stage_by_key]
    return [{"stage": k, "before": before.get(k, 0), "after": after.get(k, 0),
             "delta": after.get(k, 0) - before.get(k, 0)} for k in keys]


def _stamp_changes(old: dict, new: dict, examples: int) -> list[dict[str, Any]]:
    kinds: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for key in sorted(set(old) | set(new)):
        was, now = old.get(key), new.get(key)
        if was == now:
            continue
        kind = "appears" if was is None else "disappears" if now is None else "moves"
        kinds[(key[0], key[2], kind)].append(key[1])
    counts = Counter({k: len(v) for k, v in kinds.items()})
    return [{"level": level, "stage": stage, "change": kind, "count": counts[(level, stage, kind)],
             "examples": kinds[(level, stage, kind)][:examples]}
            for level, stage, kind in sorted(kinds)]


def backfill(ledger: Ledger, new: Definitions) -> dict[str, Any]:
    """Publish `new` and rebuild every projection under it (re-running completes it)."""
    previous = ledger.active_definitions().definitions
    recorded, is_new = ledger.publish(new)
    if not is_new and previous.version != new.version:
        raise LedgerError(
            f"definitions {new.version!r} were published before and are not the active ones "
            f"({previous.version!r} are); give them a new version label to make them active")
    if ledger.behind is None:
        ledger.follow()
    return {"version": recorded.definitions.version, "published": is_new,
            "rebuilt": ledger.behind is None,
            "published_at": format_instant(recorded.recorded_at),
            "position": ledger.position(),
            "definition_changes": summarise(previous, new) if is_new else []}
