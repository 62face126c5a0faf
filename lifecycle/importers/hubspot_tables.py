"""HubSpot property history as warehouse tables: Fivetran's HubSpot connector and
Airbyte's HubSpot source, one row per property change, as CSV or JSON Lines.

- Fivetran (its published schema; the `fivetran/dbt_hubspot` seeds):
  `contact_property_history`, `company_property_history`, `deal_property_history`
  (`contact_id`/`company_id`/`deal_id`, `name`, `value`, `timestamp`, `source`,
  `source_id`, `_fivetran_synced`, and in history mode `_fivetran_start`, `_fivetran_end`,
  `_fivetran_active`) and `deal_stage` (`deal_id`, `value`, `date_entered`, `source`,
  `source_id`, ...). Timestamps are warehouse text: `2020-06-05 15:38:08.001`,
  `2019-10-22 19:17:37.819 UTC`, `2022-04-14 4:30:42`: UTC, as Fivetran writes them
  (those without a zone need `--assume-tz UTC`, SPEC §2).
- Airbyte: `contacts_property_history` (`vid` or `contactId`), `companies_property_history`
  (`companyId`), `deals_property_history` (`dealId`), with `property`, `value`,
  `timestamp` (milliseconds or ISO 8601) and `source-type`/`sourceType`/`source`,
  `source-id`/`sourceId`, `updated-by-user-id`/`updatedByUserId`; raw records wrapped in
  `_airbyte_data` are unwrapped.

Merge audits too: Fivetran's `contact_merge_audit` (`canonical_vid`, `vid_to_merge`,
`timestamp`) and Airbyte's `contacts_merged_audit` (`canonical-vid`, `vid-to-merge`,
`timestamp`), one `merged` fact per row.

The table is recognised from its columns; its id column says the object type. Every row
becomes a `status_changed` fact built like an API history entry's; rows of
`hs_merged_object_ids` become `merged` facts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from lifecycle.domain.timeutil import TimeError, format_instant, parse_instant
from lifecycle.importers.canonical import FileFormatError, Row
from lifecycle.importers.common import fact_row, reject
from lifecycle.importers.hubspot_links import MERGED_PROPERTY, merge_source_id, split_ids
from lifecycle.importers.hubspot_records import dumps
from lifecycle.importers.hubspot_values import SOURCE, instant, object_id, status_fact, text
from lifecycle.importers.records import CsvRecord

#: object type -> (singular, subject field)
SUBJECTS = {"contacts": ("contact", "person_id"), "companies": ("company", "account_id"),
            "deals": ("deal", "opportunity_id")}


@dataclass(frozen=True)
class Table:
    """A recognised table: what it is called, and which column holds what."""

    name: str
    object_type: str
    id_column: str
    time_column: str
    property_column: str | None = None  # None: every row is a change of `fixed_property`
    fixed_property: str = "dealstage"
    merged_column: str | None = None  # a merge audit: every row merges this id into the id
    source: tuple[str, ...] = ()
    source_id: tuple[str, ...] = ()
    user: tuple[str, ...] = ()
    label: tuple[str, ...] = ()
    value_column: str = "value"
    deleted_column: str = "_fivetran_deleted"


_FIVETRAN_IDS = {"contact_id": "contacts", "company_id": "companies", "deal_id": "deals"}
_AIRBYTE_IDS = {"contactid": "contacts", "vid": "contacts", "canonical-vid": "contacts",
                "companyid": "companies", "dealid": "deals"}
_UNDATED = {"deal_company", "deal_contact"}


def recognise(columns: list[str]) -> Table | None:
    """The table these columns are (compared case-insensitively: a Snowflake export writes
    `CONTACT_ID`, `VALUE`...), or None."""
    names = {c.strip().casefold(): c.strip() for c in columns}
    table = _recognise(names)
    if table is None:
        return None
    return replace(table, value_column=names.get("value", "value"),
                   deleted_column=names.get("_fivetran_deleted", "_fivetran_deleted"))


def _recognise(names: dict[str, str]) -> Table | None:
    has = names.__contains__
    for survivor, merged, name in (
            ("canonical_vid", "vid_to_merge", "Fivetran's contact_merge_audit table"),
            ("canonical-vid", "vid-to-merge", "Airbyte's contacts_merged_audit stream")):
        if has(survivor) and has(merged) and has("timestamp"):
            return Table(name, "contacts", names[survivor], names["timestamp"],
                         merged_column=names[merged])
    if has("date_entered") and has("deal_id") and has("value"):
        return Table("Fivetran's deal_stage table", "deals", names["deal_id"],
                     names["date_entered"], source=(names.get("source", ""),),
                     source_id=(names.get("source_id", ""),))
    if has("name") and has("value") and has("timestamp"):
        for column, object_type in _FIVETRAN_IDS.items():
            if has(column):
                singular = SUBJECTS[object_type][0]
                return Table(f"Fivetran's {singular}_property_history table", object_type,
                             names[column], names["timestamp"], names["name"],
                             source=(names.get("source", ""),),
                             source_id=(names.get("source_id", ""),))
    if has("property") and has("value") and has("timestamp"):
        for column, object_type in _AIRBYTE_IDS.items():
            if has(column):
                return Table(f"Airbyte's {object_type}_property_history stream", object_type,
                             names[column], names["timestamp"], names["property"],
                             source=_pick(names, "sourcetype", "source-type", "source"),
                             source_id=_pick(names, "sourceid", "source-id"),
                             user=_pick(names, "updatedbyuserid", "updated-by-user-id"),
                             label=_pick(names, "sourcelabel", "source-label"))
    return None


def undated_table(columns: list[str]) -> str | None:
    """Fivetran's association tables, which carry no date to record a link at."""
    names = {c.strip().casefold() for c in columns}
    if "deal_id" in names and "company_id" in names:
        return "deal_company"
    if "deal_id" in names and "contact_id" in names:
        return "deal_contact"
    return None


