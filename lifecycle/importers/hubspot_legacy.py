"""HubSpot's legacy object shapes, read as the v3 objects they describe.

- v1 contacts (`GET /contacts/v1/lists/all/contacts/all?propertyMode=value_and_history`,
  `{"contacts": [...], "has-more": ..., "vid-offset": ...}`): `vid`, `canonical-vid`,
  `merged-vids`, `merge-audits`, `identity-profiles`, and `properties.X.versions[]` with
  `value`, `timestamp` (milliseconds), `source-type`, `source-id`, `source-label`,
  `updated-by-user-id`; the `associatedcompanyid` property names its company.
- v2 companies (`GET /companies/v2/companies/paged?propertiesWithHistory=...`,
  `{"companies": [...], "has-more": ..., "offset": ...}`): `companyId` and
  `properties.X.versions[]` with `name`, `value`, `timestamp`, `source`, `sourceId`.
- v1 deals (`GET /deals/v1/deal/paged?propertiesWithHistory=...`): `dealId`,
  `associations.associatedCompanyIds` / `associatedVids`, versions as v2 companies.

Each object becomes the v3 shape (`id`, `createdAt`, `updatedAt`, `properties`,
`propertiesWithHistory`, `associations`) plus the ids merged into it with the timestamp
of their merge audit, so that the v3 reader turns it into facts the same way.
"""

from __future__ import annotations

from typing import Any

from lifecycle.importers.hubspot_links import MERGED_PROPERTY
from lifecycle.importers.hubspot_values import object_id

#: The id field of each legacy shape, and the object type it is.
ID_FIELDS = {"vid": "contacts", "companyId": "companies", "dealId": "deals"}
#: The keys a legacy listing keeps its objects under.
LIST_KEYS = ("contacts", "companies", "deals")
_NAMES = {"contacts": "v1 contact", "companies": "v2 company", "deals": "v1 deal"}
#: legacy entry key -> v3 entry key
_ENTRY_KEYS = {"value": "value", "timestamp": "timestamp", "source-type": "sourceType",
               "source": "sourceType", "sourceType": "sourceType", "source-id": "sourceId",
               "sourceId": "sourceId", "source-label": "sourceLabel",
               "sourceLabel": "sourceLabel", "updated-by-user-id": "updatedByUserId",
               "updatedByUserId": "updatedByUserId"}


def legacy_type(obj: dict[str, Any]) -> str | None:
    """The object type of a legacy object (None for a v3 one, which has an `id`)."""
    if "id" in obj or "propertiesWithHistory" in obj:
        return None
    for key, object_type in ID_FIELDS.items():
        if key in obj:
            return object_type
    return None


def shape_name(object_type: str) -> str:
    return _NAMES[object_type]


def listed(value: Any) -> list[Any] | None:
    """The objects of a legacy listing (`{"contacts": [...], "has-more": ...}`), or None."""
    if not isinstance(value, dict) or "id" in value:
        return None
    for key in LIST_KEYS:
        if isinstance(value.get(key), list) and any(
                k in value for k in ("has-more", "hasMore", "vid-offset", "offset")):
            return list(value[key])
    return None


def to_v3(obj: dict[str, Any], object_type: str) -> tuple[dict[str, Any],
                                                          list[tuple[str, Any, str]]]:
    """The v3 object a legacy one describes, and the ids merged into it: (id, the
    timestamp of its merge audit or None, the field that dates it)."""
    id_field = next(k for k, v in ID_FIELDS.items() if v == object_type)
    properties: dict[str, Any] = {}
    history: dict[str, list[dict[str, Any]]] = {}
    raw_properties = obj.get("properties")
    for name, prop in (raw_properties.items() if isinstance(raw_properties, dict) else ()):
        if not isinstance(prop, dict):
            continue
        if "value" in prop:
            properties[name] = prop["value"]
        versions = prop.get("versions")
        if isinstance(versions, list) and versions and name != MERGED_PROPERTY:
            history[name] = [_entry(v) for v in versions]
    converted: dict[str, Any] = {
        "id": obj.get(id_field), "properties": properties, "propertiesWithHistory": history}
    created = properties.get("createdate") or obj.get("addedAt")
    if created not in (None, ""):
        converted["createdAt"] = created
    modified = properties.get("lastmodifieddate") or properties.get("hs_lastmodifieddate")
    if modified not in (None, ""):
        converted["updatedAt"] = modified
    company = properties.get("associatedcompanyid") if object_type == "contacts" else None
    if object_id(company) is not None:  # a v1 contact's primary company
        converted["associations"] = {"companies": {"results": [
            {"id": object_id(company), "type": "contact_to_company"}]}}
    associations = obj.get("associations")
    if isinstance(associations, dict):
        for key, target in (("associatedCompanyIds", "companies"),
                            ("associatedVids", "contacts")):
            ids = associations.get(key)
            if isinstance(ids, list):
                converted.setdefault("associations", {})[target] = {
                    "results": [{"id": i} for i in ids]}
    return converted, _merges(obj, object_type)


def _entry(version: Any) -> Any:
    if not isinstance(version, dict):
        return version
    return {_ENTRY_KEYS[key]: value for key, value in version.items() if key in _ENTRY_KEYS}


def _merges(obj: dict[str, Any], object_type: str) -> list[tuple[str, Any, str]]:
    found: dict[str, tuple[Any, str]] = {}
    if object_type == "contacts":
        audits = obj.get("merge-audits")
        for index, audit in enumerate(audits if isinstance(audits, list) else ()):
            merged = object_id(audit.get("vid-to-merge")) if isinstance(audit, dict) else None
            if merged is not None:
                found.setdefault(merged, (audit.get("timestamp"),
                                          f"merge-audits[{index}].timestamp"))
        vids = obj.get("merged-vids")
        for vid in vids if isinstance(vids, list) else ():
            merged = object_id(vid)
            if merged is not None:
                found.setdefault(merged, (None, "updatedAt"))
    return [(merged, when, where) for merged, (when, where) in found.items()]
