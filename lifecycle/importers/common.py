"""What the CRM importers share: a row of canonical fields validated into a candidate or a
rejection, raw text clipped for the rejects file, and a CSV header read.

Each reader turns one export into canonical facts, streaming, as the `Row`s that
`application.importing.import_rows` stores: a fact, a rejection naming the line (or
record) and the reason, or a row read but skipped on purpose. Facts come out in the order
the source says the events happened, so that equal timestamps keep it (SPEC §6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from lifecycle.domain.candidates import Candidate, Rejection
from lifecycle.domain.facts import FactInputError, parse_fact
from lifecycle.importers.canonical import FileFormatError, Notice, Row
from lifecycle.importers.records import CsvRecord, repeated_columns, repeated_message

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

def read_header(records: Iterator[CsvRecord], reads: frozenset[str] | None = None
                ) -> list[str] | None:
    """The header record's cells, trimmed; None for an empty file. A column named in
    `reads` (compared case-insensitively) that appears twice is an error."""
    header = next(records, None)
    if header is None:
        return None
    if header.problem is not None:
        raise FileFormatError(f"line {header.line}: not a CSV header: {header.problem}")
    names = [cell.strip() for cell in header.cells]
    if reads is not None:
        for name, spots in repeated_columns(names, fold=True).items():
            if name.casefold() in reads:
                raise FileFormatError(repeated_message(header.line, name, spots))
    return names
