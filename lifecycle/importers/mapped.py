"""Any CSV export, its columns mapped onto canonical fact fields with `--columns`.

`--columns person_id="Lead Id",occurred_at="Changed On",value="New Status",
type=status_changed,source=marketo` maps each canonical field to a header column; a value
that is not a header column is a constant for every row. `attributes.NAME=COLUMN` keeps a
column with the fact. Empty cells are absent fields, except `value`, where empty means
cleared (as in the canonical CSV).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from lifecycle.domain.facts import FACT_TYPES
from lifecycle.importers.canonical import CANONICAL_COLUMNS, FileFormatError, Row
from lifecycle.importers.common import fact_row, read_header, reject
from lifecycle.importers.records import csv_records, repeated_message


class ColumnsError(ValueError):
    """A `--columns` value that cannot be read (a usage error)."""


@dataclass(frozen=True)
class ColumnMap:
    """What the user asked for: canonical field -> column name or constant, in order."""

    pairs: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, text: str) -> ColumnMap:
        pairs: list[tuple[str, str]] = []
        for item in _split(text):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep or not key:
                raise ColumnsError(f"{item.strip()!r} is not FIELD=COLUMN (or FIELD=CONSTANT)")
            if key not in CANONICAL_COLUMNS and not (
                    key.startswith("attributes.") and len(key) > len("attributes.")):
                raise ColumnsError(
                    f"{key!r} is not a fact field (fields: {', '.join(CANONICAL_COLUMNS)}, "
                    "or attributes.NAME)")
            if any(key == seen for seen, _ in pairs):
                raise ColumnsError(f"{key!r} is mapped twice")
            pairs.append((key, _unquote(value.strip())))
        if not pairs:
            raise ColumnsError("no columns given: FIELD=COLUMN,FIELD=CONSTANT,...")
        fields = {key for key, _ in pairs}
        if "type" not in fields:
            raise ColumnsError("map the fact type: a column, or a constant such as "
                               "type=status_changed")
        if "occurred_at" not in fields:
            raise ColumnsError("map occurred_at to the column with the time of each event")
        if not fields & {"person_id", "account_id", "opportunity_id"}:
            raise ColumnsError("map person_id, account_id or opportunity_id to the column of "
                               "subject ids")
        return cls(tuple(pairs))

    def resolve(self, header: list[str]) -> Resolved:
        """Which values are columns of this header (exactly, else ignoring case and
        surrounding spaces) and which are constants."""
        exact = {name: i for i, name in reversed(list(enumerate(header)))}
        loose: dict[str, list[int]] = {}
        for i, name in enumerate(header):
            loose.setdefault(name.strip().casefold(), []).append(i)
        columns: dict[str, int] = {}
        constants: dict[str, str] = {}
        for key, value in self.pairs:
            index = exact.get(value)
            candidates = loose.get(value.strip().casefold(), [])
            twice = [i + 1 for i, name in enumerate(header) if name == value] \
                if index is not None else [i + 1 for i in candidates]
            if len(twice) > 1:  # which one was meant cannot be told
                raise FileFormatError(repeated_message(1, header[twice[0] - 1], twice))
            if index is None and len(candidates) == 1:
                index = candidates[0]
            if index is not None:
                columns[key] = index
            else:
                constants[key] = value
        resolved = Resolved(tuple(header), columns, constants)
        resolved.check()
        return resolved


@dataclass(frozen=True)
class Resolved:
    header: tuple[str, ...]
    columns: dict[str, int]
    constants: dict[str, str]

    def check(self) -> None:
        """A subject id cannot be a constant: that is a misspelt column name."""
        named = [f for f in ("opportunity_id", "person_id", "account_id")
                 if f in self.columns or f in self.constants]
        subject = named[0] if named else "account_id"
        if subject in self.constants:
            raise FileFormatError(
                f"line 1: {subject}={self.constants[subject]!r} is not a column of the file "
                f"(columns: {', '.join(self.header)})")
        when = self.constants.get("occurred_at")
        if when is not None and not _looks_like_time(when):
            raise FileFormatError(
                f"line 1: occurred_at={when!r} is neither a column of the file (columns: "
                f"{', '.join(self.header)}) nor a timestamp")

    def describe(self) -> list[str]:
        lines = ["Column mapping:"]
        for key, index in self.columns.items():
            lines.append(f"  {key:<12} <- column {self.header[index]!r}")
        for key, value in self.constants.items():
            lines.append(f"  {key:<12} =  {value!r} (constant)")
        used = set(self.columns.values())
        unused = [name for i, name in enumerate(self.header) if i not in used]
        if unused:
            lines.append(f"  not imported: {', '.join(repr(name) for name in unused)}")
        return lines

    def row(self, line: int, cells: list[str], raw: str, assume_tz: ZoneInfo | None) -> Row:
        data: dict[str, Any] = dict(self.constants)
        for key, index in self.columns.items():
            if cells[index] != "":
                data[key] = cells[index]
        attributes = {k.removeprefix("attributes."): data.pop(k) for k in list(data)
                      if k.startswith("attributes.")}
        if attributes:
            data["attributes"] = attributes
        fact_type = FACT_TYPES.get(str(data.get("type", "")))
        if "value" in self.columns and "value" not in data and fact_type is not None \
                and "value" in fact_type.model_fields:
            data["value"] = ""  # an empty value cell: the value was cleared
        result = fact_row(line, data, raw, assume_tz)
        bad = result.rejection
        if bad is not None and bad.field in self.columns:
            return reject(line, self.header[self.columns[bad.field]], bad.reason, raw)
        return result


def read_mapped(stream: BinaryIO, assume_tz: ZoneInfo | None = None, *,
                mapping: ColumnMap) -> Iterator[Row]:
    records = csv_records(stream)
    header = read_header(records)
    if header is None:
        return
    resolved = mapping.resolve(header)
    for record in records:
        if record.problem is not None:
            yield reject(record.line, None, record.problem, record.raw or None)
        elif len(record.cells) != len(header):
            yield reject(record.line, None,
                         f"expected {len(header)} cells, found {len(record.cells)}",
                         record.raw)
        else:
            yield resolved.row(record.line, record.cells, record.raw, assume_tz)


def _split(text: str) -> Iterator[str]:
    """Split on commas outside double quotes."""
    item: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            yield "".join(item)
            item = []
        else:
            item.append(ch)
    if quoted:
        raise ColumnsError(f"unbalanced double quote in {text!r}")
    if "".join(item).strip():
        yield "".join(item)


def _looks_like_time(text: str) -> bool:
    raw = text.strip()
    try:
        datetime.fromisoformat(raw[:-1] + "+00:00" if raw[-1:] in "zZ" and raw else raw)
    except ValueError:
        return False
    return True


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('""', '"')
    return value
