"""What every connector hands the application: pages of raw records, each with the cursor
that is true once the page is stored; and the errors a sync can end with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Page:
    """Raw records as the CRM returned them, in the order to store them.

    `cursor`: the object's cursor once every record of this page (and of the pages before)
    is stored; None where it cannot move yet (a full listing moves it on its last page).
    `header`: the column names, for records that are rows of cells (Salesforce)."""

    records: list[Any]
    cursor: str | None = None
    header: list[str] | None = None
    #: Records the CRM named but could not return (deleted since it was searched).
    missing: int = 0
    #: How many records the whole listing holds, where the CRM says (Salesforce's
    #: `totalSize`); None where it does not (HubSpot's pages name only the next one).
    total: int | None = None


@dataclass
class SyncError(Exception):
    """Why a sync of one object stopped: what happened and what to do about it."""

    source: str
    object: str
    reason: str
    todo: str = ""
    status: int | None = field(default=None, compare=False)

    #: Worth another round later (`--every`): a limit, an outage. Not an auth failure.
    transient = False

    def __str__(self) -> str:
        text = f"{self.source} {self.object}: {self.reason}"
        return f"{text}; {self.todo}" if self.todo else text


class AuthFailed(SyncError):
    """401 or 403: the token is wrong, expired or lacks a scope. Stops every round."""


class LimitReached(SyncError):
    """A daily API limit: the next round (after the limit resets) can go on."""

    transient = True


class Unavailable(SyncError):
    """The CRM kept failing (5xx, 429, network) after every retry."""

    transient = True


class Stopped(Exception):
    """A stop was asked for (SIGTERM) while waiting to retry."""
