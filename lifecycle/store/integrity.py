"""Tamper evidence, checked: every stored fact carries a hash chained to the previous fact of
its stream, the fact index agrees with the events, and the log chain (logchain.py) links
every event, facts and definitions alike, in the log's global order.

`check_log` walks the log stream by stream; `check_chain` walks it in log order against its
chain. Both name what they find by event id, and neither writes anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import TYPE_CHECKING, Any
from uuid import UUID

from lifecycle.domain.progress import FACTS, SILENT, Progress
from lifecycle.domain.recorded import RecordedFact, StoredFact
from lifecycle.domain.timeutil import format_instant
from lifecycle.store.codec import DEFINITIONS_SUBJECT_TYPE
from lifecycle.store.logchain import GENESIS as GENESIS_LINK
from lifecycle.store.logchain import (
    KEY_VARIABLE,
    ChainRow,
    LoggedEvent,
    chain_all,
    format_head,
    walk,
)

if TYPE_CHECKING:
    from lifecycle.store import StreamEvent
    from lifecycle.store.eventlog import EventLog

#: The chain value before a stream's first fact.
GENESIS = ""

#: What the fact index must say of an event: content hash, subject type and id, fact type,
#: the fact it retracts, the account it links to (`_ANY`: not checked).
Expected = tuple[str, str, str, str, UUID | None, str | None]
_ANY = "\x00any"


def chain_hash(previous: str, event_id: UUID, recorded_at: str, canonical_json: str) -> str:
    """sha256 over the previous link, the fact's identity, when it was stored and what it
    says."""
    body = "\n".join((previous, str(event_id), recorded_at, canonical_json))
    return hashlib.sha256(body.encode()).hexdigest()


def check_log(log: EventLog, max_listed: int = 50, progress: Progress = SILENT
              ) -> tuple[int, int, list[str]]:
    """Read the whole log back: every event decodes, each stream's versions run 1, 2, 3…,
    every chain hash matches, the fact index agrees with the events (content, subject,
    type, what a retraction retracts, the account a link names), and no fact is retracted
    twice.

    Returns (events, streams, problems); each problem names the fact and what is wrong.
    """
    problems: list[str] = []
    events = streams = checked = 0
    indexed: list[tuple[int, UUID, str, Expected]] = []
    retracted_by: dict[UUID, UUID] = {}
    progress.phase("checking the log", log.recorder.count_events(), FACTS)

    def flag(message: str) -> None:
        if len(problems) < max_listed:
            problems.append(message)

    for stream_id, group in groupby(log.recorder.select_all_streams(),
                                    key=lambda e: e.event.originator_id):
        streams += 1
        previous = GENESIS
        expected_version = 1
        for item in group:
            events += 1
            event = item.event
            where = f"event at log position {item.seq} (stream {stream_id}, " \
                    f"version {event.originator_version})"
            if event.originator_version != expected_version:
                flag(f"{where}: expected version {expected_version}: a fact before it was "
                     "deleted or the stream was reordered")
            expected_version = event.originator_version + 1
            if log.mapper.is_definitions(event):
                _definitions_entry(log, item, where, indexed, flag)
                continue
            try:
                fact = log.mapper.to_fact(event, item.seq)
                if isinstance(fact.fact, StoredFact):
                    fact.fact.validated()  # stored content must still be a valid fact
                canonical = log.mapper.canonical_of(event)
            except Exception as exc:  # any damage to stored bytes is a finding, not a crash
                flag(f"{where}: cannot be read back ({type(exc).__name__}: {exc})")
                previous = ""
                continue
            where = f"fact {fact.event_id} ({fact.subject.type} {fact.subject.id!r}, " \
                    f"log position {item.seq})"
            if fact.subject.stream_id != stream_id:
                flag(f"{where}: stored in another subject's stream")
            expected = chain_hash(previous, fact.event_id, format_instant(fact.recorded_at),
                                  canonical)
            if fact.chain != expected:
                flag(f"{where}: chain hash does not match: the fact or one before it in its "
                     "stream was edited, deleted or reordered")
            previous = fact.chain
            indexed.append((item.seq, fact.event_id, where, _expected(fact, canonical)))
            _note_retraction(fact, retracted_by, where, flag)
            if len(indexed) >= 2_000:
                _check_index(log, indexed, flag)
                progress.advance(events - checked)
                checked, indexed = events, []
    _check_index(log, indexed, flag)
    progress.advance(events - checked)
    index_count = log.recorder.count_index()
    if index_count != events:
        flag(f"fact index holds {index_count} rows for {events} stored events: events were "
             "deleted or inserted behind the ledger's back")
    return events, streams, problems


def _expected(fact: RecordedFact, canonical: str) -> Expected:
    """Only retractions retract; a person_linked fact's link is the account it names (other
    facts' links are not checked: later fact types may keep one)."""
    body: Any = fact.fact
    retracts = getattr(body, "target_event_id", None) if fact.type == "retracted" else None
    link = getattr(body, "account_id", None) if fact.type == "person_linked" else _ANY
    return (hashlib.sha256(canonical.encode()).hexdigest(), fact.subject.type,
            fact.subject.id, fact.type, retracts, link)


