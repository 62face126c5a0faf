"""Reports run on a ledger: the view they read (live, or replayed as known at a moment or
under another published version of the definitions), then the report's own arithmetic."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from lifecycle.application.ledger import Ledger
from lifecycle.reports import html
from lifecycle.reports.registry import REPORTS, Document


def run_report(ledger: Ledger, report: str, known_at: datetime | None = None,
               definitions: str | None = None, /, **options: Any) -> Document:
    """The document of `report` (a key of `REPORTS`), built with `options`."""
    return REPORTS[report].build(ledger.view(known_at, definitions), **options)


def write_html(ledger: Ledger, path: Path, known_at: datetime | None = None,
               definitions: str | None = None, **options: Any) -> dict[str, Any]:
    """Build the HTML page and write it to `path`; returns its header."""
    data = html.build(ledger.view(known_at, definitions), **options)
    path.write_text(html.render(data), encoding="utf-8")
    return dict(data["meta"])
