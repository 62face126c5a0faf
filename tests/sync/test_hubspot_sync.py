"""`lifecycle sync hubspot` against a local HubSpot API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from lifecycle.application.sync import cursor_name
from lifecycle.connectors.base import AuthFailed, LimitReached, Unavailable
from lifecycle.domain.timeutil import parse_instant, utc_now
from tests.sync.conftest import (
    facts_by_stream,
    hubspot_source,
    import_exports,
    new_ledger,
    run,
)
from tests.sync.crm_data import CrmData
from tests.sync.hubspot_server import HubSpotAPI, daily_limit, secondly_limit

KEYS = ["hubspot:contacts", "hubspot:companies"]


def test_a_sync_equals_a_file_import_fact_for_fact(
        store_url: str, tmp_path: Path, definitions_yaml: str, hubspot: HubSpotAPI,
        crm: CrmData) -> None:
    files = crm.write_exports(tmp_path)
    with new_ledger(f"sqlite:///{tmp_path / 'files.db'}", definitions_yaml) as imported:
        import_exports(imported, files, KEYS)
        expected = facts_by_stream(imported)
    with new_ledger(store_url, definitions_yaml) as ledger:
        report = run(ledger, hubspot_source(hubspot))
        assert report.error is None
        contacts, companies, deals = report.objects
        assert deals.fetched == 0  # the demo journeys have none (test_hubspot_deals_sync)
        assert (contacts.fetched, companies.fetched) == (len(crm.contacts), len(crm.companies))
        assert contacts.stored + companies.stored == sum(map(len, expected.values()))
        assert facts_by_stream(ledger) == expected
        # listing pages hold 50 objects with history: ceil(147 / 50) requests
        assert hubspot.calls["list:contacts"] == -(-len(crm.contacts) // 50)
        assert ledger.sync_cursor(cursor_name("hubspot", "contacts")) is not None
        # the same records again, incrementally and in full: nothing new
        again = run(ledger, hubspot_source(hubspot), full=True)
        assert [o.stored for o in again.objects] == [0, 0, 0]
        assert again.objects[0].duplicate == contacts.stored + contacts.duplicate
        assert facts_by_stream(ledger) == expected
        # and the files imported over the sync: all duplicates
        import_exports(ledger, files, KEYS)
        assert facts_by_stream(ledger) == expected


def test_later_syncs_read_what_changed_by_search_and_batch_read(
        store_url: str, definitions_yaml: str, hubspot: HubSpotAPI, crm: CrmData) -> None:
    with new_ledger(store_url, definitions_yaml) as ledger:
        first = run(ledger, hubspot_source(hubspot))
        stored = sum(o.stored for o in first.objects)
        now = utc_now()
        changed = sorted(crm.contacts)[:60]
        for n, contact_id in enumerate(changed):
            crm.add_entry("contacts", contact_id, "customer", now + timedelta(seconds=n))
        second = run(ledger, hubspot_source(hubspot))
        contacts, companies, _ = second.objects
        assert (contacts.fetched, contacts.stored, companies.fetched) == (60, 60, 0)
        assert hubspot.calls["batch:contacts"] == 2  # 60 ids: 50 + 10 (history limit)
        assert hubspot.calls.get("list:contacts", 0) == -(-len(crm.contacts) // 50)
        assert parse_instant(ledger.sync_cursor("hubspot:contacts") or "") == \
            parse_instant(crm.contacts[changed[-1]]["updatedAt"])
        total = sum(len(v) for v in facts_by_stream(ledger).values())
        assert total == stored + 60


def test_the_search_restarts_past_its_ten_thousand_results(
        sqlite_url: str, definitions_yaml: str, hubspot: HubSpotAPI, crm: CrmData) -> None:
    with new_ledger(sqlite_url, definitions_yaml) as ledger:
        run(ledger, hubspot_source(hubspot), ("contacts",))
        now = utc_now()
        for n, contact_id in enumerate(sorted(crm.contacts)):
            crm.add_entry("contacts", contact_id, "evangelist", now + timedelta(seconds=n))
        source = hubspot_source(hubspot)
        source.connector.search_cap = hubspot.search_cap = 400  # as 10,000 is to HubSpot
        report = run(ledger, source, ("contacts",))
        assert report.error is None
        assert report.objects[0].stored == len(crm.contacts)
        assert report.objects[0].fetched >= len(crm.contacts)


def test_429_waits_retry_after_and_5xx_is_retried(
        sqlite_url: str, definitions_yaml: str, hubspot: HubSpotAPI) -> None:
    hubspot.fail("list:contacts", 429, secondly_limit(), times=2, after=1,
                 headers={"Retry-After": "0"})
    hubspot.fail("list:contacts", 502, {"status": "error", "message": "Bad Gateway"}, after=2)
    hubspot.fail("list:companies", 500, "<html>Internal error</html>", times=3)
    with new_ledger(sqlite_url, definitions_yaml) as ledger:
        report = run(ledger, hubspot_source(hubspot))
        assert report.error is None
        assert hubspot.calls["list:contacts"] == 3 + 3
        assert hubspot.calls["list:companies"] == 1 + 3


def test_a_page_cut_short_is_read_again_never_taken_for_the_end(
        sqlite_url: str, tmp_path: Path, definitions_yaml: str, hubspot: HubSpotAPI,
        crm: CrmData) -> None:
    files = crm.write_exports(tmp_path)
    with new_ledger(f"sqlite:///{tmp_path / 'files.db'}", definitions_yaml) as imported:
        import_exports(imported, files, KEYS)
        expected = facts_by_stream(imported)
    hubspot.fail("list:contacts", 200, b'{"results": [{"id": "1", "properties": {', after=1)
    with new_ledger(sqlite_url, definitions_yaml) as ledger:
        report = run(ledger, hubspot_source(hubspot))
        assert report.error is None
        assert hubspot.calls["list:contacts"] == 4  # 3 pages, the second one twice
        assert facts_by_stream(ledger) == expected


def test_a_page_that_keeps_failing_stops_keeping_what_was_stored(
        store_url: str, definitions_yaml: str, hubspot: HubSpotAPI, crm: CrmData) -> None:
    with new_ledger(store_url, definitions_yaml) as ledger:
        run(ledger, hubspot_source(hubspot))
        now = utc_now()
        for n, contact_id in enumerate(sorted(crm.contacts)[:120]):
            crm.add_entry("contacts", contact_id, "customer", now + timedelta(seconds=n))
        hubspot.fail("batch:contacts", 503, {"message": "Service Unavailable"}, times=99,
                     after=1)
        report = run(ledger, hubspot_source(hubspot))
        assert isinstance(report.error, Unavailable)
        assert str(report.error).startswith("hubspot contacts: HubSpot kept failing (503: "
                                            "Service Unavailable) after 4 attempts")
        assert report.objects[0].stored == 50  # the first batch, with its cursor
        cursor = ledger.sync_cursor("hubspot:contacts")
        hubspot.faults.clear()
        resumed = run(ledger, hubspot_source(hubspot), overlap=timedelta(0))
        assert resumed.error is None
        assert resumed.objects[0].stored == 70
        assert cursor is not None and cursor < (ledger.sync_cursor("hubspot:contacts") or "")


@pytest.mark.parametrize(("status", "body", "kind"), [
    (401, None, AuthFailed), (429, daily_limit(), LimitReached)])
def test_auth_and_daily_limit_stop_with_what_to_do(
        sqlite_url: str, definitions_yaml: str, hubspot: HubSpotAPI, status: int,
        body: object, kind: type) -> None:
    with new_ledger(sqlite_url, definitions_yaml) as ledger:
        if status == 401:
            source = hubspot_source(hubspot, token="pat-na1-expired")
        else:
            hubspot.fail("list:contacts", status, body, after=1)
            source = hubspot_source(hubspot)
        report = run(ledger, source)
        assert isinstance(report.error, kind)
        assert report.error.object == "contacts"
        if status == 401:
            assert "create a new private-app access token and set HUBSPOT_TOKEN" in \
                str(report.error)
            assert report.objects[0].stored == 0
        else:
            assert "daily API limit" in str(report.error)
            assert report.objects[0].fetched == 50 and report.objects[0].stored > 0


def test_a_missing_scope_names_it_and_keeps_the_other_objects(
        store_url: str, definitions_yaml: str, hubspot: HubSpotAPI, crm: CrmData) -> None:
    hubspot.scopes.discard("crm.objects.companies.read")
    with new_ledger(store_url, definitions_yaml) as ledger:
        report = run(ledger, hubspot_source(hubspot))
        assert isinstance(report.error, AuthFailed)
        assert str(report.error).startswith(
            "hubspot companies: the token may not read companies (403: This app hasn't")
        assert str(report.error).endswith("; give the private app the scope "
                                          "crm.objects.companies.read and use its new token")
        assert report.objects[0].fetched == len(crm.contacts)
        assert report.objects[0].stored > 0


def test_dry_run_counts_and_stores_nothing(
        sqlite_url: str, definitions_yaml: str, hubspot: HubSpotAPI) -> None:
    with new_ledger(sqlite_url, definitions_yaml) as ledger:
        dry = run(ledger, hubspot_source(hubspot), dry_run=True)
        assert facts_by_stream(ledger) == {}
        assert ledger.sync_cursor("hubspot:contacts") is None
        real = run(ledger, hubspot_source(hubspot))
        assert [o.stored for o in dry.objects] == [o.stored for o in real.objects]
        again = run(ledger, hubspot_source(hubspot), dry_run=True, full=True)
        assert [o.stored for o in again.objects] == [0, 0, 0]
        assert [o.duplicate for o in again.objects] == [o.stored + o.duplicate
                                                        for o in real.objects]


def test_a_history_at_hubspots_cap_warns(
        sqlite_url: str, definitions_yaml: str, hubspot: HubSpotAPI, crm: CrmData) -> None:
    contact_id = sorted(crm.contacts)[0]
    start = utc_now() - timedelta(days=60)
    for n in range(45):
        crm.add_entry("contacts", contact_id, ["lead", "marketingqualifiedlead"][n % 2],
                      start + timedelta(hours=n))
    with new_ledger(sqlite_url, definitions_yaml) as ledger:
        report = run(ledger, hubspot_source(hubspot))
        assert report.objects[0].warnings == {
            "HubSpot keeps at most 45 revisions of a contact property: older history may "
            "be lost": [f"contact {contact_id} (lifecyclestage)"]}


def test_search_and_batch_read_give_the_same_facts_as_a_listing(
        sqlite_url: str, tmp_path: Path, definitions_yaml: str, hubspot: HubSpotAPI,
        crm: CrmData) -> None:
    """Every record through the incremental path (search, batch read, v4 associations)."""
    files = crm.write_exports(tmp_path)
    with new_ledger(f"sqlite:///{tmp_path / 'files.db'}", definitions_yaml) as imported:
        import_exports(imported, files, KEYS)
        expected = facts_by_stream(imported)
    with new_ledger(sqlite_url, definitions_yaml) as ledger:
        for key in ("hubspot:contacts", "hubspot:companies"):
            ledger.append([], cursor=(key, "2000-01-01T00:00:00Z"))
        report = run(ledger, hubspot_source(hubspot))
        assert report.error is None
        assert "list:contacts" not in hubspot.calls
        assert hubspot.calls["batch:contacts"] == -(-len(crm.contacts) // 50)
        assert hubspot.calls["associations:contacts"] == hubspot.calls["batch:contacts"]
        assert facts_by_stream(ledger) == expected
