"""`lifecycle sync`'s output: a progress bar per object, a summary line per object, the
warnings and rejections, and the rejects file."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from lifecycle.console.progress import TerminalProgress, terminal_console


class Bars:
    """One progress phase per object (records fetched so far), on a terminal only, through
    the progress display every long command shares."""

    def __init__(self, quiet: bool = False) -> None:
        self.display = TerminalProgress(None if quiet else terminal_console()).__enter__()
        self.seen = 0
        self.summary: Any = None

    def __call__(self, summary: Any) -> Callable[[int], None]:
        self.display.phase(f"syncing {summary.label}", None, "records")
        self.seen = 0
        self.summary = summary
        return self.update

    def update(self, done: int) -> None:
        """`done` records of the object so far; the total once the CRM has said it (on
        the first page, for Salesforce)."""
        if self.summary is not None and self.summary.total is not None:
            self.display.set_total(self.summary.total)
        self.display.advance(done - self.seen)
        self.seen = done

    def close(self) -> None:
        self.display.__exit__(None, None, None)


def summary_line(summary: Any, dry_run: bool) -> str:
    stored = f"would store {summary.stored}" if dry_run else f"stored {summary.stored}"
    line = (f"{summary.label}: fetched {summary.fetched}, {stored}, "
            f"duplicate {summary.duplicate}, rejected {summary.rejected}")
    if summary.skipped or summary.source == "salesforce":
        line += f", skipped {summary.skipped}"
    if summary.missing:
        line += f", gone {summary.missing}"
    return line


def print_round(report: Any, dry_run: bool, token: str, number: int | None = None,
                started: datetime | None = None) -> None:
    """The round's summary lines on stdout; warnings, rejections and (in a round of
    `--every`) the error on stderr. Nothing printed can hold the token."""
    from lifecycle.domain.timeutil import format_instant

    def clean(text: str) -> str:
        return text.replace(token, "***") if token else text

    if number is not None and started is not None:
        click.echo(f"Round {number} at {format_instant(started)}")
    for summary in report.objects:
        click.echo(clean(summary_line(summary, dry_run)))
    if dry_run:
        click.echo("Dry run: nothing was stored.")
    for summary in report.objects:
        for message, items in summary.warnings.items():
            shown = ", ".join(items[:20]) + (f", … and {len(items) - 20} more"
                                             if len(items) > 20 else "")
            click.echo(clean(f"Warning: {message} ({len(items)}): {shown}"), err=True)
        for bad in summary.rejections[:5]:
            where = f"{summary.label} record {bad.line}" + (f": {bad.field}" if bad.field
                                                            else "")
            click.echo(clean(f"  {where}: {bad.reason}"), err=True)
        if summary.rejected > 5:
            click.echo(f"  … and {summary.rejected - 5} more", err=True)
    if report.stopped:
        click.echo("Stopped: what was fetched until now is stored.", err=True)
    if number is not None and report.error is not None:
        kind = "Warning" if report.error.transient else "Error"
        click.echo(clean(f"{kind}: {report.error}"), err=True)


def write_rejects(path: Path, report: Any, append: bool = False) -> None:
    """Rejected records, one JSON object per line: object, record, field, reason, raw."""
    with path.open("a" if append else "w", encoding="utf-8") as out:
        for summary in report.objects:
            for bad in summary.rejections:
                out.write(json.dumps({"object": summary.label, "record": bad.line,
                                      "field": bad.field, "reason": bad.reason,
                                      "raw": bad.raw}, ensure_ascii=False) + "\n")
