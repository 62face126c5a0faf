"""Any CSV or JSON Lines export, its columns mapped onto canonical fact fields with
`--columns`.

`--columns person_id="Lead Id",occurred_at="Changed On",value="New Status",
type=status_changed,source=marketo` maps each canonical field to a header column; a value
that is not a header column is a constant for every row. A value in double quotes must be a
column, one in single quotes is a constant even when a column has that name (a quote inside
is doubled, as in SQL). `attributes.NAME=COLUMN` keeps a column with the fact.
`where=COLUMN=VALUE` / `where=COLUMN!=VALUE` import only the rows whose cell is (is not)
VALUE, ignoring case and surrounding spaces; the others are skipped. `until=COLUMN` reads
a table of record versions: a record whose last version ended was deleted (`versions`).
Empty cells are absent fields, except `value`, where empty means cleared (as in the
canonical CSV). In JSON Lines the first object's keys are the columns, and null is an
empty cell.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from lifecycle.domain.facts import FACT_TYPES
from lifecycle.domain.timeutil import TimeError, parse_instant
from lifecycle.importers.canonical import CANONICAL_COLUMNS, FileFormatError, Row
from lifecycle.importers.common import clip, fact_row, read_header, reject
from lifecycle.importers.records import csv_records, jsonl_lines, repeated_message
from lifecycle.importers.versions import Versions

UTC_ZONE = ZoneInfo("UTC")


class ColumnsError(ValueError):
    """A `--columns` value that cannot be read (a usage error)."""


#: How a value was written: `"Name"` must be a column, `'text'` is a constant, a bare
#: value is a column when the file has one of that name, else a constant.
COLUMN, CONSTANT, EITHER = '"', "'", ""


@dataclass(frozen=True)
class Filter:
    """`where=NAME=VALUE` / `where=NAME!=VALUE`: which rows are imported."""

    name: str
    equal: bool
    value: str

    def describe(self) -> str:
        return f"{self.name!r} {'=' if self.equal else '!='} {self.value!r}"


@dataclass(frozen=True)
class ColumnMap:
    """What the user asked for: canonical field -> column name or constant, in order, and
    the row filters."""

    pairs: tuple[tuple[str, str], ...]
    #: field -> COLUMN, CONSTANT or EITHER (how the value was quoted).
    kinds: tuple[tuple[str, str], ...] = ()
    filters: tuple[Filter, ...] = ()
    #: `until=COLUMN`: the column with the end of each record version (see `versions`).
    until: str | None = None

    @classmethod
    def parse(cls, text: str) -> ColumnMap:
        pairs: list[tuple[str, str]] = []
        kinds: list[tuple[str, str]] = []
        filters: list[Filter] = []
        until: str | None = None
        for key, value, quote, condition in _items(text):
            if key == "where":
                assert condition is not None
                filters.append(condition)
                continue
            if key == "until":
                if until is not None or quote == CONSTANT:
                    raise ColumnsError("until=COLUMN names one column: the end of each "
                                       "record version")
                until = value
                continue
            if key not in CANONICAL_COLUMNS and not (
                    key.startswith("attributes.") and len(key) > len("attributes.")):
                raise ColumnsError(
                    f"{key!r} is not a fact field (fields: {', '.join(CANONICAL_COLUMNS)}, "
                    "or attributes.NAME; where=COLUMN=VALUE or where=COLUMN!=VALUE filters "
                    "rows, until=COLUMN reads a table of record versions)")
            if any(key == seen for seen, _ in pairs):
                raise ColumnsError(f"{key!r} is mapped twice")
            pairs.append((key, value))
            kinds.append((key, quote))
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
        return cls(tuple(pairs), tuple(kinds), tuple(filters), until)

    def resolve(self, header: list[str]) -> Resolved:
        """Which values are columns of this header (exactly, else ignoring case and
        surrounding spaces) and which are constants."""
        kinds = dict(self.kinds)
        columns: dict[str, int] = {}
        constants: dict[str, str] = {}
        for key, value in self.pairs:
            kind = kinds.get(key, EITHER)
            index = None if kind == CONSTANT else _column(header, value)
            if index is not None:
                columns[key] = index
            elif kind == COLUMN:
                raise FileFormatError(f"line 1: {key}=\"{value}\" is not a column of the "
                                      f"file (columns: {_listed(header)})")
            else:
                constants[key] = value
        filters = []
        for rule in self.filters:
            index = _column(header, rule.name)
            if index is None:
                raise FileFormatError(f"line 1: where={rule.name!r} is not a column of the "
                                      f"file (columns: {_listed(header)})")
            filters.append((index, rule))
        until = None if self.until is None else _column(header, self.until)
        if self.until is not None and until is None:
            raise FileFormatError(f"line 1: until={self.until!r} is not a column of the "
                                  f"file (columns: {_listed(header)})")
        resolved = Resolved(tuple(header), columns, constants, tuple(filters), until)
        resolved.check()
        return resolved


def _column(header: list[str], value: str) -> int | None:
    """The index of the column called `value`, exactly, else ignoring case and surrounding
    spaces; None when there is none. A name the header holds twice is an error."""
    exact = [i for i, name in enumerate(header) if name == value]
    twice = exact or [i for i, name in enumerate(header)
                      if name.strip().casefold() == value.strip().casefold()]
    if len(twice) > 1:  # which one was meant cannot be told
        raise FileFormatError(repeated_message(1, header[twice[0]], [i + 1 for i in twice]))
    return twice[0] if twice else None


def _listed(header: list[str] | tuple[str, ...], first: int = 12) -> str:
    """The header's names, the first few of a long one and how many more."""
    shown = ", ".join(header[:first])
    return shown if len(header) <= first else f"{shown} and {len(header) - first} more"