def check(table: Table | None, columns: list[str], object_type: str | None) -> Table:
    """The table to read, or a FileFormatError saying why these columns cannot be read."""
    if table is None:
        undated = undated_table(columns)
        if undated is not None:
            raise FileFormatError(
                f"this is Fivetran's {undated} table: it dates no association, so it cannot "
                "say since when a deal belongs to a company or involves a contact. Import "
                "the deals from the CRM objects API (`--format hubspot --object deals`, see "
                "docs/importing.md) or sync them (`lifecycle sync hubspot`)")
        raise FileFormatError(
            "not a HubSpot export this importer knows: expected objects read with "
            "propertiesWithHistory (JSON), or a property-history table (Fivetran's "
            "contact_property_history, company_property_history, deal_property_history or "
            "deal_stage; Airbyte's *_property_history streams), found the columns "
            + ", ".join(columns[:12]))
    if object_type is not None and object_type != table.object_type:
        raise FileFormatError(f"this is {table.name}, which holds {table.object_type}: import "
                              f"it with --object {table.object_type}")
    return table


def csv_rows(records: Iterator[CsvRecord], object_type: str | None,
             assume_tz: ZoneInfo | None) -> Iterator[Row]:
    """The facts of a table exported as CSV (header first)."""
    header = next(records, None)
    if header is None:
        return
    if header.problem is not None:
        raise FileFormatError(f"line {header.line}: not a CSV header: {header.problem}")
    columns = [cell.strip() for cell in header.cells]
    wrapped = "_airbyte_data" in columns
    table = None if wrapped else check(recognise(columns), columns, object_type)
    for record in records:
        if record.problem is not None:
            yield reject(record.line, None, record.problem, record.raw)
            continue
        row = dict(zip(columns, record.cells, strict=False))
        if len(record.cells) != len(columns):
            yield reject(record.line, None, f"expected {len(columns)} cells as in the header, "
                         f"found {len(record.cells)}", record.raw)
            continue
        yield from row_facts(record.line, row, record.raw, table, object_type, assume_tz)


def row_facts(line: int, row: dict[str, Any], raw: str, table: Table | None,
              object_type: str | None, assume_tz: ZoneInfo | None,
              where: str = "") -> Iterator[Row]:
    """The facts of one row; `table` None: recognise it from the row's own keys (JSON)."""
    if "_airbyte_data" in row:
        data = row["_airbyte_data"]
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                yield reject(line, "_airbyte_data", f"{where}not valid JSON", raw)
                return
        if not isinstance(data, dict):
            yield reject(line, "_airbyte_data", f"{where}expected an object", raw)
            return
        row, table = data, None
    if table is None:
        found = recognise(list(row))
        if found is None or (object_type is not None and found.object_type != object_type):
            try:
                check(found, list(row), object_type)
            except FileFormatError as exc:
                yield reject(line, None, f"{where}{exc}", raw)
                return
        assert found is not None
        table = found
    yield from _facts(line, row, raw, table, assume_tz, where)


