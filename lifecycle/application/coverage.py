"""What the definitions leave unmapped in the ledger: `definitions check`, and the
warnings of `import`, `init`, `backfill` and the reports when most facts map to nothing.

Counting the status values of the whole ledger reads every fact once (like a rebuild):
`definitions check` does it on demand, `init` and `backfill` when they publish
definitions over existing facts, and the reports only when they found no stage at all.
"""

from __future__ import annotations

from typing import Any

from lifecycle.application.ledger import Ledger
from lifecycle.domain.coverage import StatusTally
from lifecycle.domain.definitions import Definitions
from lifecycle.domain.facts import SUBJECT_TYPES
from projections.queries.counts import stamped_subjects

COLUMNS = ["subject_type", "field", "value", "facts", "stage"]


def ledger_tally(ledger: Ledger) -> tuple[StatusTally, int]:
    """The status values of every fact in the ledger (retracted ones left out), and how
    many facts it holds."""
    tally, facts = StatusTally(), 0
    for _, recorded in ledger.iter_subjects():
        tally.add_subject(recorded)
        facts += len(recorded)
    return tally, facts


def status_values(ledger: Ledger, definitions: Definitions | None = None) -> dict[str, Any]:
    """Each status field and value in the ledger: its facts and the stage it maps to
    under `definitions` (default: the active ones), or `unmapped`."""
    definitions = definitions or ledger.active_definitions().definitions
    tally, _ = ledger_tally(ledger)
    return {"definitions_version": definitions.version, "rows": tally.rows(definitions)}


def ledger_warning(ledger: Ledger, definitions: Definitions | None = None) -> str | None:
    """A warning when most status changes in the ledger map to no stage under
    `definitions` (default: the active ones)."""
    definitions = definitions or ledger.active_definitions().definitions
    tally, _ = ledger_tally(ledger)
    return tally.warning(definitions, "in the ledger")


def stage_hint(ledger: Ledger, level: str) -> str | None:
    """Why a report at `level` found nothing, when the ledger can tell: no subject of
    that type has a stage but others do (use --level), or the ledger has facts and no
    subject has any stage (the definitions map none of their values)."""
    with ledger.live_view().connect() as conn:
        stamped = stamped_subjects(conn)
    if stamped.get(level):
        return None
    others = [kind for kind in SUBJECT_TYPES if stamped.get(kind)]
    if others:
        listed = " and ".join(_counted(stamped[kind], kind) for kind in others)
        options = " or ".join(f"--level {kind}" for kind in others)
        return f"no {level} has a stage, but {listed} do: pass {options}"
    tally, facts = ledger_tally(ledger)
    if not facts:
        return None
    definitions = ledger.active_definitions().definitions
    why = tally.warning(definitions, "in the ledger") or (
        "see `lifecycle definitions check` for the values the definitions map")
    return f"the ledger holds {_counted(facts, 'fact')} but no subject has a stage: {why}"


def _counted(count: int, noun: str) -> str:
    plural = "opportunities" if noun == "opportunity" else f"{noun}s"
    return f"{count} {noun if count == 1 else plural}"
