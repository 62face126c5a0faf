"""HubSpot CRM v3/v4 through the official client (`hubspot-api-client`).

A first sync (or `--full`) lists every object with `propertiesWithHistory` (50 per page,
HubSpot's limit with history) and its associations, paging by `paging.next.after`; the
cursor moves once the listing is done. Later syncs find the objects modified since the
cursor with the search endpoint (200 ids per page, sorted by modification time; it returns
no history), read them back 50 at a time with batch read (the limit for property
histories) and their associations with the v4 batch endpoint, and move the cursor after
each batch. Deals come with `dealtype` and their company and contact associations; every
object with the history of `hs_merged_object_ids` (the ids merged into it). The search
endpoint pages through 10,000 results at most: past that the search starts again from the
last modification time seen.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lifecycle.connectors.base import AuthFailed, LimitReached, Page, SyncError, Unavailable
from lifecycle.connectors.retrying import Retryable, RetryPolicy, call, retry_after
from lifecycle.domain.timeutil import TimeError, format_instant, parse_instant

SOURCE = "hubspot"
DEFAULT_URL = "https://api.hubapi.com"
LIST_PAGE = 50        # objects per list page when history is asked for
HISTORY_BATCH = 50    # inputs per batch read with propertiesWithHistory
SEARCH_PAGE = 200     # the search endpoint's largest page
SEARCH_CAP = 10_000   # the search endpoint pages through this many results at most
ASSOCIATION_BATCH = 1_000
#: The ids merged into an object (semicolon-separated), read with its history so that
#: each merge is dated.
MERGED_IDS = "hs_merged_object_ids"


@dataclass(frozen=True)
class HubSpotObject:
    """One object type: its name in the API, the property that dates its last change,
    the scope a private app needs to read it, the associations read with it (type -> the
    typeId HubSpot uses for "primary"), the properties read for their current value, and
    whether v4 associations are kept as they come (labels and all) rather than in the v3
    shape a listing gives."""

    name: str
    modified: str
    scope: str
    associations: tuple[tuple[str, int], ...] = ()
    properties: tuple[str, ...] = ()
    v4_links: bool = False


#: What `lifecycle sync hubspot` reads.
OBJECTS = {
    "contacts": HubSpotObject("contacts", "lastmodifieddate", "crm.objects.contacts.read",
                              (("companies", 1),)),
    "companies": HubSpotObject("companies", "hs_lastmodifieddate",
                               "crm.objects.companies.read"),
    "deals": HubSpotObject("deals", "hs_lastmodifieddate", "crm.objects.deals.read",
                           (("companies", 5), ("contacts", 3)), ("dealtype",), True),
}


def _asked(spec: HubSpotObject, properties: list[str]) -> tuple[list[str], list[str]]:
    """The properties read for their value, and those read with their history."""
    return (["createdate", spec.modified, *spec.properties],
            list(dict.fromkeys([*properties, MERGED_IDS])))


class HubSpotConnector:
    """Pages of HubSpot objects (as the API's JSON) with their property histories."""

    source = SOURCE
    search_cap = SEARCH_CAP

    def __init__(self, token: str, api_url: str | None = None,
                 policy: RetryPolicy | None = None):
        from hubspot import HubSpot
        from urllib3.util.retry import Retry

        self._token = token
        self.policy = policy or RetryPolicy()
        # urllib3 would retry a 429/503 with Retry-After by itself, deaf to SIGTERM and
        # uncounted: every retry goes through `policy` instead.
        self._client = HubSpot(access_token=token, host=(api_url or DEFAULT_URL).rstrip("/"),
                               retry=Retry(0, respect_retry_after_header=False,
                                           raise_on_status=False))

    def pages(self, object_type: str, properties: list[str], since: datetime | None,
              started: datetime) -> Iterator[Page]:
        """Every object (`since` None) or those modified since `since`, in pages."""
        spec = OBJECTS[object_type]
        if since is None:
            yield from self._listing(spec, properties, started)
        else:
            yield from self._changed(spec, properties, since)

    # ---- a full listing ------------------------------------------------------------------

    def _listing(self, spec: HubSpotObject, properties: list[str], started: datetime
                 ) -> Iterator[Page]:
        api = self._client.crm.objects.basic_api
        after: str | None = None
        values, histories = _asked(spec, properties)
        while True:
            body = self._call(spec, functools.partial(
                api.get_page, spec.name, limit=LIST_PAGE, after=after,
                properties=values, properties_with_history=histories,
                associations=[name for name, _ in spec.associations] or None,
                archived=False, _preload_content=False))
            after = _next_after(body)
            yield Page(list(body.get("results") or []),
                       cursor=None if after else format_instant(started))
            if not after:
                return

    # ---- what changed since the cursor ---------------------------------------------------

    def _changed(self, spec: HubSpotObject, properties: list[str], since: datetime
                 ) -> Iterator[Page]:
        lower = since
        after: str | None = None
        while True:
            body = self._search(spec, lower, after)
            found = [(str(r["id"]), _modified(r, spec)) for r in body.get("results") or []]
            for start in range(0, len(found), HISTORY_BATCH):
                chunk = found[start:start + HISTORY_BATCH]
                objects = self._read(spec, [object_id for object_id, _ in chunk], properties)
                yield Page(objects, cursor=format_instant(chunk[-1][1]),
                           missing=len(chunk) - len(objects))
            after = _next_after(body)
            if after is None or not found:
                return
            if int(after) + SEARCH_PAGE > self.search_cap:
                if found[-1][1] <= lower:
                    raise SyncError(SOURCE, spec.name, f"more than {self.search_cap} objects "
                                    "were modified at the same moment, which the search "
                                    "endpoint cannot page through", "run again with --full")
                lower, after = found[-1][1], None

    def _search(self, spec: HubSpotObject, lower: datetime, after: str | None
                ) -> dict[str, Any]:
        from hubspot.crm.objects import PublicObjectSearchRequest

        request = PublicObjectSearchRequest(
            filter_groups=[{"filters": [{
                "propertyName": spec.modified, "operator": "GTE",
                "value": str(int(lower.timestamp() * 1000))}]}],
            sorts=[{"propertyName": spec.modified, "direction": "ASCENDING"}],
            properties=[spec.modified], limit=SEARCH_PAGE, after=after)
        api = self._client.crm.objects.search_api
        return self._call(spec, lambda: api.do_search(
            spec.name, public_object_search_request=request, _preload_content=False))

    def _read(self, spec: HubSpotObject, ids: list[str], properties: list[str]
              ) -> list[dict[str, Any]]:
        """The objects with their histories, in the order asked (absent: deleted since)."""
        from hubspot.crm.objects import BatchReadInputSimplePublicObjectId

        values, histories = _asked(spec, properties)
        request = BatchReadInputSimplePublicObjectId(
            inputs=[{"id": object_id} for object_id in ids],
            properties=values, properties_with_history=histories)
        api = self._client.crm.objects.batch_api
        body = self._call(spec, lambda: api.read(
            spec.name, batch_read_input_simple_public_object_id=request, archived=False,
            _preload_content=False))
        by_id = {str(obj.get("id")): obj for obj in body.get("results") or []
                 if isinstance(obj, dict)}
        for target, primary in spec.associations:
            links = self._associations(spec, target, primary, [i for i in ids if i in by_id])
            for object_id, results in links.items():
                by_id[object_id].setdefault("associations", {})[target] = {"results": results}
        return [by_id[object_id] for object_id in ids if object_id in by_id]

    def _associations(self, spec: HubSpotObject, target: str, primary: int, ids: list[str]
                      ) -> dict[str, list[dict[str, Any]]]:
        """v4 batch read of associations, in the v3 shape a listing gives (`id`, `type`),
        or as v4 gives them (`toObjectId`, `associationTypes`) for `v4_links` objects."""
        from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest

        api = self._client.crm.associations.v4.batch_api
        found: dict[str, list[dict[str, Any]]] = {}
        singular = f"{spec.name[:-1]}_to_{target[:-1] if target != 'companies' else 'company'}"
        for start in range(0, len(ids), ASSOCIATION_BATCH):
            request = BatchInputPublicFetchAssociationsBatchRequest(
                inputs=[{"id": object_id} for object_id in ids[start:start + ASSOCIATION_BATCH]])
            body = self._call(spec, functools.partial(
                api.get_page, spec.name, target,
                batch_input_public_fetch_associations_batch_request=request,
                _preload_content=False))
            for result in body.get("results") or []:
                source_id = str((result.get("from") or {}).get("id"))
                for link in result.get("to") or []:
                    if spec.v4_links:
                        found.setdefault(source_id, []).append(link)
                        continue
                    kinds = link.get("associationTypes") or []
                    is_primary = any(k.get("typeId") == primary and
                                     k.get("category") == "HUBSPOT_DEFINED" for k in kinds)
                    found.setdefault(source_id, []).append({
                        "id": str(link.get("toObjectId")),
                        "type": singular if is_primary else f"{singular}_unlabeled"})
        return found

    # ---- one call, retried -----------------------------------------------------------------

    def _call(self, spec: HubSpotObject, request: Callable[[], Any]) -> dict[str, Any]:
        from hubspot.crm.associations.v4 import ApiException as AssociationsError
        from hubspot.crm.objects import ApiException as ObjectsError
        from urllib3.exceptions import HTTPError

        def attempt() -> dict[str, Any]:
            try:
                response = request()
            except (ObjectsError, AssociationsError) as exc:
                raise self._failure(spec, exc.status or 0, _json(exc.body),
                                    exc.headers or {}) from None
            except HTTPError as exc:
                raise Retryable(f"connection failed ({type(exc).__name__})") from None
            try:
                body = json.loads(response.data)
            except ValueError:  # cut short: never taken for an empty page
                raise Retryable("the answer was not complete JSON") from None
            if not isinstance(body, dict):
                raise Retryable("the answer was not a JSON object")
            return body

        try:
            return call(self.policy, attempt)
        except Retryable as exc:
            raise Unavailable(SOURCE, spec.name, self._scrub(
                f"HubSpot kept failing ({exc.reason}) after {self.policy.attempts} attempts"),
                "nothing fetched so far is lost: run the sync again later",
                status=exc.status) from None

    def _failure(self, spec: HubSpotObject, status: int, body: Any, headers: Any
                 ) -> Exception:
        message = self._scrub(str(body.get("message") if isinstance(body, dict) else "")
                              or "no message")
        if status == 429:
            if isinstance(body, dict) and body.get("policyName") == "DAILY":
                return LimitReached(SOURCE, spec.name, f"the daily API limit is reached "
                                    f"(429: {message})", "the sync goes on from where it "
                                    "stopped when the limit resets (midnight in the "
                                    "account's time zone)", status=429)
            return Retryable(f"429: {message}", retry_after(headers.get("Retry-After")), 429)
        if status == 0 or status >= 500:
            return Retryable(f"{status}: {message}", retry_after(headers.get("Retry-After")),
                             status)
        if status == 401:
            return AuthFailed(SOURCE, spec.name, f"HubSpot refused the token (401: {message})",
                              "create a new private-app access token and set HUBSPOT_TOKEN "
                              "(see docs/sync.md)", status=401)
        if status == 403:
            return AuthFailed(SOURCE, spec.name, f"the token may not read {spec.name} "
                              f"(403: {message})", f"give the private app the scope "
                              f"{spec.scope} and use its new token", status=403)
        return SyncError(SOURCE, spec.name, f"HubSpot answered {status}: {message}",
                         status=status)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def _json(data: Any) -> Any:
    """An error's body, leniently (a proxy's HTML page is no JSON)."""
    if isinstance(data, bytes | str):
        try:
            return json.loads(data)
        except ValueError:
            return {}
    return data if data is not None else {}


def _next_after(body: dict[str, Any]) -> str | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None


def _modified(result: dict[str, Any], spec: HubSpotObject) -> datetime:
    value = (result.get("properties") or {}).get(spec.modified) or result.get("updatedAt")
    try:
        if isinstance(value, str) and value.strip().isdigit():
            return datetime.fromtimestamp(int(value) / 1000, UTC)
        return parse_instant(str(value))
    except (TimeError, ValueError):
        raise SyncError(SOURCE, spec.name, f"object {result.get('id')}: the search "
                        f"returned no readable {spec.modified} ({value!r})") from None
