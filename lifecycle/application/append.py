"""The ledger's write rules for a batch of candidate facts: identity and duplicates, stream
versions, the hash chain, and which retractions are allowed."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from lifecycle.domain.candidates import Candidate, Rejection
from lifecycle.domain.facts import FactModel, FactRetracted, Subject
from lifecycle.domain.recorded import RecordedFact
from lifecycle.domain.timeutil import format_instant, utc_now
from lifecycle.store import AppendTx, IndexRow
from lifecycle.store.codec import LedgerMapper
from lifecycle.store.integrity import GENESIS, chain_hash


@dataclass
class AppendResult:
    stored: list[RecordedFact] = field(default_factory=list)
    duplicates: list[Candidate] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def add(self, other: AppendResult) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.rejected += other.rejected


class Seen(dict[UUID, Candidate]):
    """What earlier batches of one transaction stored, by event id, and the merges among
    them (alias, survivor) by subject type, kept as they are stored."""

    def __init__(self, stored: dict[UUID, Candidate] | None = None):
        super().__init__(stored or {})
        self.merges: dict[str, list[tuple[str, str]]] = {}
        for candidate in self.values():
            fact = candidate.fact
            if fact.type == "merged":
                self.merges.setdefault(fact.subject.type, []).append(
                    (str(fact.merged_id), fact.subject.id))


class _Rejected(Exception):
    def __init__(self, field: str | None, reason: str):
        self.field, self.reason = field, reason



def append_batch(tx: AppendTx, mapper: LedgerMapper, candidates: list[Candidate],
                 seen: dict[UUID, Candidate] | None = None) -> AppendResult:
    """Store a batch inside `tx`: new facts get the next version of their stream and the
    next link of its hash chain; repeats are counted; conflicting content and impossible
    retractions are rejected with the reason. `seen`: what earlier batches of the same
    transaction stored."""
    result = AppendResult()
    seen = Seen() if seen is None else seen
    known = tx.lookup([c.event_id for c in candidates])
    targets = [c.fact.target_event_id for c in candidates
               if isinstance(c.fact, FactRetracted)]
    target_rows = tx.lookup(targets) if targets else {}
    already = tx.retracted(targets) if targets else {}
    subjects = [c.fact.subject for c in candidates]
    last = tx.last_events(list({subject.stream_id for subject in subjects}))
    versions = {stream: event.originator_version for stream, event in last.items()}
    chains = {stream: mapper.chain_of(event) for stream, event in last.items()}
    now = utc_now()
    stamp = format_instant(now)
    rows: list[IndexRow] = []
    events: list[StoredEvent] = []
    # The merges stored earlier in this transaction, by subject type: what `_check_merge`
    # follows besides the stored ones (kept as they come, not searched for in `seen`).
    pending = seen.merges if isinstance(seen, Seen) else Seen(seen).merges
    for candidate, subject in zip(candidates, subjects, strict=True):
        event_id = candidate.event_id
        previous = known.get(event_id) or seen.get(event_id)
        if previous is not None:
            if previous.content_hash == candidate.content_hash:
                result.duplicates.append(candidate)
            else:
                result.rejected.append(Rejection(
                    candidate.line, "source_id",
                    "a fact with this source and source_id is already recorded with "
                    "other content", candidate.raw))
            continue
        try:
            retracts = _check_retraction(candidate, target_rows, already, seen)
            _check_merge(tx, candidate, pending)
        except _Rejected as bad:
            result.rejected.append(Rejection(candidate.line, bad.field, bad.reason,
                                             candidate.raw))
            continue
        fact = candidate.fact
        stream = subject.stream_id
        version = versions.get(stream, 0) + 1
        versions[stream] = version
        chain = chains[stream] = chain_hash(chains.get(stream, GENESIS), event_id, stamp,
                                            candidate.canonical_json)
        recorded = RecordedFact(fact, event_id, now, version, chain=chain)
        kind = fact.type
        link = second_subject(fact)
        rows.append(IndexRow(event_id, candidate.content_hash, subject.type, subject.id,
                             kind, retracts, link))
        events.append(mapper.fact_to_stored(recorded, candidate.canonical_json, stamp))
        seen[event_id] = candidate
        if kind == "merged":
            pending.setdefault(subject.type, []).append((str(fact.merged_id), subject.id))
        if retracts is not None:
            already[retracts] = event_id
        result.stored.append(recorded)
    if rows:
        tx.insert(rows, events)
    return result


def _check_retraction(candidate: Candidate, target_rows: dict[UUID, IndexRow],
                      already: dict[UUID, UUID], seen: dict[UUID, Candidate]
                      ) -> UUID | None:
    fact = candidate.fact
    if not isinstance(fact, FactRetracted):
        return None
    target = fact.target_event_id
    row = target_rows.get(target)
    if row is not None:
        kind, subject = row.fact_type, Subject(row.subject_type, row.subject_id)
    elif target in seen:
        kind, subject = seen[target].fact.type, seen[target].fact.subject
    else:
        raise _Rejected("target_event_id", f"no fact {target} is recorded")
    if kind == "retracted":
        raise _Rejected("target_event_id", "a retraction cannot be retracted")
    if kind == "definitions_published":
        raise _Rejected("target_event_id", "published definitions cannot be retracted")
    if target in already:
        raise _Rejected("target_event_id",
                        f"fact {target} is already retracted (by {already[target]})")
    if subject != fact.subject:
        raise _Rejected(
            f"{fact.subject.type}_id",
            f"fact {target} is about {subject.type} {subject.id!r}, "
            f"not {fact.subject.type} {fact.subject.id!r}")
    return target


def second_subject(fact: FactModel) -> str | None:
    """The id of the second subject a fact names, kept in the fact index (SPEC §2)."""
    if fact.type in ("person_linked", "opportunity_linked"):
        return fact.account_id
    if fact.type == "contact_role":
        return fact.person_id
    if fact.type == "merged":
        return str(fact.merged_id)
    return None


def _check_merge(tx: AppendTx, candidate: Candidate,
                 merges: dict[str, list[tuple[str, str]]]) -> None:
    """Refuse a merge that would make an id its own alias (SPEC §8): one whose survivor is,
    through the merges in effect (stored, and earlier in this transaction: `merges`, alias
    and survivor by subject type), an alias of the id merged away."""
    fact = candidate.fact
    if fact.type != "merged":
        return
    kind, alias = fact.subject.type, str(fact.merged_id)
    pending = merges.get(kind, [])
    reached, frontier = {fact.subject.id}, [fact.subject.id]
    while frontier:
        stored = tx.merges_of(kind, frontier)
        retracted = tx.retracted([event_id for _, _, event_id in stored]) if stored else {}
        edges = [(a, s) for a, s, event_id in stored if event_id not in retracted]
        edges += [(a, s) for a, s in pending if a in frontier]
        frontier = sorted({s for a, s in edges if a in frontier} - reached)
        if alias in frontier:
            raise _Rejected("merged_id", f"{kind} {fact.subject.id!r} is already merged "
                            f"into {alias!r} (directly or through a chain): merging {alias!r} "
                            "into it would make it its own alias")
        reached.update(frontier)