def _facts(line: int, row: dict[str, Any], raw: str, table: Table,
           assume_tz: ZoneInfo | None, where: str) -> Iterator[Row]:
    if _true(row.get(table.deleted_column)):
        yield Row(line, skipped=True)
        return
    kind, subject_field = SUBJECTS[table.object_type]
    subject = object_id(row.get(table.id_column))
    if subject is None:
        yield reject(line, table.id_column, f"{where}a {kind} id is required", raw)
        return
    if table.merged_column is not None:
        yield from _audit(line, row, raw, table, subject, assume_tz, where)
        return
    name = table.fixed_property if table.property_column is None else \
        row.get(table.property_column)
    if not isinstance(name, str) or not name.strip():
        yield reject(line, table.property_column, f"{where}the property name is required", raw)
        return
    name = name.strip()
    try:
        stamp = format_instant(warehouse_instant(row.get(table.time_column), assume_tz))
    except TimeError as exc:
        yield reject(line, table.time_column, f"{where}{exc}", raw)
        return
    value = row.get(table.value_column)
    value = "" if value is None else text(value) if not isinstance(value, dict | list) \
        else dumps(value)
    if name == MERGED_PROPERTY:
        for merged in split_ids(value):
            if merged != subject:
                yield _checked(line, {
                    "type": "merged", subject_field: subject, "merged_id": merged,
                    "occurred_at": stamp, "source": SOURCE,
                    "source_id": merge_source_id(kind, subject, merged, stamp)}, raw,
                    assume_tz, where)
        return
    meta = {"sourceType": _first(row, table.source), "sourceId": _first(row, table.source_id),
            "sourceLabel": _first(row, table.label),
            "updatedByUserId": _first(row, table.user)}
    data = status_fact(kind, subject_field, subject, name, value, stamp,
                       {k: v for k, v in meta.items() if v is not None})
    yield _checked(line, data, raw, assume_tz, where)


def _audit(line: int, row: dict[str, Any], raw: str, table: Table, survivor: str,
           assume_tz: ZoneInfo | None, where: str) -> Iterator[Row]:
    """A merge audit row: `merged_column`'s contact merged into the row's canonical one."""
    assert table.merged_column is not None
    merged = object_id(row.get(table.merged_column))
    if merged is None:
        yield reject(line, table.merged_column, f"{where}the merged contact's id is required",
                     raw)
        return
    try:
        stamp = format_instant(warehouse_instant(row.get(table.time_column), assume_tz))
    except TimeError as exc:
        yield reject(line, table.time_column, f"{where}{exc}", raw)
        return
    if merged == survivor:
        yield Row(line, skipped=True)  # a contact merged into itself: nothing happened
    else:
        yield _checked(line, {
            "type": "merged", "person_id": survivor, "merged_id": merged,
            "occurred_at": stamp, "source": SOURCE,
            "source_id": merge_source_id("contact", survivor, merged, stamp)}, raw,
            assume_tz, where)


#: A warehouse timestamp: `2021-01-07 6:49:18`, `2019-10-22 19:17:37.819 UTC`, with `T`...
_WAREHOUSE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?"
    r"\s*(UTC|Z|[+-]\d{2}(?::?\d{2})?)?$", re.IGNORECASE)


def warehouse_instant(value: Any, assume_tz: ZoneInfo | None) -> Any:
    """A timestamp as warehouses write it (a one-digit hour, any fraction, a trailing
    `UTC`), milliseconds or ISO 8601. One without a zone needs `--assume-tz` (SPEC §2), as
    every import does: Fivetran and Airbyte write UTC, so `--assume-tz UTC`."""
    if isinstance(value, str):
        found = _WAREHOUSE.match(value.strip())
        if found:
            year, month, day, hour, minute, second, fraction, zone = found.groups()
            iso = (f"{year}-{int(month):02d}-{int(day):02d}T{int(hour):02d}:{minute}:"
                   f"{second or '00'}{(fraction or '')[:7]}")
            if zone is None:  # SPEC §2: only --assume-tz says which zone (UTC for Fivetran)
                return parse_instant(iso, assume_tz)
            return parse_instant(iso + ("Z" if zone.upper() in ("UTC", "Z") else zone))
    return instant(value, assume_tz)


def _pick(names: dict[str, str], *keys: str) -> tuple[str, ...]:
    return tuple(names[key] for key in keys if key in names)


def _first(row: dict[str, Any], columns: tuple[str, ...]) -> Any:
    for column in columns:
        value = row.get(column)
        if value not in (None, "") and not isinstance(value, dict | list):
            return value
    return None


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _checked(line: int, data: dict[str, Any], raw: str, assume_tz: ZoneInfo | None,
             where: str) -> Row:
    row = fact_row(line, data, raw, assume_tz)
    if row.rejection is not None and where:
        return reject(line, row.rejection.field, where + row.rejection.reason, raw)
    return row
