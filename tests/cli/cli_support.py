"""Sample facts and small helpers shared by the command-line tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import Result

from lifecycle.domain.facts import parse_fact

#: `run(*args, input=None)`, the `run` fixture.
Run = Callable[..., Result]


def status(pid: str, value: str, when: str, **extra: Any) -> dict[str, Any]:
    return {"type": "status_changed", "person_id": pid, "value": value, "occurred_at": when,
            **extra}


def write_jsonl(path: Path | str, *facts: dict[str, Any] | str) -> Path:
    path = Path(path)
    path.write_text("".join((f if isinstance(f, str) else json.dumps(f, ensure_ascii=False))
                            + "\n" for f in facts), encoding="utf-8")
    return path


def event_id(fact: dict[str, Any]) -> str:
    """The event id the ledger gives `fact` (SPEC §2: derived from its identity)."""
    return str(parse_fact(fact).event_id())


#: Two persons, one linked to acme. Worked by hand in the comments (b2b-2024).
FACTS = [
    status("p1", "subscriber", "2024-01-01T00:00:00Z", source="crm", source_id="1"),  # entry
    {"type": "hand_raised", "person_id": "p1", "kind": "demo_request", "fit": "high",
     "occurred_at": "2024-01-10T00:00:00Z"},                                # new -> mql
    status("p1", "salesqualifiedlead", "2024-02-01T00:00:00Z"),             # mql -> sql
    status("p2", "marketingqualifiedlead", "2024-01-06T00:00:00Z"),         # entry mql
    status("p2", "lead", "2024-01-20T00:00:00Z"),                           # backward
    {"type": "person_linked", "person_id": "p2", "account_id": "acme",
     "occurred_at": "2024-01-05T00:00:00Z"},
]
IDS = [event_id(f) for f in FACTS]
