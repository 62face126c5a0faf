"""A view: the read models a report reads, with the definitions they were derived under."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from lifecycle.domain.definitions import Definitions
from lifecycle.store.codec import RecordedDefinitions
from projections.positions import views_version
from projections.schema import snapshot


class ViewChanged(RuntimeError):
    """The live views were swapped for views under other definitions (a backfill) after
    this view was labelled: read again from a new view."""


@dataclass
class View:
    """Read models plus the definitions they were derived under.

    `live`: the store's own views, which a backfill may swap while a report reads them.
    Every connection to them then reads one consistent snapshot, and refuses to read if
    that snapshot reflects other definitions than the ones the view is labelled with:
    a report never prints one version's label over another's numbers."""

    engine: Engine
    recorded: RecordedDefinitions
    known_at: datetime | None
    live: bool = False

    @property
    def definitions(self) -> Definitions:
        return self.recorded.definitions

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection to read the views by (reports use this, never `engine`)."""
        if not self.live:
            with self.engine.connect() as conn:
                yield conn
            return
        with snapshot(self.engine) as conn:
            try:
                version = views_version(conn)
            except ValueError:
                version = None
            if version != self.definitions.version:
                raise ViewChanged(f"the views now reflect definitions {version!r}, not "
                                  f"{self.definitions.version!r}")
            yield conn
