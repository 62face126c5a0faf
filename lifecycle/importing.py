"""Reading canonical fact files (JSON Lines and CSV) into validated candidates.

Readers stream: one row at a time, each either a `Candidate` or a `Rejection` that names
the line, the field at fault and the reason. Nothing here touches the store.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from lifecycle.facts import FACT_TYPES, FactInputError, parse_fact
from lifecycle.ledger import BATCH, Candidate, Ledger, Rejection
from lifecycle.records import csv_records, jsonl_lines

CANONICAL_COLUMNS = sorted(
    {name for cls in FACT_TYPES.values() for name in cls.model_fields} - {"attributes"})


class FileFormatError(ValueError):
    """A file that cannot be read at all (as opposed to a bad row)."""


@dataclass(frozen=True)
class Notice:
    """Worth telling the user, not an error: `message` once, then every `item` it concerns."""

    message: str
    item: str


@dataclass(frozen=True)
class Row:
    line: int
    candidate: Candidate | None = None
    rejection: Rejection | None = None
    #: Read but deliberately not imported (e.g. a Salesforce row with IsDeleted=true).
    skipped: bool = False
    notice: Notice | None = None


def _candidate(line: int, raw: str, data: object, assume_tz: ZoneInfo | None) -> Row:
    try:
        fact = parse_fact(data, assume_tz)  # type: ignore[arg-type]
    except FactInputError as exc:
        return Row(line, rejection=Rejection(line, exc.field, exc.reason, raw))
    return Row(line, candidate=Candidate(fact, line, raw))


def read_jsonl(stream: BinaryIO, assume_tz: ZoneInfo | None = None) -> Iterator[Row]:
    """One fact per line; blank lines are skipped (and not counted as read)."""
    for record in jsonl_lines(stream):
        if record.problem is not None:
            yield Row(record.line, rejection=Rejection(record.line, None, record.problem,
                                                       record.raw))
        elif not isinstance(record.value, dict):
            yield Row(record.line, rejection=Rejection(
                record.line, None, "a fact must be a JSON object", record.raw))
        else:
            yield _candidate(record.line, record.raw or "", record.value, assume_tz)


def read_csv(stream: BinaryIO, assume_tz: ZoneInfo | None = None) -> Iterator[Row]:
    """Canonical field names as columns; an empty cell is an absent field, except `value`
    where it means the value was cleared."""
    records = csv_records(stream)
    first = next(records, None)
    if first is None:
        return
    if first.problem is not None:
        raise FileFormatError(f"line {first.line}: not a CSV header: {first.problem}")
    header = [cell.strip() for cell in first.cells]
    unknown = [c for c in header if c not in CANONICAL_COLUMNS]
    if unknown:
        raise FileFormatError(
            f"line 1: unknown column {unknown[0]!r} (canonical columns: "
            f"{', '.join(CANONICAL_COLUMNS)}; map other exports with --format csv --columns)")
    if "type" not in header:
        raise FileFormatError("line 1: the header has no 'type' column")
    for record in records:
        line, cells, raw = record.line, record.cells, record.raw
        if record.problem is not None:
            yield Row(line, rejection=Rejection(line, None, record.problem, raw or None))
            continue
        if len(cells) != len(header):
            yield Row(line, rejection=Rejection(
                line, None, f"expected {len(header)} cells, found {len(cells)}", raw))
            continue
        data = {name: cell for name, cell in zip(header, cells, strict=True) if cell != ""}
        if "value" in header and "value" not in data and _takes_value(data.get("type")):
            data["value"] = ""  # an empty value cell means "cleared", for the types with one
        yield _candidate(line, raw, data, assume_tz)


def _takes_value(kind: str | None) -> bool:
    fact_type = FACT_TYPES.get(kind or "")
    return fact_type is not None and "value" in fact_type.model_fields


def _crm_reader(module: str, name: str) -> Callable[..., Iterator[Row]]:
    """A reader of `lifecycle.crm`, imported when first used (it imports this module)."""

    def read(stream: BinaryIO, assume_tz: ZoneInfo | None = None, **options: str
             ) -> Iterator[Row]:
        reader = getattr(importlib.import_module(f"lifecycle.crm.{module}"), name)
        return reader(stream, assume_tz, **options)  # type: ignore[no-any-return]

    return read


READERS = {"jsonl": read_jsonl, "csv": read_csv,
           "hubspot": _crm_reader("hubspot", "read_hubspot"),
           "salesforce": _crm_reader("salesforce", "read_salesforce")}


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise FileFormatError(
        f"cannot tell the format of {path.name} from its name: pass --format jsonl or csv")


@dataclass
class ImportSummary:
    read: int = 0
    stored: int = 0
    duplicate: int = 0
    rejections: list[Rejection] | None = None
    committed: bool = True
    #: Rows read but deliberately not imported (e.g. deleted Salesforce history rows).
    skipped: int = 0
    #: Warnings about the input: message -> what it concerns (e.g. subjects), in file order.
    warnings: dict[str, list[str]] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return len(self.rejections or [])


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
            summary.rejections.append(row.rejection)  # type: ignore[union-attr]
        else:
            assert row.candidate is not None
            batch.append(row.candidate)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def import_rows(ledger: Ledger, rows: Callable[[], Iterator[Row]], *, strict: bool = False,
                progress: Callable[[int], None] | None = None, batch_size: int = BATCH
                ) -> ImportSummary:
    """Store the rows' facts idempotently, then bring the read models up to date.

    Not strict: each batch commits on its own; bad rows are reported and skipped.
    Strict: the file is checked whole first, then stored in one transaction, or not at all.
    """
    summary = ImportSummary(rejections=[])
    if strict:
        for _ in _batches(rows(), summary, batch_size):
            pass
        if summary.rejections:
            summary.committed = False
            return summary
        summary = ImportSummary(rejections=[])
        result, committed = ledger.append_all(_batches(rows(), summary, batch_size))
        summary.committed = committed
        summary.rejections = result.rejected
        summary.duplicate = len(result.duplicates)
        summary.stored = len(result.stored) if committed else 0
        if progress:
            progress(summary.read)
    else:
        for batch in _batches(rows(), summary, batch_size):
            result = ledger.append(batch)
            summary.stored += len(result.stored)
            summary.duplicate += len(result.duplicates)
            summary.rejections += result.rejected  # type: ignore[operator]
            if progress:
                progress(summary.read)
    summary.rejections.sort(key=lambda r: r.line or 0)  # type: ignore[union-attr]
    if summary.committed:  # also when all were duplicates: a killed run may not have
        ledger.catch_up()  # caught up; with nothing to apply this is one position read
    return summary
