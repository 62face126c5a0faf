"""What the import tests share: a store's facts per subject, a rejects file read back
(the `run` fixture is in conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
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


def b2b_ledger(url: str, path: Path) -> tuple[Ledger, Any]:
    """A ledger at `url` under the bundled b2b-2024 definitions with the JSON Lines file
    `path` imported; the caller closes it. Returns it and the import's summary."""
    from lifecycle.application.importing import import_rows
    from lifecycle.domain.definitions import load_definitions
    from lifecycle.domain.starters import starter_text
    from lifecycle.importers.canonical import read_jsonl

    ledger = Ledger(url)
    text = starter_text("b2b-2024")
    assert text is not None
    ledger.publish(load_definitions(text))

    def rows() -> Iterator[Any]:
        with path.open("rb") as stream:
            yield from read_jsonl(stream)

    return ledger, import_rows(ledger, rows)
