"""The log chain: every event the log holds (facts and published definitions alike) linked
in the log's global order, so that deleting, inserting, reordering or editing any entry but
the newest shows, and the newest can be anchored outside the store (the log's *head*).

Entry n links sha256(link n-1, n, event id, stream, version, topic, stored bytes). With a
key (`LIFECYCLE_CHAIN_KEY`) each entry is also *sealed*: HMAC-SHA256(key, n, link), which
someone without the key cannot recompute. `walk` checks a log against its chain; it is pure
(plain iterables in, findings out), so it is tested without a database.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.persistence import StoredEvent

#: The link before the first entry.
GENESIS = "0" * 64
#: The environment variable holding the sealing key (any text; 32 random bytes in hex do).
KEY_VARIABLE = "LIFECYCLE_CHAIN_KEY"
_NO_ID = bytes(16)


def key_from_environment() -> bytes | None:
    """The sealing key, if one is set."""
    key = os.environ.get(KEY_VARIABLE, "")
    return key.encode() if key else None


def link(previous: str, entry: int, event_id: UUID, event: StoredEvent) -> str:
    """The link of log entry `entry`: what it stores, chained to the entry before."""
    stream = event.originator_id
    head = (f"{previous}\n{entry}\n{event_id.hex}\n"
            f"{stream.hex if isinstance(stream, UUID) else _stream_text(stream)}\n"
            f"{event.originator_version}\n{event.topic}\n")
    return hashlib.sha256(head.encode() + bytes(event.state)).hexdigest()


def _stream_text(stream: object) -> str:
    try:
        return UUID(str(stream)).hex
    except ValueError:
        return str(stream)  # not a UUID any more: hashed as it is (and so differs)


def seal(key: bytes, entry: int, link_hash: str) -> str:
    return hmac.new(key, f"{entry}\n{link_hash}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainRow:
    """One entry of the chain as stored beside the log."""

    entry: int
    event_id: UUID
    hash: str
    seal: str | None = None


def format_head(entry: int, link_hash: str) -> str:
    return f"{entry}:{link_hash}"


def parse_head(text: str) -> tuple[int, str]:
    """`ENTRIES:HASH`, as `lifecycle verify` prints it; ValueError if it is not one."""
    count, _, link_hash = text.strip().partition(":")
    link_hash = link_hash.lower()
    if not count.isdigit() or len(link_hash) != 64 or any(
            c not in "0123456789abcdef" for c in link_hash):
        raise ValueError(f"{text!r} is not a log head (ENTRIES:HASH, as `lifecycle verify` "
                         "prints it)")
    return int(count), link_hash


class ChainTail:
    """The newest entry of the chain inside one write transaction, extended as events are
    inserted. `read_head` is asked once, under the write lock."""

    def __init__(self, read_head: Callable[[], tuple[int, str] | None], key: bytes | None):
        self._read_head = read_head
        self._head: tuple[int, str] | None = None
        self.key = key

    def extend(self, event_ids: Sequence[UUID], events: Sequence[StoredEvent]
               ) -> list[ChainRow]:
        """The chain rows of `events` (whose ids are `event_ids`), appended in order."""
        if len(event_ids) != len(events):
            raise ValueError("every event needs its id to be chained")
        if self._head is None:
            self._head = self._read_head() or (0, GENESIS)
        entry, previous = self._head
        rows = []
        for event_id, event in zip(event_ids, events, strict=True):
            entry += 1
            previous = link(previous, entry, event_id, event)
            rows.append(ChainRow(entry, event_id, previous,
                                 seal(self.key, entry, previous) if self.key else None))
        self._head = (entry, previous)
        return rows


def chain_all(events: Iterable[tuple[UUID, StoredEvent]]) -> Iterable[ChainRow]:
    """The chain of a whole log that has none yet (a store made before the chain), unsealed:
    the ledger cannot vouch for entries it did not store itself."""
    previous = GENESIS
    for entry, (event_id, event) in enumerate(events, start=1):
        previous = link(previous, entry, event_id, event)
        yield ChainRow(entry, event_id, previous)


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event as the log holds it, in log order: its position and, if it can be read,
    its id."""

    seq: int
    event_id: UUID | None
    event: StoredEvent


@dataclass
class ChainFindings:
    """What `walk` found. Problems name entries by event id; `head` is the newest entry
    of the chain as stored (what a user anchors)."""

    head: tuple[int, str] = (0, GENESIS)
    events: int = 0
    problems: list[str] = field(default_factory=list)
    sealed: tuple[int, int] | None = None  # first and last sealed entry
    #: The stored link of the entry an --expect-head names, once seen.
    expected_seen: str | None = None


Describe = Callable[[LoggedEvent], str]


