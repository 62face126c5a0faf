"""What the import tests share: a store's facts per subject, a rejects file read back
(the `run` fixture is in conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import Result

from lifecycle.application.ledger import Ledger

Run = Callable[..., Result]


def facts_of(url: str) -> dict[str, list[dict[str, Any]]]:
    """`"person:51"` -> the subject's facts in recording order, as canonical dicts."""
    with Ledger(url) as ledger:
        return {f"{subject.type}:{subject.id}": [f.fact.canonical() for f in sorted(
            facts, key=lambda f: f.version)] for subject, facts in ledger.iter_subjects()}


def rejects(path: Path) -> list[tuple[int, str | None, str]]:
    """(line, field, reason) of each rejected row."""
    return [(r["line"], r["field"], r["reason"]) for r in
            map(json.loads, path.read_text("utf-8").splitlines())]
