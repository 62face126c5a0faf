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
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from lifecycle.domain.timeutil import TimeError, format_instant, parse_instant
from lifecycle.importers.canonical import FileFormatError, Notice, Row
from lifecycle.importers.common import fact_row, reject
from lifecycle.importers.hubspot_records import Record, dumps, records

SOURCE = "hubspot"
#: object type -> (singular, subject field, how many revisions HubSpot keeps per property)
OBJECTS = {"contacts": ("contact", "person_id", 45), "companies": ("company", "account_id", 20)}


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


# ---- one object -> facts -------------------------------------------------------------------

def object_rows(record: Record, object_type: str, assume_tz: ZoneInfo | None
                ) -> Iterator[Row]:
    """Association facts first, then every history entry, oldest first."""
    kind, subject_field, keeps = OBJECTS[object_type]
    obj = record.value
    raw = record.raw if record.raw is not None else dumps(obj)
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
    raw = dumps({"id": object_id, "property": name, "entry": entry})
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
    digest = hashlib.sha256(dumps([value, entry.get("sourceType"), entry.get("sourceId"),
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

