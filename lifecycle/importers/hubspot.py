"""HubSpot CRM v3 objects read with `propertiesWithHistory`, as facts.

Every history entry of every property becomes a `status_changed` fact (field = the
property, value = the entry's value, `""` = cleared), and a contact's company
associations become `person_linked` facts. Accepted shapes: a batch-read response
(`{"results": [...]}`), a JSON list of objects, a single object, or JSON Lines of any of
those. JSON documents are streamed with ijson, JSON Lines line by line, so memory stays
flat whatever the file size. Rejections name the line for JSON Lines and the 1-based record
(object) number for a JSON document.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import ijson

from lifecycle.domain.timeutil import TimeError, format_instant, parse_instant
from lifecycle.importers.canonical import FileFormatError, Notice, Row
from lifecycle.importers.common import clip, fact_row, reject
from lifecycle.importers.records import MAX_LINE, jsonl_lines

SOURCE = "hubspot"
#: object type -> (singular, subject field, how many revisions HubSpot keeps per property)
OBJECTS = {"contacts": ("contact", "person_id", 45), "companies": ("company", "account_id", 20)}
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


def read_hubspot(stream: BinaryIO, assume_tz: ZoneInfo | None = None,
                 object_type: str = "contacts") -> Iterator[Row]:
    """Facts of every object in a HubSpot export of `object_type` (contacts/companies)."""
    if object_type not in OBJECTS:
        raise FileFormatError(
            f"unknown HubSpot object type {object_type!r} (expected contacts or companies)")
    for record in records(stream):
        if record.problem is not None:
            yield reject(record.line, None, record.where(record.problem), record.raw)
        else:
            yield from object_rows(record, object_type, assume_tz)


# ---- reading the export --------------------------------------------------------------------

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


def _jsonl_records(stream: BinaryIO, line: int) -> Iterator[Record]:
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
        yield Record(1, value, _dumps(value), in_document=True)


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


# ---- one object -> facts -------------------------------------------------------------------

def object_rows(record: Record, object_type: str, assume_tz: ZoneInfo | None
                ) -> Iterator[Row]:
    """Association facts first, then every history entry, oldest first."""
    kind, subject_field, keeps = OBJECTS[object_type]
    obj = record.value
    raw = record.raw if record.raw is not None else _dumps(obj)
    if not isinstance(obj, dict):
        yield reject(record.line, None, record.where(
            f"expected a HubSpot object (with id and propertiesWithHistory), found "
            f"{_json_kind(obj)}"), raw)
        return
    object_id = obj.get("id")
    if isinstance(object_id, int) and not isinstance(object_id, bool):
        object_id = str(object_id)
    if not isinstance(object_id, str) or not object_id.strip():
        yield reject(record.line, "id", record.where(f"a HubSpot {kind} needs an id"), raw)
        return
    if object_type == "contacts":
        yield from _association_rows(record, obj, object_id, assume_tz)
    history = obj.get("propertiesWithHistory")
    if not isinstance(history, dict):
        yield reject(record.line, "propertiesWithHistory", record.where(
            "no propertiesWithHistory: read the objects with propertiesWithHistory="
            "lifecyclestage,... (see docs/importing.md)"), raw)
        return
    facts: list[tuple[datetime, Row]] = []
    for name, entries in history.items():
        where = f"propertiesWithHistory.{name}"
        if not isinstance(entries, list):
            yield reject(record.line, where, record.where(
                f"expected a list of history entries, found {_json_kind(entries)}"), raw)
            continue
        notice = None
        if len(entries) >= keeps:
            notice = Notice(f"HubSpot keeps at most {keeps} revisions of a {kind} property: "
                            "older history may be lost", f"{kind} {object_id} ({name})")
        for index in reversed(range(len(entries))):  # newest first: the last happened first
            row, when = _entry_row(record, kind, subject_field, object_id, name, index,
                                   entries[index], assume_tz, notice)
            notice = None
            if when is None:
                yield row
            else:
                facts.append((when, row))
    facts.sort(key=lambda pair: pair[0])  # stable: equal timestamps keep the order above
    for _, row in facts:
        yield row


def _entry_row(record: Record, kind: str, subject_field: str, object_id: str, name: str,
               index: int, entry: Any, assume_tz: ZoneInfo | None, notice: Notice | None
               ) -> tuple[Row, datetime | None]:
    where = f"propertiesWithHistory.{name}[{index}]"
    raw = _dumps({"id": object_id, "property": name, "entry": entry})
    if not isinstance(entry, dict):
        return reject(record.line, where, record.where(
            f"expected a history entry object, found {_json_kind(entry)}"), raw, notice), None
    value = entry.get("value", _MISSING)
    if value is _MISSING or isinstance(value, dict | list):
        reason = "required field is missing" if value is _MISSING else "expected a string"
        return reject(record.line, f"{where}.value", record.where(reason), raw, notice), None
    value = "" if value is None else _text(value)
    try:
        when = _instant(entry.get("timestamp"), assume_tz)
    except TimeError as exc:
        return reject(record.line, f"{where}.timestamp", record.where(str(exc)), raw,
                      notice), None
    stamp = format_instant(when)
    digest = hashlib.sha256(_dumps([value, entry.get("sourceType"), entry.get("sourceId"),
                                    entry.get("updatedByUserId")]).encode()).hexdigest()
    actor = entry.get("updatedByUserId")
    actor = entry.get("sourceId") if actor is None or actor == "" else actor
    attributes = {key: _text(entry[key]) for key in ("sourceType", "sourceId", "sourceLabel")
                  if isinstance(entry.get(key), str | int | float) and entry[key] != ""}
    data: dict[str, Any] = {
        "type": "status_changed", subject_field: object_id, "field": name, "value": value,
        "occurred_at": stamp, "source": SOURCE,
        "source_id": f"{kind}:{object_id}:{name}:{stamp}:{digest[:12]}",
        "attributes": attributes}
    if actor is not None and not isinstance(actor, dict | list):
        data["actor"] = _text(actor)
    row = fact_row(record.line, data, raw, assume_tz, notice)
    if row.rejection is not None:
        row = reject(record.line, row.rejection.field, record.where(row.rejection.reason),
                     raw, notice)
        return row, None
    return row, when


def _association_rows(record: Record, obj: dict[str, Any], contact_id: str,
                      assume_tz: ZoneInfo | None) -> Iterator[Row]:
    """A contact's companies, linked from its creation (HubSpot dates no association);
    the primary company last, so that it is the one the contact belongs to."""
    associations = obj.get("associations")
    block = associations.get("companies") if isinstance(associations, dict) else None
    results = block.get("results") if isinstance(block, dict) else None
    if not isinstance(results, list) or not results:
        return
    raw = _dumps({"id": contact_id, "associations": {"companies": block}})
    companies: dict[str, bool] = {}
    for item in results:
        company = item.get("id", item.get("toObjectId")) if isinstance(item, dict) else None
        if isinstance(company, int) and not isinstance(company, bool):
            company = str(company)
        if not isinstance(company, str) or not company.strip():
            yield reject(record.line, "associations.companies.results.id", record.where(
                "a company association needs the company id"), raw)
            continue
        primary = isinstance(item, dict) and item.get("type") == "contact_to_company"
        companies[company] = companies.get(company, False) or primary
    if not companies:
        return
    properties = obj.get("properties") if isinstance(obj.get("properties"), dict) else {}
    created = obj.get("createdAt") or properties.get("createdate")  # type: ignore[union-attr]
    try:
        stamp = format_instant(_instant(created, assume_tz))
    except TimeError as exc:
        for _ in companies:
            yield reject(record.line, "createdAt", record.where(
                f"{exc}: the contact's createdAt dates its company associations"), raw)
        return
    for company in sorted(companies, key=lambda c: companies[c]):  # stable: primary last
        yield fact_row(record.line, {
            "type": "person_linked", "person_id": contact_id, "account_id": company,
            "occurred_at": stamp, "source": SOURCE,
            "source_id": f"contact:{contact_id}:company:{company}"}, raw, assume_tz)


# ---- small helpers -------------------------------------------------------------------------

_MISSING = object()


def _instant(value: Any, assume_tz: ZoneInfo | None) -> datetime:
    """An ISO 8601 timestamp, or milliseconds since the epoch (HubSpot's older APIs)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise TimeError(f"timestamp out of range: {value!r}") from exc
    if isinstance(value, str) and value.strip().isdigit():
        return _instant(int(value.strip()), assume_tz)
    if not isinstance(value, str):
        raise TimeError("required field is missing" if value is None
                        else f"expected an ISO 8601 timestamp, found {_json_kind(value)}")
    return parse_instant(value, assume_tz)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a number" if not isinstance(value, bool) else "a boolean"


def _dumps(value: Any) -> str:
    return clip(json.dumps(value, ensure_ascii=False, default=str)) or ""