def walk(events: Iterable[LoggedEvent], rows: Iterable[ChainRow], describe: Describe,
         key: bytes | None = None, expect_entry: int | None = None, max_listed: int = 50
         ) -> tuple[ChainFindings, list[ChainRow]]:
    """Check the log (`events`, in log order) against its chain (`rows`, by entry).

    Each entry's link must match its event (else the event, or its link, was edited);
    entry numbers run 1, 2, 3... (else entries were deleted with their events); every event
    has an entry (else it was stored behind the ledger's back) and every entry an event
    (else the event was deleted); the log's order is the chain's (else it was reordered).
    With `key`, every sealed entry's seal must match, and no entry after a sealed one may
    be unsealed.

    Returns the findings, and the chain rows whose events are missing from the log (the
    caller may describe them better from the fact index) with a problem already listed
    for each.
    """
    found = ChainFindings()

    def flag(message: str) -> None:
        if len(found.problems) < max_listed:
            found.problems.append(message)

    def where(event: LoggedEvent, entry: int | None = None) -> str:
        place = f"log entry {entry}, " if entry is not None else ""
        return f"{describe(event)} ({place}log position {event.seq})"

    waiting_events: dict[UUID, tuple[int, LoggedEvent]] = {}
    waiting_rows: dict[UUID, tuple[ChainRow, str | None]] = {}
    entries = array("q")  # the entry matched to each event, by log order (0: none)
    ids = bytearray()  # each event's id, by log order (to name reordered ones)
    previous_row: ChainRow | None = None

    def match(index: int, event: LoggedEvent, row: ChainRow, previous: str | None) -> None:
        entries[index] = row.entry
        if previous is not None and link(previous, row.entry, row.event_id,
                                         event.event) != row.hash:
            flag(f"{where(event, row.entry)}: does not match its link in the log chain: "
                 "it was edited after it was stored (or its link was)")

    def next_row(row: ChainRow) -> str | None:
        """Check the entry's place and seal; returns the link before it, when known."""
        nonlocal previous_row
        expected = previous_row.entry + 1 if previous_row else 1
        before: str | None = None
        if row.entry != expected:
            after = f"event {previous_row.event_id} (entry {previous_row.entry})" \
                if previous_row else "the start of the log"
            missing = f"log entry {expected}" if row.entry == expected + 1 else \
                f"log entries {expected}-{row.entry - 1}"
            flag(f"{missing} and {'its event' if row.entry == expected + 1 else 'their events'}"
                 f" are missing: deleted behind the ledger's back, between {after} and "
                 f"event {row.event_id} (entry {row.entry})")
        else:
            before = previous_row.hash if previous_row else GENESIS
        if row.entry == expect_entry:
            found.expected_seen = row.hash
        _check_seal(row, key, found, flag)
        previous_row = row
        found.head = (row.entry, row.hash)
        return before

    event_iter, row_iter = iter(events), iter(rows)
    while True:
        event = next(event_iter, None)
        row = next(row_iter, None)
        if event is None and row is None:
            break
        before = next_row(row) if row is not None else None
        index = -1
        if event is not None:
            index = found.events
            found.events += 1
            entries.append(0)
            ids += event.event_id.bytes if event.event_id else _NO_ID
        if event is not None and row is not None and (
                event.event_id == row.event_id or event.event_id is None):
            match(index, event, row, before)  # in step (an unreadable event: its entry)
            continue
        if event is not None and event.event_id is None:
            flag(f"{where(event)} cannot be read and is not in the log chain")
        elif event is not None and event.event_id is not None:
            waiting = waiting_rows.pop(event.event_id, None)
            if waiting is not None:
                match(index, event, *waiting)
            else:
                waiting_events[event.event_id] = (index, event)
        if row is not None:
            paired = waiting_events.pop(row.event_id, None)
            if paired is not None:
                match(paired[0], paired[1], row, before)
            else:
                waiting_rows[row.event_id] = (row, before)
    for _, event in sorted(waiting_events.values(), key=lambda pair: pair[0]):
        flag(f"{where(event)} is not in the log chain: it was stored behind the ledger's "
             "back")
    _flag_reordered(entries, ids, flag)
    return found, sorted((row for row, _ in waiting_rows.values()), key=lambda r: r.entry)


def _check_seal(row: ChainRow, key: bytes | None, found: ChainFindings,
                flag: Callable[[str], None]) -> None:
    """Count sealed entries; with the key, check each seal, and that none is missing after
    the first."""
    if row.seal is None:
        if key is not None and found.sealed is not None:
            flag(f"event {row.event_id} (log entry {row.entry}) is not sealed, though entry "
                 f"{found.sealed[0]} before it is: written without the key, or its seal was "
                 "removed")
        return
    if key is not None and not hmac.compare_digest(row.seal, seal(key, row.entry, row.hash)):
        flag(f"event {row.event_id} (log entry {row.entry}): its seal does not match "
             f"{KEY_VARIABLE}: the entry was forged or rewritten (or the key is not the one "
             "it was sealed with)")
    first = found.sealed[0] if found.sealed else row.entry
    found.sealed = (first, row.entry)


def _flag_reordered(entries: array, ids: bytearray, flag: Callable[[str], None]) -> None:
    """Events whose entries do not rise with their place in the log were moved."""
    highest, holder = 0, -1
    for index, entry in enumerate(entries):
        if not entry:
            continue
        if entry < highest:
            moved = UUID(bytes=bytes(ids[16 * index:16 * index + 16]))
            before = UUID(bytes=bytes(ids[16 * holder:16 * holder + 16]))
            flag(f"event {moved} (log entry {entry}) comes after event {before} (log entry "
                 f"{highest}) in the log: the log was reordered")
        else:
            highest, holder = entry, index
