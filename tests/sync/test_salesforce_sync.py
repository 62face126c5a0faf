"""`lifecycle sync salesforce` against a local Salesforce REST API, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from lifecycle.connectors.base import AuthFailed, LimitReached, Unavailable
from lifecycle.connectors.salesforce import OBJECTS as SF_OBJECTS
from lifecycle.domain.timeutil import utc_now
from tests.sync.conftest import (
    facts_by_stream,
    import_exports,
    new_ledger,
    run,
    salesforce_source,
)
from tests.sync.crm_data import CrmData
from tests.sync.salesforce_server import SalesforceAPI, limit_exceeded

KEYS = [f"salesforce:{name}" for name in SF_OBJECTS]


def test_a_sync_equals_a_file_import_fact_for_fact(
        store_url: str, tmp_path: Path, definitions_yaml: str, salesforce: SalesforceAPI,
        crm: CrmData) -> None:
    files = crm.write_exports(tmp_path)
    with new_ledger(f"sqlite:///{tmp_path / 'files.db'}", definitions_yaml) as imported:
        import_exports(imported, files, KEYS)
        expected = facts_by_stream(imported)
    with new_ledger(store_url, definitions_yaml) as ledger:
        report = run(ledger, salesforce_source(salesforce))
        assert report.error is None
        assert [o.fetched for o in report.objects] == [
            len(crm.queried(k.split(":")[1])) for k in KEYS]
        deleted = sum(bool(r["IsDeleted"]) for r in crm.salesforce["LeadHistory"])
        assert report.objects[0].skipped == deleted > 0  # queryAll: deleted rows, skipped
        assert facts_by_stream(ledger) == expected
        # 50 rows a page: nextRecordsUrl followed
        assert salesforce.calls["query_more"] >= len(crm.salesforce["LeadHistory"]) // 50
        again = run(ledger, salesforce_source(salesforce), full=True)
        assert sum(o.stored for o in again.objects) == 0
        assert facts_by_stream(ledger) == expected


def test_bulk_api_2_for_large_queries_gives_the_same_facts(
        store_url: str, tmp_path: Path, definitions_yaml: str, salesforce: SalesforceAPI,
        crm: CrmData) -> None:
    files = crm.write_exports(tmp_path)
    with new_ledger(f"sqlite:///{tmp_path / 'files.db'}", definitions_yaml) as imported:
        import_exports(imported, files, KEYS)
        expected = facts_by_stream(imported)
    salesforce.fail("bulk_results", 503, [{"message": "busy", "errorCode": "SERVER_UNAVAILABLE"}],
                    after=1)
    with new_ledger(store_url, definitions_yaml) as ledger:
        report = run(ledger, salesforce_source(salesforce, bulk_threshold=35))
        assert report.error is None
        large = [name for name in SF_OBJECTS if len(crm.queried(name)) > 35]
        assert large == ["LeadHistory", "ContactHistory", "Contact", "Opportunity",
                         "OpportunityHistory", "OpportunityFieldHistory",
                         "OpportunityContactRole"]
        assert salesforce.calls["bulk_create"] == len(large)
        assert facts_by_stream(ledger) == expected


def test_later_syncs_read_from_the_cursor(
        store_url: str, definitions_yaml: str, salesforce: SalesforceAPI,
        crm: CrmData) -> None:
    with new_ledger(store_url, definitions_yaml) as ledger:
        first = run(ledger, salesforce_source(salesforce))
        lead = crm.salesforce["LeadHistory"][0]["LeadId"]
        now = utc_now()
        crm.add_history("LeadHistory", lead, "Status", "Open - Not Contacted",
                        "Working - Contacted", now)
        crm.add_history("LeadHistory", lead, "Status", "Working - Contacted",
                        "Closed - Converted", now + timedelta(seconds=1))
        second = run(ledger, salesforce_source(salesforce))
        leads = second.objects[0]
        # the two new rows, and those the overlap before the cursor reads again
        assert leads.stored == 2
        assert leads.fetched == 2 + leads.duplicate + leads.skipped
        assert sum(o.stored for o in second.objects[1:]) == 0
        assert sum(o.stored for o in first.objects) > 300


def test_limits_auth_and_access_stop_naming_the_object(
        sqlite_url: str, definitions_yaml: str, salesforce: SalesforceAPI) -> None:
    with new_ledger(sqlite_url, definitions_yaml) as ledger:
        expired = run(ledger, salesforce_source(salesforce, token="00D5e-expired"))
        assert isinstance(expired.error, AuthFailed)
        assert str(expired.error) == (
            "salesforce LeadHistory: Salesforce refused the access token (401 "
            "INVALID_SESSION_ID: Session expired or invalid); get a new access token and "
            "set SALESFORCE_ACCESS_TOKEN (see docs/sync.md)")
        salesforce.fail("query_more", 403, limit_exceeded(), after=1)
        limited = run(ledger, salesforce_source(salesforce))
        assert isinstance(limited.error, LimitReached)
        assert limited.error.object == "LeadHistory"
        assert limited.objects[0].stored > 0  # the pages before the limit are kept
        salesforce.hidden.add("AccountHistory")
        hidden = run(ledger, salesforce_source(salesforce))
        assert isinstance(hidden.error, AuthFailed)
        assert str(hidden.error).startswith("salesforce AccountHistory: the user may not "
                                            "read AccountHistory (400 INVALID_TYPE: sObject")
        assert str(hidden.error).endswith("give the integration user field history "
                                          "tracking on Account and read access to Account "
                                          "(AccountHistory follows it)")


def test_5xx_and_429_are_retried_then_given_up(
        sqlite_url: str, definitions_yaml: str, salesforce: SalesforceAPI) -> None:
    salesforce.fail("query_more", 500, [{"message": "x", "errorCode": "UNKNOWN_EXCEPTION"}],
                    times=2)
    salesforce.fail("query_more", 429, [{"message": "slow down", "errorCode": "X"}],
                    headers={"Retry-After": "0"})
    salesforce.fail("query_more", 200, b'{"totalSize": 195, "done": false, "records": [{',
                    after=3)  # a page cut short
    with new_ledger(sqlite_url, definitions_yaml) as ledger:
        report = run(ledger, salesforce_source(salesforce))
        assert report.error is None
        assert report.objects[0].fetched == 195
        salesforce.fail("queryAll", 503, "<html>Service Unavailable</html>", times=10)
        failed = run(ledger, salesforce_source(salesforce), full=True)
        assert isinstance(failed.error, Unavailable)
        assert str(failed.error) == (
            "salesforce LeadHistory: Salesforce kept failing (503: <html>Service "
            "Unavailable</html>) after 4 attempts; nothing fetched so far is lost: run the "
            "sync again later")