@dataclass(frozen=True)
class Resolved:
    header: tuple[str, ...]
    columns: dict[str, int]
    constants: dict[str, str]
    filters: tuple[tuple[int, Filter], ...] = ()
    until: int | None = None

    def check(self) -> None:
        """A subject id cannot be a constant: that is a misspelt column name."""
        named = [f for f in ("opportunity_id", "person_id", "account_id")
                 if f in self.columns or f in self.constants]
        subject = named[0] if named else "account_id"
        if subject in self.constants:
            raise FileFormatError(
                f"line 1: {subject}={self.constants[subject]!r} is not a column of the file "
                f"(columns: {_listed(self.header)})")
        when = self.constants.get("occurred_at")
        if when is not None and not _looks_like_time(when):
            raise FileFormatError(
                f"line 1: occurred_at={when!r} is neither a column of the file (columns: "
                f"{_listed(self.header)}) nor a timestamp")

    def describe(self) -> list[str]:
        lines = ["Column mapping:"]
        # aligned on the fact's own fields (an attributes.* key is let run over)
        width = max(len(key) for key in ["occurred_at ", *self.columns, *self.constants]
                    if not key.startswith("attributes."))
        for key, index in self.columns.items():
            lines.append(f"  {key:<{width}} <- column {self.header[index]!r}")
        for key, value in self.constants.items():
            lines.append(f"  {key:<{width}} =  {value!r} (constant)")
        for _, rule in self.filters:
            lines.append(f"  only rows where {rule.describe()}")
        if self.until is not None:
            column = self.header[self.until]
            lines.append(f"  {'until':<{width}} <- column {column!r} (a record whose last "
                         "version ended was deleted)")
        used = set(self.columns.values()) | {index for index, _ in self.filters} | (
            {self.until} if self.until is not None else set())
        unused = [repr(name) for i, name in enumerate(self.header) if i not in used]
        if unused:
            lines.append(f"  not imported: {_listed(unused, SHOWN)}")
        return lines

    def keeps(self, cells: list[str]) -> bool:
        """Whether the row passes every `where` (compared ignoring case and surrounding
        spaces)."""
        return all((cells[index].strip().casefold() == rule.value.strip().casefold())
                   == rule.equal for index, rule in self.filters)

    def versioned(self, versions: Versions, line: int, cells: list[str], raw: str,
                  assume_tz: ZoneInfo | None) -> Row:
        """`row`, its version noted in `versions` when the mapping has `until`."""
        row = self.row(line, cells, raw, assume_tz)
        if self.until is not None:
            versions.see(row, cells[self.until])
        return row

    def row(self, line: int, cells: list[str], raw: str, assume_tz: ZoneInfo | None) -> Row:
        if not self.keeps(cells):
            return Row(line, skipped=True)
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


#: How many unmapped columns the mapping names before "and N more".
SHOWN = 8


