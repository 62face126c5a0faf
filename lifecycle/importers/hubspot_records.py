"""A HubSpot export read object by object, whatever its shape: a batch-read response
(`{"results": [...]}`), a JSON list, a single object, or JSON Lines of any of those.

JSON documents are streamed with ijson, JSON Lines line by line, so memory stays flat
whatever the file size. Each object comes out as a `Record` with where it was found (a
line, or the 1-based record number in a document), or with why it could not be read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import ijson

from lifecycle.importers.common import clip
from lifecycle.importers.records import MAX_LINE, jsonl_lines

MAX_DEPTH = 64


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
    if isinstance(value, dict) and isinstance(value.get("results"), list):
        value = value["results"]
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


def _document_records(stream: _Prefixed) -> Iterator[Record]:
    """Objects of one JSON document: a list, a batch-read response or a single object.
    Broken JSON ends the document: the rest of it cannot be read."""
    events = ijson.basic_parse(stream, use_float=True)
    last = 0
    try:
        for record in _document_objects(events):
            last = record.line
            yield record
        for _ in events:  # whatever follows the document is an error too
            pass
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
            if key == "results" and event == "start_array":
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
