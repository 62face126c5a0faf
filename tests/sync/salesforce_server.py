"""A local Salesforce REST API for the tests, imitating what `lifecycle sync salesforce`
calls as Salesforce documents it: SOQL through `query` and `queryAll` (deleted rows only
from `queryAll`), pages named by `nextRecordsUrl`, `SELECT COUNT()`, Bulk API 2.0 query
jobs (create, poll, CSV results paged by `Sforce-Locator`, rows in no particular order),
bearer access tokens (401) and the errors of missing access (403)."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import datetime
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.sync.crm_data import CrmData
from tests.sync.fake_api import FakeAPI, json_response

VERSION = "v59.0"
BASE = f"/services/data/{VERSION}"
SOQL = re.compile(r"^SELECT (?P<fields>.+?) FROM (?P<object>\w+)"
                  r"(?: WHERE (?P<where>.+?))?(?: ORDER BY (?P<order>.+))?$")
CONDITION = re.compile(r"^(?P<field>\w+) (?P<op>>=|=) (?P<value>\S+)$")


def limit_exceeded() -> list[dict[str, str]]:
    return [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


def no_access(object_name: str) -> list[dict[str, str]]:
    return [{"message": f"sObject type '{object_name}' is not supported. If you are attempting "
                        "to use a custom object, be sure to append the '__c' after the entity "
                        "name.", "errorCode": "INVALID_TYPE"}]


class SalesforceAPI(FakeAPI):
    def __init__(self, server: HTTPServer, data: CrmData, token: str, page_size: int = 2000):
        super().__init__(token)
        self.data = data
        self.page_size = page_size
        self.hidden: set[str] = set()  # objects the user may not read
        self._cursors: dict[str, tuple[list[dict[str, Any]], str]] = {}
        self._jobs: dict[str, tuple[list[str], list[list[str]]]] = {}
        self._ids = itertools.count(1)
        server.expect_request(re.compile(rf"^{BASE}/(query|queryAll)/?$"),
                              method="GET").respond_with_handler(self.query)
        server.expect_request(re.compile(rf"^{BASE}/(query|queryAll)/01g[\w-]+$"),
                              method="GET").respond_with_handler(self.query_more)
        server.expect_request(f"{BASE}/jobs/query", method="POST"
                              ).respond_with_handler(self.create_job)
        server.expect_request(re.compile(rf"^{BASE}/jobs/query/750\w+$"), method="GET"
                              ).respond_with_handler(self.job)
        server.expect_request(re.compile(rf"^{BASE}/jobs/query/750\w+/results$"), method="GET"
                              ).respond_with_handler(self.results)
        self.url = server.url_for("").rstrip("/")

    def unauthorized(self) -> Response:
        return json_response([{"message": "Session expired or invalid",
                               "errorCode": "INVALID_SESSION_ID"}], 401)

    # ---- SOQL ---------------------------------------------------------------------------

    def _select(self, soql: str, include_deleted: bool
                ) -> tuple[str, list[str] | None, list[dict[str, Any]]] | Response:
        match = SOQL.match(soql.strip())
        if match is None:
            return json_response([{"message": f"unexpected SOQL: {soql}",
                                   "errorCode": "MALFORMED_QUERY"}], 400)
        name = match["object"]
        if name not in self.data.salesforce or name in self.hidden:
            return json_response(no_access(name), 400)
        rows = [r for r in self.data.salesforce[name]
                if include_deleted or not r.get("IsDeleted")]
        for condition in (match["where"] or "").split(" AND ") if match["where"] else []:
            term = CONDITION.match(condition)
            if term is None:
                return json_response([{"message": f"unexpected condition: {condition}",
                                       "errorCode": "MALFORMED_QUERY"}], 400)
            field, value = term["field"], term["value"]
            if term["op"] == ">=":
                rows = [r for r in rows if _instant(r[field]) >= _instant(value)]
            else:  # a checkbox: `IsConverted = true`
                rows = [r for r in rows if bool(r.get(field)) == (value == "true")]
        if match["order"]:
            first = match["order"].split(",")[0].strip()
            rows = sorted(rows, key=lambda r: (_instant(r[first]), r["Id"]))
        fields = None if match["fields"] == "COUNT()" else \
            [f.strip() for f in match["fields"].split(",")]
        return name, fields, rows

    def query(self, request: Request) -> Response:
        include_deleted = request.path.rstrip("/").endswith("queryAll")
        early = self.answer("queryAll" if include_deleted else "query", request)
        if early is not None:
            return early
        selected = self._select(request.args["q"], include_deleted)
        if isinstance(selected, Response):
            return selected
        name, fields, rows = selected
        if fields is None:
            return json_response({"totalSize": len(rows), "done": True, "records": []})
        records = [self._record(name, fields, r) for r in rows]
        locator = f"01g5e{next(self._ids):013d}"
        self._cursors[locator] = (records, name)
        return self._page(locator, 0, include_deleted)

    def query_more(self, request: Request) -> Response:
        early = self.answer("query_more", request)
        if early is not None:
            return early
        locator, offset = request.path.rsplit("/", 1)[1].rsplit("-", 1)
        return self._page(locator, int(offset), "queryAll" in request.path)

    def _page(self, locator: str, offset: int, include_deleted: bool) -> Response:
        records, _ = self._cursors[locator]
        page = records[offset:offset + self.page_size]
        body: dict[str, Any] = {"totalSize": len(records),
                                "done": offset + self.page_size >= len(records),
                                "records": page}
        if not body["done"]:
            endpoint = "queryAll" if include_deleted else "query"
            body["nextRecordsUrl"] = f"{BASE}/{endpoint}/{locator}-{offset + self.page_size}"
        return json_response(body)

    @staticmethod
    def _record(name: str, fields: list[str], row: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {"attributes": {
            "type": name, "url": f"{BASE}/sobjects/{name}/{row['Id']}"}}
        record.update({f: row.get(f) for f in fields})
        return record

    # ---- Bulk API 2.0 -------------------------------------------------------------------

    def create_job(self, request: Request) -> Response:
        early = self.answer("bulk_create", request)
        if early is not None:
            return early
        spec = request.get_json()
        if " ORDER BY " in spec["query"]:
            return json_response([{"errorCode": "API_ERROR", "message": "ORDER BY is not "
                                   "supported by Bulk API 2.0 queries in this test server"}],
                                 400)
        selected = self._select(spec["query"], spec["operation"] == "queryAll")
        if isinstance(selected, Response):
            return selected
        name, fields, rows = selected
        assert fields is not None
        job = f"7505e{next(self._ids):013d}"
        cells = [[_bulk_cell(r.get(f)) for f in fields] for r in reversed(rows)]
        self._jobs[job] = (fields, cells)
        return json_response({"id": job, "operation": spec["operation"], "object": name,
                              "createdById": "0055e000001AbCdAAK", "state": "UploadComplete",
                              "concurrencyMode": "Parallel", "contentType": "CSV",
                              "apiVersion": 59.0, "lineEnding": "LF",
                              "columnDelimiter": "COMMA"})

    def job(self, request: Request) -> Response:
        early = self.answer("bulk_job", request)
        if early is not None:
            return early
        job = request.path.rsplit("/", 1)[1]
        fields, cells = self._jobs[job]
        return json_response({"id": job, "operation": "queryAll", "state": "JobComplete",
                              "numberRecordsProcessed": len(cells), "retries": 0,
                              "totalProcessingTime": 200})

    def results(self, request: Request) -> Response:
        early = self.answer("bulk_results", request)
        if early is not None:
            return early
        job = request.path.split("/")[-2]
        fields, cells = self._jobs[job]
        size = min(int(request.args.get("maxRecords", "50000")), self.page_size)
        offset = int(request.args.get("locator") or 0)
        page = cells[offset:offset + size]
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(fields)
        writer.writerows(page)
        following = str(offset + size) if offset + size < len(cells) else "null"
        return Response(out.getvalue(), content_type="text/csv", headers={
            "Sforce-Locator": following, "Sforce-NumberOfRecords": str(len(page))})


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("+0000", "+00:00").replace("Z", "+00:00"))


def _bulk_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.endswith(".000+0000"):
        return value.replace("+0000", "Z")  # Bulk API 2.0 writes instants with Z
    return str(value)
