"""One subject, several ids: which ids are aliases of which survivor (SPEC §8; pure).

A `merged` fact on subject S with `merged_id` M says that M is the same subject as S. The
merges in effect at a known-at moment (recorded by then and not retracted by then) resolve
every id to its survivor, following chains (M into S, S later into R: both are aliases of
R). An id merged more than once follows its latest merge in effect, in the ledger's
recording order. The ledger refuses a merge that would make an id its own alias; a merge
that would still close a loop (a retraction can bring an older merge back into effect) is
left out, so resolution always ends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from lifecycle.domain.facts import Subject
from lifecycle.domain.recorded import RecordedFact


class Identities:
    """Alias -> survivor, as resolved at one known-at moment."""

    def __init__(self, parent: dict[Subject, Subject], merge_of: dict[Subject, RecordedFact]):
        self._parent = parent
        #: For each alias: the merge in effect that made it one.
        self.merge_of = merge_of
        self._survivor: dict[Subject, Subject] = {}

    def survivor(self, subject: Subject) -> Subject:
        """The subject `subject`'s facts derive as (itself when it is no alias)."""
        found = self._survivor.get(subject)
        if found is None:
            found = subject
            while found in self._parent:
                found = self._parent[found]
            self._survivor[subject] = found
        return found

    def survivor_id(self, subject_type: str, subject_id: str) -> str:
        """The id a second-subject reference (an account, a person) resolves to."""
        return self.survivor(Subject(subject_type, subject_id)).id

    def is_alias(self, subject: Subject) -> bool:
        return subject in self._parent

    def aliases(self) -> dict[Subject, list[Subject]]:
        """Survivor -> its aliases (chains included), ids in order."""
        grouped: dict[Subject, list[Subject]] = defaultdict(list)
        for alias in self._parent:
            grouped[self.survivor(alias)].append(alias)
        return {survivor: sorted(found) for survivor, found in grouped.items()}

    def __bool__(self) -> bool:
        return bool(self._parent)


NO_MERGES = Identities({}, {})


def merges_in_effect(facts: Iterable[RecordedFact], known_at: datetime | None = None
                     ) -> list[RecordedFact]:
    """The `merged` facts among `facts` in effect at `known_at`, in recording order."""
    known = [f for f in facts if known_at is None or f.recorded_at <= known_at]
    retracted: set[UUID] = {f.fact.target_event_id for f in known if f.type == "retracted"}
    merges = [f for f in known if f.type == "merged" and f.event_id not in retracted]
    merges.sort(key=recording_order)
    return merges


def recording_order(recorded: RecordedFact) -> tuple[datetime, int, int]:
    """The ledger's order: when recorded, then the log position (or stream version)."""
    return recorded.recorded_at, recorded.seq or 0, recorded.version


def resolve(merges: Iterable[RecordedFact]) -> Identities:
    """The identities that `merges` (in effect, in recording order) make."""
    parent: dict[Subject, Subject] = {}
    merge_of: dict[Subject, RecordedFact] = {}
    for recorded in merges:
        survivor = recorded.subject
        alias = Subject(survivor.type, recorded.fact.merged_id)
        previous = parent.pop(alias, None)
        root = survivor
        while root in parent and root != alias:
            root = parent[root]
        if root == alias:  # it would close a loop: the alias keeps what it had
            if previous is not None:
                parent[alias] = previous
            continue
        parent[alias] = survivor
        merge_of[alias] = recorded
    return Identities(parent, merge_of)


def identities_of(facts: Iterable[RecordedFact], known_at: datetime | None = None
                  ) -> Identities:
    """Identities from every fact of the subjects involved (merges and their retractions)."""
    merges = merges_in_effect(facts, known_at)
    return resolve(merges) if merges else NO_MERGES
