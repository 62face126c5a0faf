"""A view: the read models a report reads, with the definitions they were derived under."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from lifecycle.domain.definitions import Definitions
from lifecycle.store.codec import RecordedDefinitions


@dataclass
class View:
    """Read models plus the definitions they were derived under."""

    engine: Engine
    recorded: RecordedDefinitions
    known_at: datetime | None

    @property
    def definitions(self) -> Definitions:
        return self.recorded.definitions
