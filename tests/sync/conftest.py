"""Fixtures of the sync tests: CRM records from the demo journeys, local HubSpot and
Salesforce APIs serving them, a ledger with the b2b definitions, and helpers that compare
what two stores hold fact for fact."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from lifecycle.application.importing import import_rows
from lifecycle.application.ledger import Ledger
from lifecycle.application.sync import SyncReport, SyncRequest, sync
from lifecycle.application.sync_sources import HubSpotSource, SalesforceSource
from lifecycle.connectors.hubspot import HubSpotConnector
from lifecycle.connectors.retrying import RetryPolicy
from lifecycle.connectors.salesforce import SalesforceConnector
from lifecycle.domain.definitions import load_definitions
from lifecycle.importers.hubspot import read_hubspot
from lifecycle.importers.salesforce import read_salesforce
from tests.sync.crm_data import CrmData, make_data
from tests.sync.hubspot_server import HubSpotAPI
from tests.sync.salesforce_server import SalesforceAPI

HUBSPOT_TOKEN = "pat-na1-5ecr3t00-aaaa-bbbb-cccc-0123456789ab"
SALESFORCE_TOKEN = "00D5e000000TeSt!AQ4AQFh3sEcReTtOkEn0123456789abcdefXYZ"
FAST = RetryPolicy(attempts=4, base=0.01, cap=2.0)
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request


@pytest.fixture
def crm() -> CrmData:
    return make_data()


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    http = HTTPServer(host="127.0.0.1", port=0)
    http.start()
    try:
        yield http
    finally:
        http.clear()
        if http.is_running():
            http.stop()


@pytest.fixture
def hubspot(server: HTTPServer, crm: CrmData) -> HubSpotAPI:
    return HubSpotAPI(server, crm, HUBSPOT_TOKEN)


@pytest.fixture
def salesforce(server: HTTPServer, crm: CrmData) -> SalesforceAPI:
    return SalesforceAPI(server, crm, SALESFORCE_TOKEN, page_size=50)


def new_ledger(url: str, definitions_yaml: str) -> Ledger:
    ledger = Ledger(url)
    ledger.publish(load_definitions(definitions_yaml))
    return ledger


def hubspot_source(api: HubSpotAPI, token: str = HUBSPOT_TOKEN,
                   policy: RetryPolicy = FAST) -> HubSpotSource:
    return HubSpotSource(HubSpotConnector(token, api.url, policy))


def salesforce_source(api: SalesforceAPI, token: str = SALESFORCE_TOKEN,
                      policy: RetryPolicy = FAST, bulk_threshold: int | None = None
                      ) -> SalesforceSource:
    return SalesforceSource(SalesforceConnector("https://acme.my.salesforce.com", token,
                                                api.url, policy, bulk_threshold, 0.01))


def run(ledger: Ledger, source: Any, objects: tuple[str, ...] | None = None,
        **options: Any) -> SyncReport:
    return sync(ledger, source, SyncRequest(objects or source.objects, **options))


def import_exports(ledger: Ledger, files: dict[str, Path], keys: list[str]) -> None:
    """What a user exporting by hand gets: each file imported with `lifecycle import`'s
    own code."""
    for key in keys:
        source, name = key.split(":")
        path = files[key]

        def rows(path: Path = path, source: str = source, name: str = name) -> Any:
            stream = path.open("rb")
            if source == "hubspot":
                return read_hubspot(stream, None, name)
            return read_salesforce(stream, None)

        summary = import_rows(ledger, rows)
        assert summary.rejected == 0, summary.rejections[:3]


def facts_by_stream(ledger: Ledger) -> dict[str, list[tuple[str, str]]]:
    """Every stored fact per subject, in recording order: (event id, canonical content)."""
    return {f"{subject.type}:{subject.id}": [
        (str(r.event_id), json.dumps(r.fact.canonical(), sort_keys=True)) for r in recorded]
            for subject, recorded in ledger.iter_subjects()}
