"""Reports run on a ledger: the view they read (live, or replayed as known at a moment or
under another published version of the definitions), then the report's own arithmetic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from lifecycle.application.ledger import Ledger
from lifecycle.domain.errors import LedgerError
from lifecycle.reports import html
from lifecycle.reports.registry import REPORTS, Document
from projections.view import View, ViewChanged

T = TypeVar("T")

#: Times a report is read again when a backfill swaps the views while it reads.
ATTEMPTS = 3


def run_report(ledger: Ledger, report: str, known_at: datetime | None = None,
               definitions: str | None = None, /, **options: Any) -> Document:
    """The document of `report` (a key of `REPORTS`), built with `options`."""
    return read_view(ledger, known_at, definitions,
                     lambda view: REPORTS[report].build(view, **options))


def write_html(ledger: Ledger, path: Path, known_at: datetime | None = None,
               definitions: str | None = None, **options: Any) -> dict[str, Any]:
    """Build the HTML page and write it to `path`; returns its header."""
    data = read_view(ledger, known_at, definitions, lambda view: html.build(view, **options))
    path.write_text(html.render(data), encoding="utf-8")
    return dict(data["meta"])


def read_view(ledger: Ledger, known_at: datetime | None, definitions: str | None,
              build: Callable[[View], T]) -> T:
    """`build` run on the view asked for. The live views are labelled with the definitions
    they reflect; if a backfill swaps them for others while `build` reads, it is run again
    on the new ones, so its numbers and its label always come from the same views."""
    for _ in range(ATTEMPTS):
        try:
            return build(ledger.view(known_at, definitions))
        except ViewChanged:
            continue
    raise LedgerError("the views were swapped for new definitions while the report read "
                      f"them, {ATTEMPTS} times in a row (a backfill is running): try again")
