"""A HubSpot export read object by object, whatever its shape: a batch-read response
(`{"results": [...]}`) or a legacy listing (`{"contacts": [...], "has-more": ...}`), a JSON
list, a single object, or JSON Lines of any of those.

JSON documents are streamed with ijson, JSON Lines line by line, so memory stays flat
whatever the file size. Each object comes out as a `Record` with where it was found (a
line, or the 1-based record number in a document), or with why it could not be read.

A single value in a document is not streamed by the parser: it is held whole until it
ends. So a value (or a stretch of bytes between two tokens) longer than `MAX_VALUE` bytes
makes that record a rejected row naming its field, and ends the document there, as a
line longer than `MAX_LINE` does in JSON Lines: memory stays flat whatever one value
holds, and the value is never read whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import ijson

from lifecycle.importers.common import clip
from lifecycle.importers.records import MAX_LINE, jsonl_lines

MAX_DEPTH = 64
#: The longest single JSON value read from a document (bytes, as long as a JSON line).
MAX_VALUE = MAX_LINE
#: The keys a listing keeps its objects under: `results` (v3), or the legacy APIs' own
#: (`{"contacts": [...], "has-more": ...}`, `{"companies": [...]}`, `{"deals": [...]}`).
LISTS = ("results", "contacts", "companies", "deals")


@dataclass
class Record:
    """One object of the export (or why it could not be read), where it was found."""

    line: int
    value: Any = None
    raw: str | None = None
    problem: str | None = None
    in_document: bool = False

    def where(self, reason: str) -> str:
        return f"record {self.line}: {reason}" if self.in_document else reason



def records(stream: BinaryIO) -> Iterator[Record]:
    """The objects of a JSON document or of JSON Lines, told apart by the first lines: a
    first line that is a JSON value by itself means JSON Lines; so does a broken first line
    that does not open a document (`{`, `[`, `"key": {`...) followed by an object."""
    first = _peek(stream, 0, bom=True)
    if first is None:
        return  # an empty (or blank) file: nothing to read
    line, consumed, text, overlong = first
    if text.startswith(b"[") or overlong:
        yield from _document_records(_Prefixed(consumed, stream))
        return
    value = _loads(text)
    if value is not _BROKEN:
        yield from _unwrap(Record(line, value, text.decode("utf-8", "replace")))
        yield from _jsonl_records(stream, line)
        return
    second = None if text.endswith((b"[", b"{", b",", b":")) else _peek(stream, line)
    if second is not None and not second[3] and isinstance(_loads(second[2]), dict):
        yield from _jsonl_records(_Prefixed(consumed + second[1], stream), 0)
        return
    # a pretty-printed document (or garbage): read it as one JSON document
    yield from _document_records(_Prefixed(consumed + (second[1] if second else b""), stream))


_BROKEN = object()


def _loads(text: bytes) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _BROKEN


def _peek(stream: BinaryIO, line: int, bom: bool = False
          ) -> tuple[int, bytes, bytes, bool] | None:
    """The next non-blank line: its number, the bytes read to get it, the line stripped,
    and whether it is longer than MAX_LINE (then only its start was read)."""
    consumed = b""
    while True:
        chunk = stream.readline(MAX_LINE + 1)
        if not chunk:
            return None
        if bom and not consumed and line == 0:
            chunk = chunk.removeprefix(b"\xef\xbb\xbf")
        consumed += chunk
        line += 1
        if chunk.strip():
            return line, consumed, chunk.strip(), len(chunk) > MAX_LINE and \
                not chunk.endswith(b"\n")


def _unwrap(record: Record) -> Iterator[Record]:
    """A batch-read response or a list on one line stands for the objects it holds."""
    value = record.value
    if isinstance(value, dict) and "id" not in value:
        for key in LISTS:
            if isinstance(value.get(key), list):
                value = value[key]
                break
    if isinstance(value, list):
        for item in value:
            yield Record(record.line, item, record.raw, in_document=record.in_document)
    else:
        yield record


def _jsonl_records(stream: BinaryIO | _Prefixed, line: int) -> Iterator[Record]:
    for parsed in jsonl_lines(stream, line):
        if parsed.problem is not None:
            yield Record(parsed.line, raw=parsed.raw, problem=parsed.problem)
        else:
            yield from _unwrap(Record(parsed.line, parsed.value, parsed.raw))


class _Prefixed:
    """A stream with the bytes already peeked at put back in front."""

    def __init__(self, prefix: bytes, stream: BinaryIO):
        self.prefix, self.stream = prefix, stream

    def read(self, size: int = -1) -> bytes:
        if self.prefix:
            if size < 0:
                data, self.prefix = self.prefix + self.stream.read(), b""
                return data
            data, self.prefix = self.prefix[:size], self.prefix[size:]
            return data
        return self.stream.read(size)

    def readline(self, size: int = -1) -> bytes:
        if not self.prefix:
            return self.stream.readline(size)
        end = self.prefix.find(b"\n") + 1 or len(self.prefix)
        if size >= 0:
            end = min(end, size)
        data, self.prefix = self.prefix[:end], self.prefix[end:]
        if not data.endswith(b"\n") and not self.prefix and (size < 0 or len(data) < size):
            data += self.stream.readline(size - len(data) if size >= 0 else -1)
        return data


class _TooDeep(Exception):
    pass


class _Oversized(Exception):
    """More than MAX_VALUE bytes were read without a token ending."""


#: The last field name before a value, at the end of the bytes up to its last quote: a
#: key (after `{` or `,`), then maybe the colon, an opening bracket and the value's quote.
_KEY_BEFORE = re.compile(
    rb'(?:^|[{,\[])\s*"((?:[^"\\]|\\.){1,200})"\s*(?::\s*(?:[{\[]\s*)?"?)?$')


class _Guarded:
    """The stream the parser reads, refusing to feed it a token (a string, a number, a
    stretch of whitespace) longer than MAX_VALUE bytes.

    Every token ends within a few bytes of a double quote that is not escaped (the
    document's structure is all strings), so the guard only counts the bytes read since
    the last such quote: a search at C speed per read, no work per token."""

    def __init__(self, stream: _Prefixed):
        self.stream = stream
        self.run = 0  # bytes read since the last unescaped double quote
        self.before = b""  # the bytes up to and including that quote (their end)
        self.tail = b""  # the end of the previous read (backslashes escaping its next byte)

    def read(self, size: int = -1) -> bytes:
        if self.run > MAX_VALUE:
            raise _Oversized
        data = self.stream.read(size if 0 <= size <= MAX_VALUE else MAX_VALUE)
        quote = data.rfind(b'"')
        while quote >= 0 and _escaped(data, quote, self.tail):
            quote = data.rfind(b'"', 0, quote)
        if quote < 0:
            self.run += len(data)
        else:
            self.run = len(data) - quote - 1
            self.before = (self.before + data[:quote + 1])[-512:]
        self.tail = (self.tail + data)[-64:] if len(data) < 64 else data[-64:]
        return data

    def field(self) -> str:
        found = _KEY_BEFORE.search(self.before)
        return found.group(1).decode("utf-8", "replace") if found else "(unknown)"


def _escaped(data: bytes, quote: int, before: bytes) -> bool:
    """Whether the double quote at `quote` is escaped (an odd number of backslashes)."""
    start = quote
    while start > 0 and data[start - 1] == 0x5C:
        start -= 1
    slashes = quote - start
    if start == 0:
        slashes += len(before) - len(before.rstrip(b"\\"))
    return slashes % 2 == 1


def _document_records(stream: _Prefixed) -> Iterator[Record]:
    """Objects of one JSON document: a list, a batch-read response or a single object.
    Broken JSON, or a value longer than MAX_VALUE, ends the document: the rest of it
    cannot be read."""
    guarded = _Guarded(stream)
    events = ijson.basic_parse(guarded, use_float=True)
    last = 0
    try:
        for record in _document_objects(events):
            last = record.line
            yield record
        for _ in events:  # whatever follows the document is an error too
            pass
    except _Oversized:
        yield Record(last + 1, problem=f"field {guarded.field()}: a value longer than "
                     f"{MAX_VALUE:,} bytes; the rest of the document was not read",
                     in_document=True)
    except (ijson.JSONError, UnicodeDecodeError, ValueError) as exc:
        yield Record(last + 1, problem=f"not valid JSON: {_json_message(exc)}; the rest "
                     "of the document was not read", in_document=True)


def _document_objects(events: Iterator[tuple[str, Any]]) -> Iterator[Record]:
    event, value = next(events, (None, None))
    if event is None:
        return
    if event == "start_array":
        yield from _array_items(events)
    elif event == "start_map":
        top: dict[str, Any] = {}
        streamed = too_deep = False
        for event, value in events:
            if event == "end_map":
                break
            key = value
            event, value = next(events, (None, None))
            if event is None:
                raise ValueError("premature end of the document")
            if key in LISTS and event == "start_array":
                streamed = True
                yield from _array_items(events)
                continue
            try:
                top[key] = _value(events, event, value)
            except _TooDeep:
                too_deep = True
        if too_deep:
            yield Record(1, problem=f"nested deeper than {MAX_DEPTH} levels", in_document=True)
        elif not streamed:
            yield Record(1, top, in_document=True)
    else:
        yield Record(1, value, dumps(value), in_document=True)


def _array_items(events: Iterator[tuple[str, Any]]) -> Iterator[Record]:
    number = 0
    for event, value in events:
        if event == "end_array":
            return
        number += 1
        try:
            item = _value(events, event, value)
        except _TooDeep:
            yield Record(number, problem=f"nested deeper than {MAX_DEPTH} levels",
                         in_document=True)
            continue
        yield Record(number, item, in_document=True)


def _value(events: Iterator[tuple[str, Any]], event: str, value: Any) -> Any:
    """Build the JSON value that starts with (`event`, `value`), consuming its events.
    Deeper than MAX_DEPTH: consumed whole without being built, then _TooDeep."""
    if event not in ("start_map", "start_array"):
        return value
    root: Any = {} if event == "start_map" else []
    stack: list[Any] = [root]
    keys: list[Any] = [None]
    skipping = 0
    for event, value in events:
        if skipping:
            skipping += event in ("start_map", "start_array")
            skipping -= event in ("end_map", "end_array")
            if skipping == 0:
                raise _TooDeep
            continue
        if event == "map_key":
            keys[-1] = value
        elif event in ("start_map", "start_array"):
            if len(stack) >= MAX_DEPTH:
                skipping = len(stack) + 1
                continue
            container: Any = {} if event == "start_map" else []
            _put(stack[-1], keys[-1], container)
            stack.append(container)
            keys.append(None)
        elif event in ("end_map", "end_array"):
            stack.pop()
            keys.pop()
            if not stack:
                return root
        else:
            _put(stack[-1], keys[-1], value)
    raise ValueError("premature end of the document")


def _put(container: Any, key: Any, value: Any) -> None:
    if isinstance(container, list):
        container.append(value)
    else:
        container[key] = value


def _json_message(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else type(exc).__name__
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text).strip().splitlines()[0] if str(text).strip() else type(exc).__name__


def dumps(value: Any) -> str:
    """`value` as JSON text for a rejection's raw column (clipped)."""
    return clip(json.dumps(value, ensure_ascii=False, default=str)) or ""
