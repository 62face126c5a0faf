"""The stage reports as a ledger runs them (`application.reporting.run_report`), under the
names and positional options these tests have always called them by."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from lifecycle.application.ledger import Ledger
from lifecycle.application.reporting import run_report
from lifecycle.domain.facts import PERSON


def stages(ledger: Ledger, as_of: datetime, level: str = PERSON,
           known_at: datetime | None = None, definitions: str | None = None) -> Any:
    return run_report(ledger, "stages", known_at, definitions, as_of=as_of, level=level)


def stamps(ledger: Ledger, level: str | None = None, stage: str | None = None,
           known_at: datetime | None = None, snapshot: bool = False,
           definitions: str | None = None) -> Any:
    return run_report(ledger, "stamps", known_at, definitions, level=level, stage=stage,
                      snapshot=snapshot)


def moves(ledger: Ledger, level: str | None = None, directions: Sequence[str] = (),
          since: datetime | None = None, until: datetime | None = None,
          known_at: datetime | None = None, definitions: str | None = None) -> Any:
    return run_report(ledger, "moves", known_at, definitions, level=level,
                      directions=directions, since=since, until=until)
