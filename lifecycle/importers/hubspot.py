"""HubSpot exports as facts: CRM v3 objects read with `propertiesWithHistory` (contacts,
companies, deals), their legacy v1/v2 shapes, and property-history tables (Fivetran,
Airbyte).

Every history entry of every property becomes a `status_changed` fact (field = the
property, value = the entry's value, `""` = cleared); a contact's company associations
become `person_linked` facts, a deal's `opportunity_linked` and `contact_role` facts, and
`hs_merged_object_ids` `merged` facts (hubspot_links). Accepted shapes: a batch-read
response (`{"results": [...]}`), a JSON list of objects, a single object, or JSON Lines of
any of those; a CSV file is a table (hubspot_tables). JSON documents are streamed with
ijson, JSON Lines line by line, so memory stays flat whatever the file size. Rejections
name the line for JSON Lines and the 1-based record (object) number for a JSON document.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from lifecycle.domain.timeutil import TimeError, format_instant
from lifecycle.importers import hubspot_legacy as legacy
from lifecycle.importers import hubspot_links as links
from lifecycle.importers import hubspot_tables as tables
from lifecycle.importers.canonical import FileFormatError, Notice, Row
from lifecycle.importers.common import fact_row, reject
from lifecycle.importers.encodings import Transcoded
from lifecycle.importers.hubspot_records import Record, dumps, records
from lifecycle.importers.hubspot_values import SOURCE, instant, json_kind, status_fact, text
from lifecycle.importers.records import csv_records

#: object type -> (singular, subject field, how many revisions HubSpot keeps per property)
OBJECTS = {"contacts": ("contact", "person_id", 45), "companies": ("company", "account_id", 20),
           "deals": ("deal", "opportunity_id", 20)}
__all__ = ["OBJECTS", "SOURCE", "object_rows", "read_hubspot"]


def read_hubspot(stream: BinaryIO, assume_tz: ZoneInfo | None = None,
                 object_type: str | None = "contacts") -> Iterator[Row]:
    """Facts of every object (or table row) in a HubSpot export of `object_type`
    (contacts, companies or deals; None: not said, a table's columns tell, objects are
    contacts)."""
    if object_type is not None and object_type not in OBJECTS:
        raise FileFormatError(f"unknown HubSpot object type {object_type!r} (expected "
                              "contacts, companies or deals)")
    if _starts_as_csv(stream):
        yield from tables.csv_rows(csv_records(stream), object_type, assume_tz)
        return
    for record in records(stream):
        if record.problem is not None:
            yield reject(record.line, None, record.where(record.problem), record.raw)
        elif isinstance(record.value, dict) and _is_table_row(record.value):
            raw = record.raw if record.raw is not None else dumps(record.value)
            yield from tables.row_facts(record.line, record.value, raw, None, object_type,
                                        assume_tz, f"record {record.line}: "
                                        if record.in_document else "")
        else:
            yield from object_rows(record, object_type or "contacts", assume_tz)


def _starts_as_csv(stream: BinaryIO) -> bool:
    """Whether the file starts with the CSV header of a table this importer knows."""
    if stream.seekable():
        start = stream.tell()
        head = stream.read(8192)
        stream.seek(start)
    elif isinstance(stream, Transcoded):  # a file in another encoding than UTF-8
        head = stream.peek(8192)
    else:
        return False
    start_text = head.removeprefix(b"\xef\xbb\xbf").lstrip().decode("utf-8", "replace")
    if not start_text or start_text[0] in "{[":
        return False
    columns = next(csv.reader([start_text.splitlines()[0]]), [])
    return "_airbyte_data" in columns or tables.recognise(columns) is not None \
        or tables.undated_table(columns) is not None


def _is_table_row(value: dict[str, Any]) -> bool:
    return "_airbyte_data" in value or (
        "propertiesWithHistory" not in value and "properties" not in value
        and tables.recognise(list(value)) is not None)


# ---- one object -> facts -------------------------------------------------------------------

def object_rows(record: Record, object_type: str, assume_tz: ZoneInfo | None
                ) -> Iterator[Row]:
    """Association and merge facts first, then every history entry, oldest first. A
    legacy (v1/v2) object is read as the v3 object it describes."""
    kind, subject_field, keeps = OBJECTS[object_type]
    obj = record.value
    raw = record.raw if record.raw is not None else dumps(obj)
    if not isinstance(obj, dict):
        yield reject(record.line, None, record.where(
            f"expected a HubSpot object (with id and propertiesWithHistory), found "
            f"{json_kind(obj)}"), raw)
        return
    merges: list[tuple[str, Any, str]] = []
    shape = legacy.legacy_type(obj)
    if shape is not None:
        if shape != object_type:
            yield reject(record.line, None, record.where(
                f"this is HubSpot's legacy {legacy.shape_name(shape)} shape, not "
                f"{object_type}: import it with --object {shape}"), raw)
            return
        obj, merges = legacy.to_v3(obj, object_type)
    object_id = obj.get("id")
    if isinstance(object_id, int) and not isinstance(object_id, bool):
        object_id = str(object_id)
    if not isinstance(object_id, str) or not object_id.strip():
        yield reject(record.line, "id", record.where(f"a HubSpot {kind} needs an id"), raw)
        return
    if object_type == "contacts":
        yield from _association_rows(record, obj, object_id, assume_tz)
    elif object_type == "deals":
        yield from links.deal_rows(record, obj, object_id, assume_tz)
    yield from links.merge_rows(record, kind, subject_field, object_id,
                                merges + links.merged_ids(obj),
                                links.modified(obj), assume_tz)
    history = obj.get("propertiesWithHistory")
    if not isinstance(history, dict):
        yield reject(record.line, "propertiesWithHistory", record.where(
            "no propertiesWithHistory: read the objects with propertiesWithHistory="
            "lifecyclestage,... (see docs/importing.md)"), raw)
        return
    facts: list[tuple[datetime, Row]] = []
    for name, entries in history.items():
        if name == links.MERGED_PROPERTY:
            continue  # merged facts, above
        where = f"propertiesWithHistory.{name}"
        if not isinstance(entries, list):
            yield reject(record.line, where, record.where(
                f"expected a list of history entries, found {json_kind(entries)}"), raw)
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
    raw = dumps({"id": object_id, "property": name, "entry": entry})
    if not isinstance(entry, dict):
        return reject(record.line, where, record.where(
            f"expected a history entry object, found {json_kind(entry)}"), raw, notice), None
    value = entry.get("value", _MISSING)
    if value is _MISSING or isinstance(value, dict | list):
        reason = "required field is missing" if value is _MISSING else "expected a string"
        return reject(record.line, f"{where}.value", record.where(reason), raw, notice), None
    value = "" if value is None else text(value)
    try:
        when = instant(entry.get("timestamp"), assume_tz)
    except TimeError as exc:
        return reject(record.line, f"{where}.timestamp", record.where(str(exc)), raw,
                      notice), None
    data = status_fact(kind, subject_field, object_id, name, value, format_instant(when),
                       entry)
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
    raw = dumps({"id": contact_id, "associations": {"companies": block}})
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
        stamp = format_instant(instant(created, assume_tz))
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
