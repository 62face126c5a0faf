"""Reading canonical fact files (JSON Lines and CSV) into validated candidates.

Readers stream: one row at a time, each either a `Candidate` or a `Rejection` that names
the line, the field at fault and the reason. Nothing here touches the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from zoneinfo import ZoneInfo

from lifecycle.domain.candidates import Candidate, Rejection
from lifecycle.domain.facts import FACT_TYPES, FactInputError, parse_fact
from lifecycle.importers.records import (
    csv_records,
    jsonl_lines,
    repeated_columns,
    repeated_message,
)

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
    for name, spots in repeated_columns(header).items():
        raise FileFormatError(repeated_message(first.line, name, spots))
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
