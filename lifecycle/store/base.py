"""What the ledger needs of an event store beyond eventsourcing's recorders.

Facts live in eventsourcing's `stored_events` table, one stream per subject. Beside it,
`fact_index` holds one row per stored event (its identity, content hash and subject) so
that a repeated fact is found without decoding the log, and a second retraction of the
same fact is refused by a unique index.

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
    #: For person_linked: the account joined, so an account's members are found in the log.
    link_account: str | None = None


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
    def insert(self, rows: Sequence[IndexRow], events: Sequence[StoredEvent]) -> None:
        """Store index rows and their events (one row per event, in the same order), and
        chain the events onto the log chain in that order."""


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
    def count_index(self) -> int:
        """How many rows the fact index holds."""

    @abstractmethod
    def linked_persons(self, accounts: Sequence[str]) -> set[str]:
        """Persons with a person_linked fact naming one of `accounts` (ever)."""

    @abstractmethod
    def linked_accounts(self, persons: Sequence[str]) -> set[str]:
        """Accounts named by a person_linked fact of one of `persons` (ever)."""

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
