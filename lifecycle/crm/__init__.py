"""Importers for CRM exports: HubSpot objects with property history, Salesforce field
history, and any CSV mapped onto canonical fields with `--columns`.

Each reader turns one export into canonical facts, streaming, as the `Row`s that
`lifecycle.importing.import_rows` stores: a fact, a rejection naming the line (or record)
and the reason, or a row read but skipped on purpose. Facts come out in the order the
source says the events happened, so that equal timestamps keep it (SPEC §6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from lifecycle.facts import FactInputError, parse_fact
from lifecycle.importing import READERS, FileFormatError, Notice, Row
from lifecycle.ledger import Candidate, Rejection
from lifecycle.records import CsvRecord, csv_records

Reader = Callable[[BinaryIO, ZoneInfo | None], Iterator[Row]]
#: The longest raw text kept with a rejection (the rejects file is for people to read).
RAW_LIMIT = 10_000


def fact_row(line: int, data: dict[str, Any], raw: str, assume_tz: ZoneInfo | None,
             notice: Notice | None = None) -> Row:
    """Validate `data` as a canonical fact: a candidate, or a rejection with the reason."""
    try:
        fact = parse_fact(data, assume_tz)
    except FactInputError as exc:
        return Row(line, rejection=Rejection(line, exc.field, exc.reason, raw), notice=notice)
    return Row(line, candidate=Candidate(fact, line, raw), notice=notice)


def reject(line: int, field: str | None, reason: str, raw: str | None,
           notice: Notice | None = None) -> Row:
    return Row(line, rejection=Rejection(line, field, reason, clip(raw)), notice=notice)


def clip(raw: str | None) -> str | None:
    if raw is None or len(raw) <= RAW_LIMIT:
        return raw
    return raw[:RAW_LIMIT] + f"… ({len(raw) - RAW_LIMIT} more characters)"


# ---- CSV headers ----------------------------------------------------------------------

def read_header(records: Iterator[CsvRecord]) -> list[str] | None:
    """The header record's cells, trimmed; None for an empty file."""
    header = next(records, None)
    if header is None:
        return None
    if header.problem is not None:
        raise FileFormatError(f"line {header.line}: not a CSV header: {header.problem}")
    return [cell.strip() for cell in header.cells]


# ---- choosing a reader -------------------------------------------------------------------

def open_reader(fmt: str, path: Path, *, object_type: str | None = None,
                columns: str | None = None) -> tuple[Reader, list[str]]:
    """The reader for `--format`/`--object`/`--columns`, and lines to show the user first
    (the resolved column mapping). Raises FileFormatError for a file that cannot work."""
    from functools import partial

    if columns is not None:
        from lifecycle.crm.mapped import ColumnMap, read_mapped

        spec = ColumnMap.parse(columns)
        with path.open("rb") as stream:
            header = read_header(csv_records(stream))
        notes = spec.resolve(header).describe() if header is not None else []
        return partial(read_mapped, mapping=spec), notes
    if fmt == "hubspot":
        return partial(READERS[fmt], object_type=object_type or "contacts"), []
    return READERS[fmt], []
