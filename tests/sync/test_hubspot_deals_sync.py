"""`lifecycle sync hubspot` reading deals (dealtype, company and contact associations) and
merged ids against the local HubSpot API: the same facts as importing the same records
from files, through the full listing and through search, batch read and v4 associations."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from lifecycle.connectors.base import AuthFailed
from lifecycle.domain.timeutil import format_instant, utc_now
from tests.data.make_deal_exports import ACME, deals
from tests.sync.conftest import facts_by_stream, hubspot_source, import_exports, new_ledger, run
from tests.sync.crm_data import CrmData
from tests.sync.hubspot_server import HubSpotAPI

KEYS = ["hubspot:contacts", "hubspot:companies", "hubspot:deals"]
MERGED = "99000001"


def _v3(deal: dict[str, Any]) -> dict[str, Any]:
    """The deal as the v3 listing gives it (the generator writes one in the v4 shape)."""
    deal = copy.deepcopy(deal)
    links = deal["associations"]
    for target in ("companies", "contacts"):
        results = []
        for item in links[target]["results"]:
            if "toObjectId" not in item:
                results.append(item)
                continue
            singular = "deal_to_company" if target == "companies" else "deal_to_contact"
            primary = any(k["typeId"] in (5, 3) for k in item["associationTypes"])
            results.append({"id": str(item["toObjectId"]),
                            "type": singular if primary else f"{singular}_unlabeled"})
        links[target] = {"results": results}
    return deal


@pytest.fixture
def with_deals(crm: CrmData) -> CrmData:
    """The demo contacts and companies, the deal journeys' deals, and one contact into
    which another was merged."""
    for deal in deals():
        crm.deals[deal["id"]] = _v3(deal)
    survivor = crm.contacts[sorted(crm.contacts)[0]]
    merged_at = survivor["propertiesWithHistory"]["lifecyclestage"][0]["timestamp"]
    survivor["propertiesWithHistory"]["hs_merged_object_ids"] = [
        {"value": MERGED, "timestamp": merged_at, "sourceType": "MERGE",
         "sourceId": "userId:28604240", "updatedByUserId": 28604240}]
    survivor["properties"]["hs_merged_object_ids"] = MERGED
    return crm


def _expected(tmp_path: Path, crm: CrmData, definitions_yaml: str
              ) -> dict[str, list[tuple[str, str]]]:
    files = crm.write_exports(tmp_path)
    with new_ledger(f"sqlite:///{tmp_path / 'files.db'}", definitions_yaml) as imported:
        import_exports(imported, files, KEYS)
        return facts_by_stream(imported)


def test_a_deal_sync_equals_a_file_import(store_url: str, tmp_path: Path,
                                          definitions_yaml: str, hubspot: HubSpotAPI,
                                          with_deals: CrmData) -> None:
    expected = _expected(tmp_path, with_deals, definitions_yaml)
    with new_ledger(store_url, definitions_yaml) as ledger:
        report = run(ledger, hubspot_source(hubspot))
        assert report.error is None
        assert [o.fetched for o in report.objects] == [
            len(with_deals.contacts), len(with_deals.companies), 4]
        assert facts_by_stream(ledger) == expected
        deal_facts = [fact for _, fact in expected["opportunity:7002"]]
        assert '"kind": "newbusiness"' in deal_facts[0] and f'"{ACME}"' in deal_facts[0]
        assert ['"person_id": "301"' in deal_facts[1], '"person_id": "302"' in deal_facts[2]] \
            == [True, True]
        survivor = f"person:{sorted(with_deals.contacts)[0]}"
        assert any(f'"merged_id": "{MERGED}"' in fact for _, fact in expected[survivor])
        # the listing asked for dealtype and the merged ids' history
        listing = [path for kind, path in hubspot.requests if kind == "list:deals"][0]
        assert "&properties=dealtype&" in listing
        assert "&propertiesWithHistory=hs_merged_object_ids&" in listing
        again = run(ledger, hubspot_source(hubspot), full=True)
        assert [o.stored for o in again.objects] == [0, 0, 0]


def test_search_batch_read_and_v4_associations_give_the_same_deal_facts(
        sqlite_url: str, tmp_path: Path, definitions_yaml: str, hubspot: HubSpotAPI,
        with_deals: CrmData) -> None:
    expected = _expected(tmp_path, with_deals, definitions_yaml)
    with new_ledger(sqlite_url, definitions_yaml) as ledger:
        for key in KEYS:
            ledger.append([], cursor=(key, "2000-01-01T00:00:00Z"))
        report = run(ledger, hubspot_source(hubspot))
        assert report.error is None
        assert "list:deals" not in hubspot.calls
        assert hubspot.calls["batch:deals"] == 1
        # one v4 read per associated type: companies, then contacts
        assert [path.split("/")[5] for kind, path in hubspot.requests
                if kind == "associations:deals"] == ["companies", "contacts"]
        assert facts_by_stream(ledger) == expected


def test_a_later_deal_stage_is_synced_alone(sqlite_url: str, definitions_yaml: str,
                                            hubspot: HubSpotAPI, with_deals: CrmData) -> None:
    with new_ledger(sqlite_url, definitions_yaml) as ledger:
        run(ledger, hubspot_source(hubspot))
        latest = utc_now().replace(microsecond=0) + timedelta(seconds=1)
        with_deals.add_entry("deals", "7003", "closedwon", latest, prop="dealstage")
        report = run(ledger, hubspot_source(hubspot), ("deals",))
        (deals_report,) = report.objects
        assert (deals_report.fetched, deals_report.stored) == (1, 1)
        stages = [fact for _, fact in facts_by_stream(ledger)["opportunity:7003"]
                  if '"field": "dealstage"' in fact]
        assert len(stages) == 3
        assert [s for s in stages if '"value": "closedwon"' in s
                and f'"occurred_at": "{format_instant(latest)}"' in s]


def test_without_the_deals_scope_contacts_and_companies_still_sync(
        sqlite_url: str, definitions_yaml: str, hubspot: HubSpotAPI,
        with_deals: CrmData) -> None:
    hubspot.scopes.discard("crm.objects.deals.read")
    with new_ledger(sqlite_url, definitions_yaml) as ledger:
        report = run(ledger, hubspot_source(hubspot))
        assert isinstance(report.error, AuthFailed)
        assert str(report.error).startswith(
            "hubspot deals: the token may not read deals (403: This app hasn't")
        assert str(report.error).endswith("; give the private app the scope "
                                          "crm.objects.deals.read and use its new token")
        contacts, companies, deals_report = report.objects
        assert (contacts.fetched, companies.fetched, deals_report.fetched) == (
            len(with_deals.contacts), len(with_deals.companies), 0)
        assert not any(key.startswith("opportunity:") for key in facts_by_stream(ledger))
