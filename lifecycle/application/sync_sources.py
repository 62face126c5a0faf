"""The CRMs `lifecycle sync` reads: each connector's pages turned into the file importers'
rows by the importers' own per-record conversion, so a sync and a file import of the same
records give the same facts (same `source`/`source_id`, same content)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from lifecycle.connectors.base import Page
from lifecycle.connectors.hubspot import OBJECTS as HUBSPOT_OBJECTS
from lifecycle.connectors.hubspot import HubSpotConnector
from lifecycle.connectors.salesforce import OBJECTS as SALESFORCE_OBJECTS
from lifecycle.connectors.salesforce import SalesforceConnector
from lifecycle.domain.definitions import Definitions
from lifecycle.importers import hubspot as hubspot_importer
from lifecycle.importers import salesforce as salesforce_importer
from lifecycle.importers.canonical import Row
from lifecycle.importers.hubspot_records import Record
from lifecycle.importers.records import CsvRecord


class Source(Protocol):
    """A CRM as the sync loop sees it."""

    name: str
    objects: tuple[str, ...]

    def prepare(self, definitions: Definitions) -> None:
        """Work out what to ask for from the active definitions (before any page)."""

    def pages(self, object_name: str, since: datetime | None, started: datetime
              ) -> Iterator[Page]:
        """The object's pages from `since` on (None: everything)."""

    def rows(self, object_name: str, page: Page, first: int) -> Iterator[Row]:
        """The page's facts; records numbered from `first` (for rejections)."""


@dataclass
class HubSpotSource:
    connector: HubSpotConnector
    #: Properties read with history beyond those the definitions map (`--property`).
    extra: tuple[str, ...] = ()
    name: str = "hubspot"
    objects: tuple[str, ...] = tuple(HUBSPOT_OBJECTS)
    properties: list[str] = field(default_factory=list)

    def prepare(self, definitions: Definitions) -> None:
        names = [*definitions.map.status, *self.extra]
        self.properties = list(dict.fromkeys(name.strip() for name in names if name.strip()))

    def pages(self, object_name: str, since: datetime | None, started: datetime
              ) -> Iterator[Page]:
        return self.connector.pages(object_name, self.properties, since, started)

    def rows(self, object_name: str, page: Page, first: int) -> Iterator[Row]:
        for number, obj in enumerate(page.records, start=first):
            record = Record(number, obj, None, in_document=True)
            yield from hubspot_importer.object_rows(record, object_name, None)


@dataclass
class SalesforceSource:
    connector: SalesforceConnector
    name: str = "salesforce"
    objects: tuple[str, ...] = tuple(SALESFORCE_OBJECTS)

    def prepare(self, definitions: Definitions) -> None:
        """Every history row is read, mapped or not, as a file import reads them."""

    def pages(self, object_name: str, since: datetime | None, started: datetime
              ) -> Iterator[Page]:
        return self.connector.pages(object_name, since)

    def rows(self, object_name: str, page: Page, first: int) -> Iterator[Row]:
        if not page.records:
            return iter(())
        header = CsvRecord(first - 1, list(page.header or []))
        records = [header, *(CsvRecord(number, cells)
                             for number, cells in enumerate(page.records, start=first))]
        return salesforce_importer.record_rows(iter(records), None)
