"""What the ledger needs of an event store beyond eventsourcing's recorders.

Facts live in eventsourcing's `stored_events` table, one stream per subject. Beside it,
`fact_index` holds one row per stored event (its identity, content hash and subject) so
that a repeated fact is found without decoding the log, and a second retraction of the
same fact is refused by a unique index. `sync_cursors` keeps, per CRM object, how far
`lifecycle sync` has read: set inside the append transaction of the facts it covers.

Appending is one unit of work under the store's write lock: look up which identities are
known, read each stream's last version, insert index rows and events, and extend the log
chain (`log_chain`, see logchain.py) over them, commit.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from lifecycle.store.logchain import ChainRow

#: Largest number of bound parameters sent in one IN (...) list.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class IndexRow:
    event_id: UUID
    content_hash: str
    subject_type: str
    subject_id: str
    fact_type: str
    retracts: UUID | None = None
    #: The second subject a fact names, so links are found without decoding the log: the
    #: account joined (person_linked, opportunity_linked), the person holding a role
    #: (contact_role), the id merged away (merged). The column keeps its first name.
    link_account: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """A fact-index row's subject and the second subject it names."""

    fact_type: str
    subject_type: str
    subject_id: str
    linked_id: str


#: Fact types whose index rows name a second subject, and its type.
LINKED_TYPES = {"person_linked": "account", "opportunity_linked": "account",
                "contact_role": "person", "merged": None}


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """A stored event with its global position in the log."""

    seq: int
    event: StoredEvent


class AppendTx(ABC):
    """Reads and writes inside one locked write transaction."""

    @abstractmethod
    def lookup(self, event_ids: Sequence[UUID]) -> dict[UUID, IndexRow]:
        """Index rows of the given identities that are stored already."""

    @abstractmethod
    def retracted(self, event_ids: Sequence[UUID]) -> dict[UUID, UUID]:
        """For stored events that are already retracted: target -> retraction id."""

    @abstractmethod
    def last_events(self, stream_ids: Sequence[UUID]) -> dict[UUID, StoredEvent]:
        """The last event of each non-empty stream."""

    @abstractmethod
    def merges_of(self, subject_type: str, alias_ids: Sequence[str]
                  ) -> list[tuple[str, str, UUID]]:
        """Stored `merged` facts that merged one of `alias_ids` away: (alias, survivor,
        event id), retracted ones included."""

    @abstractmethod
    def insert(self, rows: Sequence[IndexRow], events: Sequence[StoredEvent]) -> None:
        """Store index rows and their events (one row per event, in the same order), and
        chain the events onto the log chain in that order."""

    @abstractmethod
    def save_cursor(self, name: str, value: str) -> None:
        """Set a sync cursor (`sync_cursors`), committed with the facts it covers."""


def chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class LedgerRecorder(ABC):
    """The ledger's view of an eventsourcing application recorder."""

    #: The dialect name SQLAlchemy uses for the same database.
    dialect: str
    #: Seals each new log-chain entry when set (logchain.KEY_VARIABLE).
    chain_key: bytes | None = None

    @abstractmethod
    def append_transaction(self) -> AbstractContextManager[AppendTx]:
        """A write transaction holding the store's write lock."""

    @abstractmethod
    def select_streams(self, stream_ids: Sequence[UUID]) -> list[StreamEvent]:
        """Every event of the given streams, by stream then version."""

    @abstractmethod
    def select_all_streams(self) -> Iterator[StreamEvent]:
        """The whole log, by stream then version (for rebuilds)."""

    @abstractmethod
    def count_events(self) -> int:
        """How many events the log holds."""

    @abstractmethod
    def index_rows(self, event_ids: Sequence[UUID]) -> dict[UUID, IndexRow]:
        """Fact-index rows of the given events (read only)."""

    @abstractmethod
    def read_cursor(self, name: str) -> str | None:
        """A sync cursor's value (what a connector has stored up to), None if never set."""

    @abstractmethod
    def count_index(self) -> int:
        """How many rows the fact index holds."""

    @abstractmethod
    def links_of(self, fact_types: Sequence[str], subject_type: str,
                 subject_ids: Sequence[str]) -> set[Link]:
        """The links that facts of `fact_types` about these subjects name (ever, retracted
        ones included)."""

    @abstractmethod
    def all_links(self, fact_types: Sequence[str]) -> Iterator[Link]:
        """Every link that facts of `fact_types` name (ever, retracted ones included)."""

    @abstractmethod
    def links_to(self, fact_types: Sequence[str], linked_ids: Sequence[str]) -> set[Link]:
        """The links of facts of `fact_types` that name one of `linked_ids` as their second
        subject (ever, retracted ones included)."""

    @abstractmethod
    def has_log_chain(self) -> bool:
        """Whether the store keeps a log chain (stores made before it do not, until opened
        for writing)."""

    @abstractmethod
    def ensure_log_chain(self, event_id_of: Callable[[StoredEvent], UUID | None]) -> bool:
        """Give a store that has no log chain one, over its whole log, in one locked
        transaction; returns whether it was made. A store that has one keeps it as it is
        (its rows are evidence: never recomputed)."""

    @abstractmethod
    def select_log(self, after: int, limit: int) -> list[StreamEvent]:
        """Events after log position `after`, in log order, as stored (a stream id that is
        not a UUID any more is returned as its text)."""

    @abstractmethod
    def select_chain(self, after: int, limit: int) -> list[ChainRow]:
        """Log-chain rows after entry `after`, by entry."""

    @abstractmethod
    def check_storage(self) -> tuple[list[str], list[str]]:
        """The database's own integrity check: (problems, notes)."""

    @abstractmethod
    def log_bounds(self) -> tuple[int, int]:
        """The log's last position and the chain's last entry, read at one moment (appends
        add to both in one transaction), so a walk over both agrees while others append."""

    def iter_log(self, upto: int | None = None, page: int = 5_000) -> Iterator[StreamEvent]:
        """The log in log order, up to position `upto`, a page at a time."""
        after = 0
        while rows := self.select_log(after, page):
            for row in rows:
                if upto is not None and row.seq > upto:
                    return
                yield row
            after = rows[-1].seq

    def iter_chain(self, upto: int | None = None, page: int = 5_000) -> Iterator[ChainRow]:
        """The log chain by entry, up to entry `upto`, a page at a time."""
        after = 0
        while rows := self.select_chain(after, page):
            for row in rows:
                if upto is not None and row.entry > upto:
                    return
                yield row
            after = rows[-1].entry

    def notifications_after(self, position: int, limit: int) -> Sequence[Notification]:
        """Events after `position` in log order (gaps tolerated)."""
        return self.select_notifications(  # type: ignore[attr-defined]
            position + 1, limit)

    def last_position(self) -> int:
        return self.max_notification_id() or 0  # type: ignore[attr-defined]
