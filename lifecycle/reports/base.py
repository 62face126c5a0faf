"""What the analytics reports share: the header every document starts with, stage and
option checks, and instants printed the one way (SPEC §2)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from lifecycle.domain.definitions import Definitions, Stage
from lifecycle.domain.errors import LedgerError
from lifecycle.domain.facts import SUBJECT_TYPES
from lifecycle.domain.timeutil import format_instant
from projections.view import View

LEVELS = SUBJECT_TYPES


def header(view: View, **fields: Any) -> dict[str, Any]:
    """The report's own fields (instants printed in UTC), then known-at and definitions."""
    document = {name: format_instant(value) if isinstance(value, datetime) else value
                for name, value in fields.items()}
    document["known_at"] = format_instant(view.known_at)
    document["definitions_version"] = view.definitions.version
    return document


def stage(definitions: Definitions, key: str, option: str = "stage") -> Stage:
    """The stage called `key`, or an error naming the option and the stages there are."""
    found = definitions.stage_by_key.get(key)
    if found is None:
        known = ", ".join(definitions.stage_by_key)
        raise LedgerError(f"{option}: unknown stage {key!r} (stages: {known})")
    return found


def check_level(level: str) -> None:
    if level not in LEVELS:
        raise LedgerError(f"unknown level {level!r} (levels: {', '.join(LEVELS)})")


def check_choices(values: Iterable[str], allowed: Iterable[str], what: str) -> None:
    allowed = tuple(allowed)
    for value in values:
        if value not in allowed:
            raise LedgerError(f"unknown {what} {value!r} ({what}s: {', '.join(allowed)})")


def check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise LedgerError(f"the window is empty: {format_instant(end)} is not after "
                          f"{format_instant(start)}")


def instants(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its instants printed as the SPEC prints them."""
    return {k: format_instant(v) if isinstance(v, datetime) else v for k, v in row.items()}


def scope(document: dict[str, Any]) -> str:
    """The end of every caption: the definitions and known-at the numbers were made under."""
    known = f", known at {document['known_at']}" if document.get("known_at") else ""
    return f"definitions {document['definitions_version']}{known}"
