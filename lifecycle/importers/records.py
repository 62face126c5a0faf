"""Reading export files record by record, in flat memory, whatever the bytes.

The low level every importer shares: JSON Lines and CSV records, each either readable or
carrying the problem that makes it a bad row (invalid UTF-8, broken JSON or quoting, a
line longer than `MAX_LINE`). What a record means is the importers' business.

A record's `raw` is its text exactly as in the file (CSV quoting kept, the lines of a
multi-line record joined by their own line breaks, only the last line break and a UTF-8 BOM
left out), so that a rejected row can be fixed and imported again. Bytes that are not
valid in the file's encoding stay in it as `\\udcXX` surrogates (`surrogateescape`), never
U+FFFD. `encoding=` reads a file in another encoding (see `encodings`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from lifecycle.importers.encodings import utf8_stream

MAX_LINE = 1_000_000  # bytes; a longer line is rejected, not read into memory whole


class Lines(Protocol):
    """A binary stream read line by line (a file, or one with peeked bytes put back)."""

    def readline(self, size: int = -1, /) -> bytes: ...


@dataclass
class JsonLine:
    """One non-blank line of a JSON Lines file: its value, or why it cannot be read."""

    line: int
    value: Any = None
    raw: str | None = None
    problem: str | None = None


def _skip_rest(stream: Lines, chunk: bytes) -> None:
    while chunk and not chunk.endswith(b"\n"):
        chunk = stream.readline(MAX_LINE)


def _unterminated(text: str) -> str:
    """A line without its line break (`\n` or `\r\n`)."""
    return text[:-1].removesuffix("\r") if text.endswith("\n") else text


def jsonl_lines(stream: Lines, line: int = 0, *, encoding: str | None = None
                ) -> Iterator[JsonLine]:
    """Every non-blank line after line number `line`, parsed (blank lines are skipped)."""
    stream = utf8_stream(stream, encoding)  # type: ignore[arg-type]
    while True:
        chunk = stream.readline(MAX_LINE + 1)
        if not chunk:
            return
        line += 1
        if len(chunk) > MAX_LINE and not chunk.endswith(b"\n"):
            _skip_rest(stream, chunk)
            yield JsonLine(line, problem=f"line is longer than {MAX_LINE} bytes")
            continue
        if line == 1:
            chunk = chunk.removeprefix(b"\xef\xbb\xbf")
        try:
            raw = _unterminated(chunk.decode("utf-8"))
        except UnicodeDecodeError as exc:
            yield JsonLine(line, raw=_unterminated(chunk.decode("utf-8", "surrogateescape")),
                           problem=f"not valid UTF-8 (byte {exc.start + 1})")
            continue
        text = raw.strip()
        if not text:
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield JsonLine(line, raw=raw,
                           problem=f"not valid JSON: {exc.msg} at column {exc.colno}")
            continue
        except RecursionError:
            yield JsonLine(line, raw=raw, problem="not valid JSON: nested too deeply")
            continue
        yield JsonLine(line, value, raw)


@dataclass
class CsvRecord:
    """One non-blank CSV record: its first line and cells, or why it cannot be read."""

    line: int
    cells: list[str]
    problem: str | None = None
    #: The record's text as in the file (None: the cells joined with commas).
    text: str | None = None

    @property
    def raw(self) -> str:
        return self.text if self.text is not None else ",".join(self.cells)


class _Lines:
    """Decoded physical lines for `csv.reader`, none longer than MAX_LINE bytes.

    A longer line is skipped unread (memory stays flat) and replaced by a blank line;
    `too_long` tells the caller the record it ends up in is to be rejected."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.too_long = False
        self.first = True
        #: The lines read since `taken()` was last called: the current record's text.
        self.lines: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        chunk = self.stream.readline(MAX_LINE + 1)
        if not chunk:
            raise StopIteration
        if len(chunk) > MAX_LINE and not chunk.endswith(b"\n"):
            _skip_rest(self.stream, chunk)
            self.too_long = True
            return "\n"
        if self.first:
            self.first = False
            chunk = chunk.removeprefix(b"\xef\xbb\xbf")
        text = chunk.decode("utf-8", "surrogateescape")
        self.lines.append(text)
        return text

    def taken(self) -> str:
        """The text of the lines read since the last call, without the last line break."""
        text = _unterminated("".join(self.lines))
        self.lines = []
        return text


def repeated_columns(header: list[str], fold: bool = False) -> dict[str, list[int]]:
    """Column names the header holds more than once (compared case-insensitively with
    `fold`), with their 1-based positions: such a column cannot be read unambiguously."""
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(header, 1):
        seen.setdefault(name.casefold() if fold else name, []).append(position)
    return {header[spots[0] - 1]: spots for spots in seen.values() if len(spots) > 1}


def repeated_message(line: int, name: str, spots: list[int]) -> str:
    where = ", ".join(map(str, spots[:-1])) + f" and {spots[-1]}"
    return f"line {line}: column {name!r} appears {len(spots)} times in the header " \
           f"(columns {where})"


def csv_records(stream: BinaryIO, *, encoding: str | None = None) -> Iterator[CsvRecord]:
    """Every non-blank record of a CSV file, the header first; bad ones carry a problem.

    Invalid UTF-8 (or bytes invalid in `encoding`), broken quoting and overlong lines are
    problems of that record only."""
    utf8 = utf8_stream(stream, encoding)
    invalid = "not valid UTF-8" if utf8 is stream else f"not valid {encoding}"
    lines = _Lines(utf8)
    reader = csv.reader(lines)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield CsvRecord(start, [], f"not valid CSV: {exc}", lines.taken() or None)
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        text = lines.taken()
        if lines.too_long:
            lines.too_long = False
            yield CsvRecord(line, [], f"line is longer than {MAX_LINE} bytes")
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if any("\udc80" <= ch <= "\udcff" for cell in cells for ch in cell):
            cells = [c.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                     for c in cells]
            yield CsvRecord(line, cells, invalid, text)
            continue
        yield CsvRecord(line, cells, text=text)
