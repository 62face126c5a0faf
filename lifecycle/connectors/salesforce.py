"""Salesforce through `simple-salesforce`: SOQL on the REST API, Bulk API 2.0 when large.

Each object is one query ordered by the field that dates its rows (`CreatedDate` for the
history objects, whose rows never change; `SystemModstamp` for Contact, Lead, Opportunity
and OpportunityContactRole), from the cursor on. History objects, Opportunity and
OpportunityContactRole are read with `queryAll`, so that rows of deleted records come too
(a deleted opportunity or contact role is a fact; deleted history rows are skipped). Leads
are read only once converted (`IsConverted = true`): the conversion is what they add. The
REST API answers 2,000 rows a page at most and names the next with `nextRecordsUrl`; each
page is stored with the cursor at its last row. When a `COUNT()` says there are more rows
than `bulk_threshold`, the query runs as a Bulk API 2.0 job instead: Bulk 2.0 queries do
not take ORDER BY, so its CSV results are sorted here before they are stored.

Rows come out as cells in the columns of a SOQL export (Data Loader, Workbench), so the
file importer reads them exactly as it reads such a file.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from lifecycle.connectors.base import AuthFailed, LimitReached, Page, SyncError, Unavailable
from lifecycle.connectors.retrying import Retryable, RetryPolicy, call, retry_after
from lifecycle.domain.timeutil import TimeError, format_instant, parse_instant

SOURCE = "salesforce"
API_VERSION = "59.0"
PAGE = 2_000  # rows stored per transaction from a Bulk job (the REST API's own page size)
HISTORY = ("Id", "IsDeleted", "{parent}", "CreatedById", "CreatedDate", "Field", "DataType",
           "OldValue", "NewValue")


@dataclass(frozen=True)
class SalesforceObject:
    """One queried object: its columns, the field its cursor follows, whether deleted rows
    are read (`queryAll`), and what the integration user needs to read it."""

    name: str
    fields: tuple[str, ...]
    modified: str
    include_deleted: bool
    access: str
    #: A SOQL condition every query of the object has (`IsConverted = true`).
    condition: str = ""


def _history(parent: str, name: str = "") -> SalesforceObject:
    return SalesforceObject(
        name or f"{parent}History", tuple(f.format(parent=f"{parent}Id") for f in HISTORY),
        "CreatedDate", True, f"field history tracking on {parent} and read access to "
        f"{parent} ({name or parent + 'History'} follows it)")


#: What `lifecycle sync salesforce` reads, in this order.
OBJECTS = {
    "LeadHistory": _history("Lead"),
    "ContactHistory": _history("Contact"),
    "AccountHistory": _history("Account"),
    "Contact": SalesforceObject("Contact", ("Id", "AccountId", "CreatedDate", "SystemModstamp"),
                                "SystemModstamp", False, "read access to Contact"),
    "Lead": SalesforceObject(
        "Lead", ("Id", "IsConverted", "ConvertedContactId", "ConvertedAccountId",
                 "ConvertedOpportunityId", "ConvertedDate", "SystemModstamp"),
        "SystemModstamp", False, "read access to Lead", condition="IsConverted = true"),
    "Opportunity": SalesforceObject(
        "Opportunity", ("Id", "AccountId", "Type", "CreatedDate", "IsDeleted",
                        "LastModifiedDate", "SystemModstamp"),
        "SystemModstamp", True, "read access to Opportunity"),
    "OpportunityHistory": SalesforceObject(
        "OpportunityHistory", ("Id", "IsDeleted", "OpportunityId", "CreatedById",
                               "CreatedDate", "StageName"),
        "CreatedDate", True, "read access to Opportunity (OpportunityHistory follows it)"),
    "OpportunityFieldHistory": _history("Opportunity", "OpportunityFieldHistory"),
    "OpportunityContactRole": SalesforceObject(
        "OpportunityContactRole", ("Id", "OpportunityId", "ContactId", "Role", "CreatedDate",
                                   "IsDeleted", "LastModifiedDate", "SystemModstamp"),
        "SystemModstamp", True, "read access to Opportunity and Contact "
        "(OpportunityContactRole follows them)"),
}


def _plain_http() -> Any:
    """A transport adapter that sends simple-salesforce's https:// requests over plain
    http (mounted for the host of an `--api-url http://...`: a proxy, a test server)."""
    from requests.adapters import HTTPAdapter

    class PlainHTTP(HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            request.url = "http://" + request.url.removeprefix("https://")
            return super().send(request, *args, **kwargs)

    return PlainHTTP()


class SalesforceConnector:
    """Pages of Salesforce rows, as cells under the SOQL field names."""

    source = SOURCE

    def __init__(self, instance_url: str, token: str, api_url: str | None = None,
                 policy: RetryPolicy | None = None, bulk_threshold: int | None = 50_000,
                 bulk_wait: float = 2.0):
        import requests
        from simple_salesforce import Salesforce

        self._token = token
        self.policy = policy or RetryPolicy()
        self.bulk_threshold, self.bulk_wait = bulk_threshold, bulk_wait
        url = (api_url or instance_url).rstrip("/")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        session = requests.Session()
        if parsed.scheme == "http":
            session.mount(f"https://{parsed.netloc}", _plain_http())
        self._headers: Any = {}
        session.hooks["response"].append(self._remember)
        self._sf = Salesforce(instance_url=url, session_id=token, session=session,
                              version=API_VERSION)

    def _remember(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self._headers = response.headers

    def pages(self, object_name: str, since: datetime | None) -> Iterator[Page]:
        """Every row (`since` None) or those dated from `since` on, in pages."""
        spec = OBJECTS[object_name]
        conditions = [spec.condition] if spec.condition else []
        if since is not None:
            conditions.append(f"{spec.modified} >= {since.strftime('%Y-%m-%dT%H:%M:%SZ')}")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        if self.bulk_threshold is not None:
            count = self._call(spec, functools.partial(
                self._sf.query, f"SELECT COUNT() FROM {spec.name}{where}",  # noqa: S608
                include_deleted=spec.include_deleted))
            if int(count.get("totalSize") or 0) > self.bulk_threshold:
                for page in self._bulk(spec, where):
                    page.total = _total(count)
                    yield page
                return
        # SOQL from this module's constants and a formatted instant: nothing a user typed.
        soql = (f"SELECT {', '.join(spec.fields)} FROM {spec.name}{where} "  # noqa: S608
                f"ORDER BY {spec.modified}, Id")
        body = self._call(spec, functools.partial(self._sf.query, soql,
                                                  include_deleted=spec.include_deleted))
        while True:
            rows = [[_cell(record.get(name)) for name in spec.fields]
                    for record in body.get("records") or []]
            yield Page(rows, cursor=self._cursor(spec, rows), header=list(spec.fields),
                       total=_total(body))
            following = body.get("nextRecordsUrl")
            if body.get("done", True) or not following:
                return
            body = self._call(spec, functools.partial(
                self._sf.query_more, following, identifier_is_url=True,
                include_deleted=spec.include_deleted))

    # ---- Bulk API 2.0 --------------------------------------------------------------------

    def _bulk(self, spec: SalesforceObject, where: str) -> Iterator[Page]:
        from simple_salesforce.bulk2 import Operation

        client = getattr(self._sf.bulk2, spec.name)._client  # the job-level calls, to retry each
        operation = Operation.query_all if spec.include_deleted else Operation.query
        soql = f"SELECT {', '.join(spec.fields)} FROM {spec.name}{where}"  # noqa: S608
        job = self._call(spec, functools.partial(client.create_job, operation, soql))

        def wait() -> dict[str, Any]:
            client.wait_for_job(job["id"], True, self.bulk_wait)
            return {}

        self._call(spec, wait)
        header: list[str] = list(spec.fields)
        rows: list[list[str]] = []
        locator = ""
        while True:
            result = self._call(spec, functools.partial(client.get_query_results, job["id"],
                                                        locator))
            lines = list(csv.reader(io.StringIO(result["records"])))
            if lines:
                header, rows = lines[0], rows + [line for line in lines[1:] if line]
            locator = result["locator"]
            if not locator:
                break
        at, key = header.index(spec.modified), header.index("Id")
        rows.sort(key=lambda row: (_instant(spec, row[at]), row[key]))
        for start in range(0, len(rows), PAGE):
            page = rows[start:start + PAGE]
            yield Page(page, cursor=format_instant(_instant(spec, page[-1][at])), header=header)
        if not rows:
            yield Page([], header=header)

    # ---- one call, retried -----------------------------------------------------------------

    def _cursor(self, spec: SalesforceObject, rows: list[list[str]]) -> str | None:
        if not rows:
            return None
        return format_instant(_instant(spec, rows[-1][spec.fields.index(spec.modified)]))

    def _call(self, spec: SalesforceObject, request: Callable[[], Any]) -> dict[str, Any]:
        from requests.exceptions import RequestException
        from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError

        def attempt() -> dict[str, Any]:
            try:
                body = request()
            except SalesforceOperationError as exc:
                raise SyncError(SOURCE, spec.name, self._scrub(
                    f"the Bulk API job failed: {exc}"), "run the sync again") from None
            except SalesforceError as exc:
                raise self._failure(spec, exc.status, exc.content) from None
            except RequestException as exc:
                raise Retryable(f"connection failed ({type(exc).__name__})") from None
            return dict(body or {})

        try:
            return call(self.policy, attempt)
        except Retryable as exc:
            raise Unavailable(SOURCE, spec.name, self._scrub(
                f"Salesforce kept failing ({exc.reason}) after {self.policy.attempts} "
                "attempts"), "nothing fetched so far is lost: run the sync again later",
                status=exc.status) from None

    def _failure(self, spec: SalesforceObject, status: int, content: Any) -> Exception:
        first = content[0] if isinstance(content, list) and content else content
        code = str(first.get("errorCode", "")) if isinstance(first, dict) else ""
        text = str(first.get("message", "")) if isinstance(first, dict) else str(first or "")
        message = self._scrub(f"{status} {code}: {text}" if code else f"{status}: {text}")
        if status == 429 or status >= 500:
            return Retryable(message, retry_after(self._headers.get("Retry-After")), status)
        if status == 401:
            return AuthFailed(SOURCE, spec.name, f"Salesforce refused the access token "
                              f"({message})", "get a new access token and set "
                              "SALESFORCE_ACCESS_TOKEN (see docs/sync.md)", status=401)
        if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
            return LimitReached(SOURCE, spec.name, f"the org's API request limit is used up "
                                f"({message})", "the sync goes on from where it stopped "
                                "once the rolling 24-hour window frees requests", status=403)
        if status == 403 or code in ("INVALID_TYPE", "INSUFFICIENT_ACCESS"):
            return AuthFailed(SOURCE, spec.name, f"the user may not read {spec.name} "
                              f"({message})", f"give the integration user {spec.access}",
                              status=status)
        return SyncError(SOURCE, spec.name, f"Salesforce answered {message}", status=status)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def _cell(value: Any) -> str:
    """A JSON value as a SOQL export writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _instant(spec: SalesforceObject, text: str) -> datetime:
    try:
        return parse_instant(text)
    except TimeError:
        raise SyncError(SOURCE, spec.name, f"a row has no readable {spec.modified} "
                        f"({text!r})") from None


def _total(body: dict[str, Any]) -> int | None:
    """The records a query's answer says the whole listing holds (`totalSize`)."""
    size = body.get("totalSize")
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
