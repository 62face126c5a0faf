"""Which subjects a change touches, and whose facts deriving them needs (SPEC §4, §7, §8).

Read from the log's own fact index (never from the views), so a catch-up of a few subjects
derives exactly what a full replay would: an account needs its members (persons and
opportunities); a person needs the opportunities it holds a role on (with the cascade);
every subject needs the ids merged with it. A change to an opportunity touches the persons
holding a role on it and the accounts it belongs to; a change to a person touches its
accounts; a merge touches both ids and, for accounts, their members. Retracted facts still
count here: the sets are a little larger than needed, never smaller.
"""

from __future__ import annotations

from collections.abc import Iterable

from lifecycle.domain.definitions import Definitions
from lifecycle.domain.facts import ACCOUNT, OPPORTUNITY, PERSON, Subject
from lifecycle.store.base import LedgerRecorder, Link

MEMBERSHIP = ("person_linked", "opportunity_linked")


def _by_type(subjects: Iterable[Subject]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for subject in subjects:
        grouped.setdefault(subject.type, []).append(subject.id)
    return grouped


def merge_partners(recorder: LedgerRecorder, subjects: set[Subject]) -> set[Subject]:
    """`subjects` and every id merged with one of them, through chains either way."""
    found = set(subjects)
    frontier = set(subjects)
    while frontier:
        new: set[Subject] = set()
        for kind, ids in _by_type(frontier).items():
            for link in recorder.links_of(["merged"], kind, ids):
                new.add(Subject(kind, link.linked_id))
        for link in recorder.links_to(["merged"], sorted({s.id for s in frontier})):
            if Subject(link.subject_type, link.linked_id) in frontier:
                new.add(Subject(link.subject_type, link.subject_id))
        frontier = new - found
        found |= frontier
    return found


def _in_merges(recorder: LedgerRecorder, subjects: set[Subject]) -> set[Subject]:
    """Those of `subjects` that a `merged` fact names, as survivor or alias."""
    found: set[Subject] = set()
    for kind, ids in _by_type(subjects).items():
        found |= {Subject(kind, link.subject_id)
                  for link in recorder.links_of(["merged"], kind, ids)}
        found |= {Subject(link.subject_type, link.linked_id)
                  for link in recorder.links_to(["merged"], ids) if link.subject_type == kind}
    return found & subjects


def _accounts_of(recorder: LedgerRecorder, members: set[Subject]) -> set[Subject]:
    found: set[Link] = set()
    for kind, ids in _by_type(m for m in members if m.type in (PERSON, OPPORTUNITY)).items():
        found |= recorder.links_of(MEMBERSHIP, kind, ids)
    return {Subject(ACCOUNT, link.linked_id) for link in found}


def _members_of(recorder: LedgerRecorder, accounts: set[Subject]) -> set[Subject]:
    ids = sorted(a.id for a in accounts if a.type == ACCOUNT)
    return {Subject(link.subject_type, link.subject_id)
            for link in (recorder.links_to(MEMBERSHIP, ids) if ids else ())}


def _role_holders(recorder: LedgerRecorder, opportunities: set[Subject]) -> set[Subject]:
    ids = sorted(o.id for o in opportunities if o.type == OPPORTUNITY)
    return {Subject(PERSON, link.linked_id)
            for link in (recorder.links_of(["contact_role"], OPPORTUNITY, ids) if ids else ())}


def _roles_held(recorder: LedgerRecorder, persons: set[Subject]) -> set[Subject]:
    ids = sorted(p.id for p in persons if p.type == PERSON)
    return {Subject(OPPORTUNITY, link.subject_id)
            for link in (recorder.links_to(["contact_role"], ids) if ids else ())}


def affected(recorder: LedgerRecorder, definitions: Definitions, changed: set[Subject]
             ) -> set[Subject]:
    """Every subject whose derived rows can change when `changed` get new facts (ids merged
    away included: their rows must go)."""
    touched = merge_partners(recorder, changed)
    merged_accounts = _in_merges(recorder, {s for s in touched if s.type == ACCOUNT})
    if merged_accounts:  # their members name the survivor (or, once unmerged, not)
        touched |= merge_partners(recorder, _members_of(recorder, merged_accounts))
    if definitions.opportunity_cascade == "contact_roles":
        touched |= merge_partners(recorder, _role_holders(recorder, touched))
    return touched | merge_partners(recorder, _accounts_of(recorder, touched))


def needed(recorder: LedgerRecorder, definitions: Definitions, targets: set[Subject]
           ) -> set[Subject]:
    """Every subject whose facts deriving `targets` takes."""
    found: set[Subject] = set()
    frontier = set(targets)
    while frontier:
        found |= frontier
        more = merge_partners(recorder, frontier) | _members_of(recorder, frontier)
        if definitions.opportunity_cascade == "contact_roles":
            more |= _roles_held(recorder, frontier)
        frontier = more - found
    return found


def entangled(recorder: LedgerRecorder) -> set[Subject]:
    """Persons whose derivation needs other subjects' facts (a rebuild keeps their facts to
    the end): those merged with another id, those holding a role on an opportunity, and
    those linked to an account id that was merged away (their membership names its
    survivor)."""
    found: set[Subject] = set()
    merged_accounts: set[str] = set()
    for link in recorder.all_links(["merged", "contact_role"]):
        if link.fact_type == "contact_role":
            found.add(Subject(PERSON, link.linked_id))
        elif link.subject_type == PERSON:
            found |= {Subject(PERSON, link.subject_id), Subject(PERSON, link.linked_id)}
        elif link.subject_type == ACCOUNT:
            merged_accounts.add(link.linked_id)
    if merged_accounts:
        found |= {Subject(PERSON, link.subject_id) for link in
                  recorder.links_to(["person_linked"], sorted(merged_accounts))}
    return found
