"""A local HubSpot CRM API for the tests (contacts, companies, deals), imitating what
`lifecycle sync hubspot` calls as HubSpot documents it: list (`GET
/crm/v3/objects/{type}`, 100 a page, 50 with history),
search (`POST .../search`, 200 a page, sorted, `GTE` filters, 10,000 results at most),
batch read (`POST .../batch/read`, 100 inputs, 50 with history, 207 for unknown ids),
v4 batch association reads, bearer tokens (401), scopes (403), rate limits (429)."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.sync.crm_data import CrmData
from tests.sync.fake_api import FakeAPI, json_response

SCOPES = {"contacts": "crm.objects.contacts.read", "companies": "crm.objects.companies.read",
          "deals": "crm.objects.deals.read"}
MODIFIED = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate",
            "deals": "hs_lastmodifieddate"}
#: v3 association type -> v4 typeId (HUBSPOT_DEFINED); the primary ones are labelled so
PRIMARY = {"contact_to_company": 1, "deal_to_company": 5, "deal_to_contact": 3}
LABELLED = {1: "Primary", 5: "Primary"}
UNLABELED = 279


def daily_limit() -> dict[str, Any]:
    return {"status": "error", "message": "You have reached your daily limit.",
            "errorType": "RATE_LIMIT", "correlationId": "c0ffee00-0000-0000-0000-000000000001",
            "policyName": "DAILY", "groupName": "api-calls-daily"}


def secondly_limit() -> dict[str, Any]:
    return {"status": "error", "message": "You have reached your secondly limit.",
            "errorType": "RATE_LIMIT", "correlationId": "c0ffee00-0000-0000-0000-000000000002",
            "policyName": "SECONDLY", "groupName": "publicapi:private-app-api-calls-burst"}


class HubSpotAPI(FakeAPI):
    def __init__(self, server: HTTPServer, data: CrmData, token: str):
        super().__init__(token)
        self.data = data
        self.scopes = set(SCOPES.values())
        self.search_cap = 10_000
        objects = "(contacts|companies|deals)"
        server.expect_request(re.compile(rf"^/crm/v3/objects/{objects}$"),
                              method="GET").respond_with_handler(self.listing)
        server.expect_request(re.compile(rf"^/crm/v3/objects/{objects}/search$"),
                              method="POST").respond_with_handler(self.search)
        server.expect_request(re.compile(rf"^/crm/v3/objects/{objects}/batch/read$"),
                              method="POST").respond_with_handler(self.batch_read)
        server.expect_request(re.compile(r"^/crm/v4/associations/(\w+)/(\w+)/batch/read$"),
                              method="POST").respond_with_handler(self.associations)
        self.url = server.url_for("").rstrip("/")

    def unauthorized(self) -> Response:
        return json_response({
            "status": "error", "message": "Authentication credentials not found. This API "
            "supports OAuth 2.0 authentication and you can find more details at "
            "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            "correlationId": "c0ffee00-0000-0000-0000-000000000401",
            "category": "INVALID_AUTHENTICATION"}, 401)

    def _guard(self, kind: str, request: Request, object_type: str) -> Response | None:
        early = self.answer(kind, request)
        if early is not None:
            return early
        if SCOPES[object_type] not in self.scopes:
            return json_response({
                "status": "error", "message": "This app hasn't been granted all required "
                "scopes to make this call. Read more about required scopes here: "
                "https://developers.hubspot.com/scopes.",
                "correlationId": "c0ffee00-0000-0000-0000-000000000403",
                "errors": [{"message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": [SCOPES[object_type]]}}],
                "links": {"scopes": "https://developers.hubspot.com/scopes"},
                "category": "MISSING_SCOPES"}, 403)
        return None

    # ---- endpoints ------------------------------------------------------------------------

    def listing(self, request: Request) -> Response:
        object_type = request.path.split("/")[4]
        early = self._guard(f"list:{object_type}", request, object_type)
        if early is not None:
            return early
        history = _names(request.args.getlist("propertiesWithHistory"))
        limit = int(request.args.get("limit", "10"))
        if limit > (50 if history else 100):
            return _bad_request(f"limit {limit} is over the maximum of "
                                f"{50 if history else 100}")
        offset = int(request.args.get("after", "0"))
        objects = sorted(self.data.hubspot(object_type).values(), key=lambda o: int(o["id"]))
        page = objects[offset:offset + limit]
        body: dict[str, Any] = {"results": [
            self._render(o, _names(request.args.getlist("properties")), history,
                         _names(request.args.getlist("associations"))) for o in page]}
        if offset + limit < len(objects):
            body["paging"] = {"next": {"after": str(offset + limit), "link": "?after="}}
        return json_response(body)

    def search(self, request: Request) -> Response:
        object_type = request.path.split("/")[4]
        early = self._guard(f"search:{object_type}", request, object_type)
        if early is not None:
            return early
        query = request.get_json()
        limit, after = int(query.get("limit", 10)), int(query.get("after") or 0)
        if limit > 200:
            return _bad_request("limit must be at most 200")
        if after + limit > self.search_cap:
            return _bad_request(f"The search endpoint pages through {self.search_cap} "
                                "results at most")
        objects = list(self.data.hubspot(object_type).values())
        for group in query.get("filterGroups") or []:
            for rule in group["filters"]:
                assert rule["operator"] == "GTE", rule
                floor = int(rule["value"])
                objects = [o for o in objects
                           if _millis(o["properties"][rule["propertyName"]]) >= floor]
        for sort in query.get("sorts") or []:
            objects.sort(key=lambda o: (_millis(o["properties"][sort["propertyName"]]),
                                        int(o["id"])),
                         reverse=sort.get("direction") == "DESCENDING")
        page = objects[after:after + limit]
        body: dict[str, Any] = {"total": len(objects), "results": [
            self._render(o, query.get("properties") or [], [], []) for o in page]}
        if after + limit < len(objects):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return json_response(body)

    def batch_read(self, request: Request) -> Response:
        object_type = request.path.split("/")[4]
        early = self._guard(f"batch:{object_type}", request, object_type)
        if early is not None:
            return early
        query = request.get_json()
        inputs = [str(i["id"]) for i in query.get("inputs") or []]
        history = query.get("propertiesWithHistory") or []
        if history and len(inputs) > 50:
            return _bad_request("The maximum number of inputs supported in a batch request "
                                "for property histories is 50. Please reduce the number of "
                                "items and try again")
        if len(inputs) > 100:
            return _bad_request("The maximum number of inputs in a batch request is 100")
        store = self.data.hubspot(object_type)
        found = [store[i] for i in inputs if i in store]
        missing = [i for i in inputs if i not in store]
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": [self._render(o, query.get("properties") or [], history, [])
                        for o in reversed(found)],  # HubSpot does not keep the input order
            "startedAt": _now(), "completedAt": _now()}
        if missing:
            body["numErrors"] = 1
            body["errors"] = [{"status": "error", "category": "OBJECT_NOT_FOUND",
                               "message": "Could not get some CONTACT objects, they may be "
                               "deleted or not exist.", "context": {"ids": missing}}]
            return json_response(body, 207)
        return json_response(body)

    def associations(self, request: Request) -> Response:
        source, target = request.path.split("/")[4:6]
        early = self._guard(f"associations:{source}", request, source)
        if early is not None:
            return early
        inputs = [str(i["id"]) for i in request.get_json().get("inputs") or []]
        if len(inputs) > 1000:
            return _bad_request("at most 1000 inputs")
        results = []
        for object_id in inputs:
            obj = self.data.hubspot(source).get(object_id)
            links = ((obj or {}).get("associations") or {}).get(target, {}).get("results", [])
            if not links:
                continue
            grouped: dict[str, list[dict[str, Any]]] = {}
            for link in links:
                type_id = PRIMARY.get(link["type"], UNLABELED)
                grouped.setdefault(link["id"], []).append({
                    "category": "HUBSPOT_DEFINED", "typeId": type_id,
                    "label": LABELLED.get(type_id)})
            results.append({"from": {"id": object_id}, "to": [
                {"toObjectId": int(k) if k.isdigit() else k, "associationTypes": v}
                for k, v in grouped.items()]})
        return json_response({"status": "COMPLETE", "results": results,
                              "startedAt": _now(), "completedAt": _now()})

    def _render(self, obj: dict[str, Any], properties: list[str], history: list[str],
                associations: list[str]) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in obj.items()
               if k not in ("properties", "propertiesWithHistory", "associations")}
        out["properties"] = {k: v for k, v in obj["properties"].items()
                             if k in properties or k == "hs_object_id"}
        if history:
            out["propertiesWithHistory"] = {
                k: copy.deepcopy(v) for k, v in obj["propertiesWithHistory"].items()
                if k in history}
        wanted = {k: v for k, v in (obj.get("associations") or {}).items() if k in associations}
        if wanted:
            out["associations"] = copy.deepcopy(wanted)
        return out


def _names(values: list[str]) -> list[str]:
    return [n for value in values for n in value.split(",") if n]


def _millis(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _bad_request(message: str) -> Response:
    return json_response({"status": "error", "message": message,
                          "correlationId": "c0ffee00-0000-0000-0000-000000000400",
                          "category": "VALIDATION_ERROR"}, 400)