def _definitions_entry(log: EventLog, item: StreamEvent, where: str,
                       indexed: list[tuple[int, UUID, str, Expected]],
                       flag: Callable[[str], None]) -> None:
    """A published definitions document must read back as what was published: its hash,
    taken the way `publish` took it (canonical JSON of the document as stored, so a later
    release's model cannot make an old document look changed)."""
    try:
        event_id, document = log.mapper.document_of(item.event)
        version = str(document["version"])
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    except Exception as exc:
        flag(f"{where}: published definitions cannot be read back ({type(exc).__name__}: "
             f"{str(exc).splitlines()[0] if str(exc) else ''})")
        return
    indexed.append((item.seq, event_id,
                    f"definitions {version!r} (event {event_id}, log position {item.seq})",
                    (hashlib.sha256(canonical.encode()).hexdigest(), DEFINITIONS_SUBJECT_TYPE,
                     version, "definitions_published", None, None)))


def _note_retraction(fact: RecordedFact, retracted_by: dict[UUID, UUID], where: str,
                     flag: Callable[[str], None]) -> None:
    if fact.type != "retracted":
        return
    target = getattr(fact.fact, "target_event_id", None)
    if not isinstance(target, UUID):
        return
    earlier = retracted_by.setdefault(target, fact.event_id)
    if earlier != fact.event_id:
        flag(f"{where}: retracts fact {target}, which fact {earlier} retracted already: "
             "the fact index's record of a retraction was cleared, or a retraction was "
             "stored behind the ledger's back")


def _check_index(log: EventLog, items: list[tuple[int, UUID, str, Expected]],
                 flag: Callable[[str], None]) -> None:
    if not items:
        return
    rows = log.recorder.index_rows([event_id for _, event_id, _, _ in items])
    for seq, event_id, where, expected in items:
        row = rows.get(event_id)
        if row is None:
            flag(f"fact {event_id} (log position {seq}) is not in the fact index")
            continue
        content, subject_type, subject_id, fact_type, retracts, link = expected
        if row.content_hash != content or (row.subject_type, row.subject_id) != (
                subject_type, subject_id) or row.fact_type != fact_type:
            what = where if fact_type == "definitions_published" else \
                f"fact {event_id} (log position {seq})"
            flag(f"{what} differs from what was recorded (content or subject changed)")
        if row.retracts != retracts:
            flag(f"{where}: the fact index records it as retracting "
                 f"{row.retracts or 'nothing'}, not {retracts or 'nothing'}: its record was "
                 "changed behind the ledger's back"
                 + (f" (fact {retracts} could be retracted again)" if retracts else ""))
        if link is not _ANY and row.link_account != link:
            flag(f"{where}: the fact index records it as linking to account "
                 f"{row.link_account!r}, not {link!r}: its record was changed behind the "
                 "ledger's back")


