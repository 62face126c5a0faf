"""Import: a reader's rows stored in batches (or all at once, strict), then the read models
brought up to date."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lifecycle.application.errors import ImportInterrupted
from lifecycle.application.ledger import BATCH, Ledger
from lifecycle.domain.candidates import Candidate, Rejection
from lifecycle.domain.coverage import StatusTally
from lifecycle.domain.progress import FACTS, Progress
from lifecycle.importers.canonical import Row


@dataclass
class ImportSummary:
    read: int = 0
    stored: int = 0
    duplicate: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    committed: bool = True
    #: Rows read but deliberately not imported (e.g. deleted Salesforce history rows).
    skipped: int = 0
    #: Warnings about the input: message -> what it concerns (e.g. subjects), in file order.
    warnings: dict[str, list[str]] = field(default_factory=dict)
    #: The status values of every fact read (stored or duplicate), for `coverage`.
    status: StatusTally = field(default_factory=StatusTally)

    @property
    def rejected(self) -> int:
        return len(self.rejections)


def _batches(rows: Iterator[Row], summary: ImportSummary, size: int
             ) -> Iterator[list[Candidate]]:
    """Candidates in batches; rejected rows are counted into `summary` on the way."""
    batch: list[Candidate] = []
    for row in rows:
        summary.read += 1
        if row.notice is not None:
            summary.warnings.setdefault(row.notice.message, []).append(row.notice.item)
        if row.skipped:
            summary.skipped += 1
        elif row.rejection is not None:
            summary.rejections.append(row.rejection)
        else:
            assert row.candidate is not None
            summary.status.add_fact(row.candidate.fact)
            batch.append(row.candidate)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


class _Meter:
    """Tells `ledger.progress` how far a pass over the input is: in bytes when the caller
    says how far its stream is read (`tell`), else in rows read."""

    def __init__(self, progress: Progress, phase: str, summary: ImportSummary,
                 size: int | None, tell: Callable[[], int] | None):
        self.progress, self.summary = progress, summary
        self.tell = tell if size is not None else None
        self.read = self.where = 0
        progress.phase(phase, size if self.tell else None, "bytes" if self.tell else FACTS)

    def __call__(self) -> None:
        read = self.summary.read - self.read
        self.read = self.summary.read
        if self.tell is None:
            self.progress.advance(read)
            return
        where = self.tell()
        self.progress.advance(where - self.where, facts=read)
        self.where = where


def _metered(batches: Iterator[list[Candidate]], meter: _Meter) -> Iterator[list[Candidate]]:
    """The batches, the meter moved once each is handled and once at the end."""
    for batch in batches:
        yield batch
        meter()
    meter()


def import_rows(ledger: Ledger, rows: Callable[[], Iterator[Row]], *, strict: bool = False,
                batch_size: int = BATCH, name: str = "the input", size: int | None = None,
                tell: Callable[[], int] | None = None) -> ImportSummary:
    """Store the rows' facts idempotently, then bring the read models up to date.

    Not strict: each batch commits on its own; bad rows are reported and skipped.
    Strict: the file is checked whole first, then stored in one transaction, or not at all.
    Each pass is a phase of `ledger.progress` named after `name`, counted in bytes when
    the input's `size` is known and `tell()` says how far the stream being read is.
    """
    summary = ImportSummary(rejections=[])
    progress = ledger.progress
    if strict:
        meter = _Meter(progress, f"checking {name}", summary, size, tell)
        for _ in _metered(_batches(rows(), summary, batch_size), meter):
            pass
        if summary.rejections:
            summary.committed = False
            return summary
        summary = ImportSummary(rejections=[])
        meter = _Meter(progress, f"storing {name}", summary, size, tell)
        result, committed = ledger.append_all(
            _metered(_batches(rows(), summary, batch_size), meter))
        summary.committed = committed
        summary.rejections = result.rejected
        summary.duplicate = len(result.duplicates)
        summary.stored = len(result.stored) if committed else 0
    else:
        meter = _Meter(progress, f"reading and storing {name}", summary, size, tell)
        try:
            for batch in _metered(_batches(rows(), summary, batch_size), meter):
                result = ledger.append(batch)
                summary.stored += len(result.stored)
                summary.duplicate += len(result.duplicates)
                summary.rejections += result.rejected
        except Exception as exc:
            if not summary.stored:
                raise  # nothing was committed: the error is the whole story
            # The batches before the failing one are committed: say so, never only "Error".
            raise ImportInterrupted(summary, exc) from exc
    summary.rejections.sort(key=lambda r: r.line or 0)
    if summary.committed:  # also when all were duplicates: a killed run may not have
        ledger.follow()  # caught up; with nothing to apply this is one position read
    return summary


def write_rejects(path: Path, rejections: list[Rejection]) -> None:
    """The rejected rows, one JSON object per line: line, field, reason and the raw row.

    `raw` is the row's text as in the file; a byte the file's encoding could not decode is
    written as the JSON escape `\\udcXX` (XX its value in hex), so nothing is lost."""
    with path.open("w", encoding="utf-8", errors="backslashreplace") as out:
        for bad in rejections:
            out.write(json.dumps({"line": bad.line, "field": bad.field, "reason": bad.reason,
                                  "raw": bad.raw}, ensure_ascii=False) + "\n")
