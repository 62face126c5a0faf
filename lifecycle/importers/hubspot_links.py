"""What ties HubSpot objects together, as facts: a deal's companies (`opportunity_linked`)
and contacts (`contact_role`), and the ids merged into an object (`merged`, SPEC §8).

Associations come in the v3 objects API's shape (`{"id": "123", "type":
"deal_to_company"}`) or the v4 shape (`{"toObjectId": 123, "associationTypes":
[{"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"}]}`). HubSpot dates no
association, so a deal's links are dated at the deal's creation, as a contact's companies
are. Merged ids come from `hs_merged_object_ids` (ids separated by semicolons), dated by
the history entry that first lists each id, else by the object's last modification.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from lifecycle.domain.timeutil import TimeError, format_instant
from lifecycle.importers.canonical import Row
from lifecycle.importers.common import fact_row, reject
from lifecycle.importers.hubspot_records import Record, dumps
from lifecycle.importers.hubspot_values import SOURCE, instant, object_id

MERGED_PROPERTY = "hs_merged_object_ids"
#: v3 association types that say nothing but "associated" (no role, no label).
_PLAIN = {"deal_to_contact", "deal_to_contact_unlabeled", "deal_to_company",
          "deal_to_company_unlabeled"}
#: v4 typeIds of a deal's primary company (HUBSPOT_DEFINED), and the v3 type naming it.
_PRIMARY_COMPANY = (5, "deal_to_company")


@dataclass
class Link:
    """One associated object: its id, whether it is the primary one, its labels."""

    target: str
    primary: bool = False
    labels: list[str] = field(default_factory=list)


def links(obj: dict[str, Any], target: str) -> tuple[list[Link], list[str]]:
    """The objects of type `target` associated with `obj` (v3 or v4 shape), merged by id
    in the order first listed, and the 0-based indexes of entries without a usable id."""
    associations = obj.get("associations")
    block = associations.get(target) if isinstance(associations, dict) else None
    results = block.get("results") if isinstance(block, dict) else block
    if not isinstance(results, list):
        return [], []
    found: dict[str, Link] = {}
    bad: list[str] = []
    for index, item in enumerate(results):
        target_id = object_id(item.get("id", item.get("toObjectId"))) \
            if isinstance(item, dict) else None
        if target_id is None:
            bad.append(str(index))
            continue
        link = found.setdefault(target_id, Link(target_id))
        assert isinstance(item, dict)
        kinds = item.get("associationTypes")
        if isinstance(kinds, list):  # v4
            for kind in kinds:
                if not isinstance(kind, dict):
                    continue
                if kind.get("typeId") == _PRIMARY_COMPANY[0] and \
                        kind.get("category") == "HUBSPOT_DEFINED":
                    link.primary = True
                label = kind.get("label")
                if isinstance(label, str) and label.strip() and \
                        kind.get("category") != "HUBSPOT_DEFINED":
                    link.labels.append(label.strip())
        elif isinstance(item.get("type"), str):  # v3
            kind_name = item["type"].strip()
            if kind_name == _PRIMARY_COMPANY[1]:
                link.primary = True
            elif kind_name and kind_name not in _PLAIN:
                link.labels.append(kind_name)
    return list(found.values()), bad


def deal_rows(record: Record, obj: dict[str, Any], deal_id: str,
              assume_tz: ZoneInfo | None) -> Iterator[Row]:
    """A deal's companies (`opportunity_linked`, kind = its `dealtype`, the primary company
    last so that it is the one the deal belongs to) and contacts (`contact_role`)."""
    companies, bad_companies = links(obj, "companies")
    contacts, bad_contacts = links(obj, "contacts")
    raw = dumps({"id": deal_id, "associations": obj.get("associations")})
    for target, bad in (("companies", bad_companies), ("contacts", bad_contacts)):
        for index in bad:
            yield reject(record.line, f"associations.{target}.results[{index}]", record.where(
                f"a {target[:-1] if target != 'companies' else 'company'} association "
                "needs the associated object's id"), raw)
    if not companies and not contacts:
        return
    try:
        stamp = format_instant(created(obj, assume_tz))
    except TimeError as exc:
        yield reject(record.line, "createdAt", record.where(
            f"{exc}: the deal's createdAt dates its associations"), raw)
        return
    kind = current(obj, "dealtype")
    for link in sorted(companies, key=lambda c: c.primary):  # stable: primary last
        data = {"type": "opportunity_linked", "opportunity_id": deal_id,
                "account_id": link.target, "occurred_at": stamp, "source": SOURCE,
                "source_id": f"deal:{deal_id}:company:{link.target}"
                             + (f":{kind}" if kind else "")}
        if kind:
            data["kind"] = kind
        yield _checked(record, data, raw, assume_tz)
    for link in contacts:
        role = ", ".join(sorted(set(link.labels))) or None
        data = {"type": "contact_role", "opportunity_id": deal_id, "person_id": link.target,
                "state": "added", "occurred_at": stamp, "source": SOURCE,
                "source_id": f"deal:{deal_id}:contact:{link.target}"
                             + (f":{role}" if role else "")}
        if role:
            data["role"] = role
        yield _checked(record, data, raw, assume_tz)


def merged_ids(obj: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """The ids merged into `obj` with what dates each (a history entry's timestamp, or
    None: the object's last change) and the field it came from."""
    found: dict[str, tuple[Any, str]] = {}
    history = obj.get("propertiesWithHistory")
    entries = history.get(MERGED_PROPERTY) if isinstance(history, dict) else None
    if isinstance(entries, list):
        for index in reversed(range(len(entries))):  # listed newest first
            entry = entries[index]
            if isinstance(entry, dict):
                for merged in split_ids(entry.get("value")):
                    found.setdefault(merged, (
                        entry.get("timestamp"),
                        f"propertiesWithHistory.{MERGED_PROPERTY}[{index}].timestamp"))
    properties = obj.get("properties")
    if isinstance(properties, dict):
        value = properties.get(MERGED_PROPERTY)
        if isinstance(value, dict):  # the legacy APIs: {"value": ..., "versions": [...]}
            value = value.get("value")
        for merged in split_ids(value):
            found.setdefault(merged, (None, "updatedAt"))
    return [(merged, when, where) for merged, (when, where) in found.items()]


def split_ids(value: Any) -> list[str]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [str(value)]
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(";") if part.strip()]


