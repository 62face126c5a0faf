"""What every HubSpot reader shares: the source name, HubSpot's timestamps (ISO 8601 or
milliseconds since the epoch), values as text, and the kind of a JSON value for messages."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from lifecycle.domain.timeutil import TimeError, parse_instant
from lifecycle.importers.hubspot_records import dumps

SOURCE = "hubspot"


def instant(value: Any, assume_tz: ZoneInfo | None) -> datetime:
    """An ISO 8601 timestamp, or milliseconds since the epoch (HubSpot's older APIs)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise TimeError(f"timestamp out of range: {value!r}") from exc
    if isinstance(value, str) and value.strip().isdigit():
        return instant(int(value.strip()), assume_tz)
    if not isinstance(value, str):
        raise TimeError("required field is missing" if value is None
                        else f"expected an ISO 8601 timestamp, found {json_kind(value)}")
    return parse_instant(value, assume_tz)


def text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def object_id(value: Any) -> str | None:
    """An id as HubSpot gives it (a string or a number), as text; None when unusable."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a number" if not isinstance(value, bool) else "a boolean"


def status_fact(kind: str, subject_field: str, subject: str, name: str, value: str,
                stamp: str, meta: dict[str, Any]) -> dict[str, Any]:
    """The `status_changed` fact of one history entry: `meta` holds the entry's
    `sourceType`, `sourceId`, `sourceLabel` and `updatedByUserId` (any may be missing).

    Its `source_id` names the object, the property, the instant and a hash of the value and
    the entry's source, so that a later export of the same history stores only what is new.
    """
    digest = hashlib.sha256(dumps([value, meta.get("sourceType"), meta.get("sourceId"),
                                   meta.get("updatedByUserId")]).encode()).hexdigest()
    actor = meta.get("updatedByUserId")
    actor = meta.get("sourceId") if actor is None or actor == "" else actor
    attributes = {key: text(meta[key]) for key in ("sourceType", "sourceId", "sourceLabel")
                  if isinstance(meta.get(key), str | int | float) and meta[key] != ""}
    data: dict[str, Any] = {
        "type": "status_changed", subject_field: subject, "field": name, "value": value,
        "occurred_at": stamp, "source": SOURCE,
        "source_id": f"{kind}:{subject}:{name}:{stamp}:{digest[:12]}",
        "attributes": attributes}
    if actor is not None and not isinstance(actor, dict | list):
        data["actor"] = text(actor)
    return data