def read_mapped(stream: BinaryIO, assume_tz: ZoneInfo | None = None, *,
                mapping: ColumnMap, jsonl: bool = False) -> Iterator[Row]:
    """The mapped facts of a CSV file, or of a JSON Lines file with `jsonl` (its first
    object's keys are the columns)."""
    if jsonl:
        yield from _mapped_jsonl(stream, assume_tz, mapping)
        return
    records = csv_records(stream)
    header = read_header(records)
    if header is None:
        return
    resolved = mapping.resolve(header)
    versions = Versions(assume_tz)
    for record in records:
        if record.problem is not None:
            yield reject(record.line, None, record.problem, record.raw or None)
        elif len(record.cells) != len(header):
            yield reject(record.line, None,
                         f"expected {len(header)} cells, found {len(record.cells)}",
                         record.raw)
        else:
            yield resolved.versioned(versions, record.line, record.cells, record.raw,
                                     assume_tz)
    yield from versions.deletions()


def jsonl_header(stream: BinaryIO, encoding: str | None = None) -> list[str] | None:
    """The keys of the first object of a JSON Lines file (None: no object to read)."""
    for record in jsonl_lines(stream, encoding=encoding):
        if record.problem is not None:
            raise FileFormatError(f"line {record.line}: {record.problem}")
        if not isinstance(record.value, dict):
            raise FileFormatError(f"line {record.line}: expected a JSON object per line, "
                                  f"found {type(record.value).__name__}")
        return [str(key) for key in record.value]
    return None


def _mapped_jsonl(stream: BinaryIO, assume_tz: ZoneInfo | None, mapping: ColumnMap
                  ) -> Iterator[Row]:
    resolved: Resolved | None = None
    versions = Versions(assume_tz)
    for record in jsonl_lines(stream):
        raw = record.raw or ""
        if record.problem is not None:
            yield reject(record.line, None, record.problem, clip(record.raw))
        elif not isinstance(record.value, dict):
            yield reject(record.line, None, "expected a JSON object", clip(raw))
        else:
            if resolved is None:
                resolved = mapping.resolve([str(key) for key in record.value])
            cells = [_cell(record.value.get(name)) for name in resolved.header]
            yield resolved.versioned(versions, record.line, cells, raw, assume_tz)
    yield from versions.deletions()


def _cell(value: Any) -> str:
    """A JSON value as a cell: null (or a missing key) is an empty cell."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# ---- the --columns text ----------------------------------------------------------------

Item = tuple[str, str, str, Filter | None]


def _items(text: str) -> Iterator[Item]:
    """`KEY=VALUE` items separated by commas; `where=NAME=VALUE` / `where=NAME!=VALUE`.

    A value (or a filter's name) in double quotes is a column, in single quotes a constant;
    a quote inside is doubled (SQL's rule). A bare value runs to the next comma."""
    at = 0
    while at < len(text):
        if text[at] in ", \t":
            at += 1
            continue
        begin = at
        key, _, at = _term(text, at, "=,")
        if at >= len(text) or text[at] != "=" or not key:
            raise ColumnsError(f"{text[begin:at].strip()!r} is not FIELD=COLUMN "
                               "(or FIELD=CONSTANT)")
        if key == "where":
            name, _, at = _term(text, at + 1, "!=,")
            equal = text.startswith("=", at)
            if not (equal or text.startswith("!=", at)) or not name:
                raise ColumnsError(f"{text[begin:at].strip()!r} is not where=COLUMN=VALUE "
                                   "or where=COLUMN!=VALUE")
            value, _, at = _term(text, at + (1 if equal else 2), ",")
            yield key, "", EITHER, Filter(name, equal, value)
        else:
            value, quote, at = _term(text, at + 1, ",")
            yield key, value, quote, None
        while at < len(text) and text[at] in " \t":
            at += 1
        if at < len(text) and text[at] != ",":
            raise ColumnsError(f"unexpected {text[at:].strip()!r} after {text[begin:at].strip()!r}"
                               " (quote the whole value)")


def _term(text: str, at: int, stops: str) -> tuple[str, str, int]:
    """The term starting at `at`: (its text, its quote or "", where it ends)."""
    while at < len(text) and text[at] in " \t":
        at += 1
    if at < len(text) and text[at] in "\"'":
        quote, out, at = text[at], [], at + 1
        while True:
            end = text.find(quote, at)
            if end < 0:
                kind = "double" if quote == '"' else "single"
                raise ColumnsError(f"unbalanced {kind} quote in {text!r}")
            out.append(text[at:end])
            if text.startswith(quote * 2, end):
                out.append(quote)
                at = end + 2
                continue
            return "".join(out), quote, end + 1
    end = at
    while end < len(text) and text[end] not in stops:
        end += 1
    return text[at:end].strip(), EITHER, end


def _looks_like_time(text: str) -> bool:
    try:
        parse_instant(text, UTC_ZONE)
    except TimeError:
        return False
    return True