def merge_rows(record: Record, kind: str, subject_field: str, survivor: str,
               merges: list[tuple[str, Any, str]], modified: Any,
               assume_tz: ZoneInfo | None) -> Iterator[Row]:
    """One `merged` fact per id merged into `survivor` (an id equal to the survivor's own
    is skipped, so is one listed again), dated by its own timestamp, else by `modified`."""
    seen = {survivor}
    for merged, when, where in merges:
        if merged in seen:
            continue
        seen.add(merged)
        raw = dumps({"id": survivor, MERGED_PROPERTY: merged})
        if when is None:
            when, where = modified, "updatedAt"
        try:
            stamp = format_instant(instant(when, assume_tz))
        except TimeError as exc:
            yield reject(record.line, where, record.where(
                f"{exc}: it dates the merge of {kind} {merged}"), raw)
            continue
        yield _checked(record, {
            "type": "merged", subject_field: survivor, "merged_id": merged,
            "occurred_at": stamp, "source": SOURCE,
            "source_id": merge_source_id(kind, survivor, merged, stamp)}, raw, assume_tz)


def merge_source_id(kind: str, survivor: str, merged: str, stamp: str) -> str:
    """A merge's `source_id`, its instant included: a merge dated by the object's last
    change gets a later date in a later export, which is then another `merged` fact of
    the same pair (harmless: a merge takes effect from when it is recorded), never a
    conflicting one; a merge dated by its history entry or audit keeps its id."""
    return f"{kind}:{survivor}:merged:{merged}:{stamp}"


# ---- small helpers -------------------------------------------------------------------------

def created(obj: dict[str, Any], assume_tz: ZoneInfo | None) -> datetime:
    """When the object was created: `createdAt`, else its `createdate` property."""
    return instant(obj.get("createdAt") or current(obj, "createdate"), assume_tz)


def modified(obj: dict[str, Any]) -> Any:
    """What dates the object's last change: `updatedAt`, else its last-modified property."""
    return obj.get("updatedAt") or current(obj, "hs_lastmodifieddate") \
        or current(obj, "lastmodifieddate")


def current(obj: dict[str, Any], name: str) -> str | None:
    """A property's current value as text (None when absent or empty)."""
    properties = obj.get("properties")
    value = properties.get(name) if isinstance(properties, dict) else None
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None


def _checked(record: Record, data: dict[str, Any], raw: str,
             assume_tz: ZoneInfo | None) -> Row:
    row = fact_row(record.line, data, raw, assume_tz)
    if row.rejection is not None:
        return reject(record.line, row.rejection.field, record.where(row.rejection.reason),
                      raw)
    return row