@dataclass
class ChainReport:
    """The log checked in log order against its chain."""

    head: str = format_head(0, GENESIS_LINK)
    entries: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_chain(log: EventLog, key: bytes | None = None,
                expect_head: tuple[int, str] | None = None) -> ChainReport:
    """Walk the log in log order against its chain (logchain.walk); the head; the expected
    head, if given; the seals, with the key. A store made before the chain and opened
    read-only since has none: its head is computed from the log as it stands."""
    report = ChainReport()
    chained = log.recorder.has_log_chain()
    last, entries = log.recorder.log_bounds() if chained else (log.position(), 0)

    def logged() -> Iterator[LoggedEvent]:
        return (LoggedEvent(item.seq, log.mapper.event_id_of(item.event), item.event)
                for item in log.recorder.iter_log(last))

    rows: Iterable[ChainRow] = log.recorder.iter_chain(entries)
    if not chained:
        report.notes.append("this store has no log chain yet (it was made by an earlier "
                            "release and only opened read-only since): the head below is "
                            "computed from the log as it stands, and checks nothing")
        rows = chain_all((e.event_id or UUID(int=0), e.event) for e in logged())
    found, deleted = walk(logged(), rows, _describer(log), key,
                          expect_head[0] if expect_head else None)
    report.head, report.entries = format_head(*found.head), found.head[0]
    report.problems = found.problems + _deleted(log, deleted)
    if expect_head is not None:
        _against(expect_head, found.head[0], found.expected_seen, report)
    if chained:
        _seals(key, found.sealed, found.head[0], report)
    return report


def _describer(log: EventLog) -> Callable[[LoggedEvent], str]:
    def describe(item: LoggedEvent) -> str:
        if item.event_id is None:
            return "an unreadable event"
        if log.mapper.is_definitions(item.event):
            try:
                version = log.mapper.to_definitions(item.event).definitions.version
            except Exception:
                return f"published definitions, event {item.event_id}"
            return f"definitions {version!r}, event {item.event_id}"
        return f"fact {item.event_id}"
    return describe


def _deleted(log: EventLog, rows: list[ChainRow]) -> list[str]:
    """The entries whose events are gone, described from the fact index if it has them."""
    index = log.recorder.index_rows([row.event_id for row in rows]) if rows else {}
    problems = []
    for row in rows:
        known = index.get(row.event_id)
        what = (f"fact {row.event_id} ({known.subject_type} {known.subject_id!r}, "
                f"{known.fact_type}; log entry {row.entry})" if known else
                f"event {row.event_id} (log entry {row.entry}; its fact-index row is gone "
                "too)")
        problems.append(f"{what} is in the log chain but not in the log: it was deleted "
                        "behind the ledger's back")
    return problems


def _against(expect: tuple[int, str], entries: int, seen: str | None,
             report: ChainReport) -> None:
    entry, expected = expect
    if entry == 0:
        seen = GENESIS_LINK  # the empty log: every log holds it
    if entries < entry:
        report.problems.append(
            f"the log chain ends at entry {entries}, before the expected head's entry "
            f"{entry}: entries {entries + 1}-{entry} were removed from the end of the log "
            "(or the head is another store's)")
    elif seen != expected:
        report.problems.append(
            f"log entry {entry}'s link is {seen}, not the expected head's {expected}: the "
            f"log up to entry {entry} was rewritten (or the head is another store's)")
    else:
        after = entries - entry
        report.notes.append(f"the log still holds the expected head (entry {entry}), and "
                            f"{after} {'entry' if after == 1 else 'entries'} after it")


def _seals(key: bytes | None, sealed: tuple[int, int] | None, entries: int,
           report: ChainReport) -> None:
    if key is None:
        if sealed is not None:
            report.notes.append(f"log entries {sealed[0]}-{sealed[1]} are sealed: set "
                                f"{KEY_VARIABLE} to check their seals")
        return
    if sealed is None:
        if entries:
            report.problems.append(
                f"{KEY_VARIABLE} is set but no entry of the log is sealed: its seals were "
                "removed, or no entry was stored with the key set")
        return
    before = f"; entries 1-{sealed[0] - 1} were stored before the key was set" \
        if sealed[0] > 1 else ""
    report.notes.append(f"log entries {sealed[0]}-{sealed[1]} sealed with {KEY_VARIABLE}, "
                        f"seals checked{before}")
