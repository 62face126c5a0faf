"""SPEC §8, one rule per test: merged identities resolve before anything derives."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lifecycle.domain.facts import FactInputError
from lifecycle.domain.identity import identities_of

from .helpers import (
    REC0,
    A,
    Log,
    O,
    P,
    day,
    hand,
    link,
    merge,
    moves,
    opp_link,
    pipeline,
    replay,
    role,
    stage,
    stamps,
    status,
    timed_moves,
)


def converted_lead() -> Log:
    """Lead L1 (MQL in January) converted into contact C1, who becomes a customer."""
    log = Log()
    log.many(status(P("L1"), "lead", day(1)), hand("L1", day(5)),
             status(P("C1"), "salesqualifiedlead", day(20)),
             merge(P("C1"), "L1", day(20), source="salesforce"),
             status(P("C1"), "customer", day(60)))
    return log


def test_an_aliass_facts_derive_as_the_survivors_and_the_alias_is_no_subject():
    histories = replay(converted_lead(), pipeline())
    assert P("L1") not in histories
    history = histories[P("C1")]
    assert timed_moves(history) == [
        (day(1), None, "verified", "entry"), (day(5), "verified", "mql", "forward"),
        (day(20), "mql", "sql", "forward"), (day(60), "sql", "customer", "forward")]
    assert stamps(history)["mql"] == (day(5), day(5), 1, False)  # the lead's MQL counts


def test_an_alias_counts_for_its_survivor_at_every_as_of_moment():
    history = replay(converted_lead(), pipeline())[P("C1")]
    assert history.stage_at(day(2)) == "verified"  # before the merge's occurred_at too


def test_chains_resolve_to_the_last_survivor():
    log = Log()
    log.many(status(P("x"), "lead", day(1)), merge(P("y"), "x", day(2)),
             merge(P("z"), "y", day(3)), status(P("z"), "customer", day(4)))
    histories = replay(log, pipeline())
    assert {s for s in histories if s.type == "person"} == {P("z")}
    assert moves(histories[P("z")]) == [(None, "verified", "entry"),
                                        ("verified", "customer", "forward")]


def test_an_id_merged_twice_follows_its_latest_merge_in_effect():
    log = Log()
    log.many(status(P("x"), "lead", day(1)), merge(P("y"), "x", day(2)),
             merge(P("z"), "x", day(3)))
    identities = identities_of(log.facts)
    assert identities.survivor(P("x")) == P("z")
    assert P("y") in replay(log, pipeline()) and P("x") not in replay(log, pipeline())


def test_second_subjects_name_survivors():
    log = Log()
    log.many(merge(A("a1"), "a9", day(0)), merge(P("p1"), "p9", day(0)),
             link("p1", "a9", day(1)), opp_link("o1", "a9", day(1), "Renewal"),
             role("o1", "p9", day(1)), stage("o1", "Qualification", day(2)))
    histories = replay(log, pipeline())
    assert [m.account_id for m in histories[P("p1")].memberships] == ["a1"]
    assert [k.account_id for k in histories[O("o1")].opportunity_links] == ["a1"]
    assert moves(histories[P("p1")]) == [(None, "sql", "entry")]  # p9's role is p1's
    assert A("a9") not in histories and histories[A("a1")].flags[0].flag == "renewal"


def test_a_merge_takes_effect_from_when_it_was_recorded():
    log = converted_lead()
    merged_at = next(f.recorded_at for f in log.facts if f.type == "merged")
    before = replay(log, pipeline(), known_at=merged_at - timedelta(microseconds=1))
    assert {P("L1"), P("C1")} <= before.keys()
    assert moves(before[P("L1")]) == [(None, "verified", "entry"), ("verified", "mql", "forward")]
    assert P("L1") not in replay(log, pipeline(), known_at=merged_at)


def test_retracting_a_merge_undoes_it():
    log = converted_lead()
    merged = next(f for f in log.facts if f.type == "merged")
    retraction = log.retract(merged, recorded_at=REC0 + timedelta(days=1))
    assert {P("L1"), P("C1")} <= replay(log, pipeline()).keys()
    between = replay(log, pipeline(), known_at=retraction.recorded_at - timedelta(seconds=1))
    assert P("L1") not in between


def test_an_id_cannot_be_merged_into_itself():
    with pytest.raises(FactInputError) as bad:
        merge(P("p1"), "p1", day(1))
    assert (bad.value.field, bad.value.reason) == (
        "merged_id", "person 'p1' cannot be merged into itself")


def test_a_merge_that_would_close_a_loop_is_left_out():
    log = Log()  # the ledger refuses the second merge; resolution must still end if it is there
    log.many(merge(P("y"), "x", day(1)), merge(P("x"), "y", day(2)))
    identities = identities_of(log.facts)
    assert identities.survivor(P("x")) == P("y") and identities.survivor(P("y")) == P("y")


def test_merges_resolve_within_one_subject_type():
    log = Log()
    log.many(status(A("x"), "lead", day(1)), status(P("x"), "customer", day(1)),
             merge(P("y"), "x", day(2)))
    histories = replay(log, pipeline())
    assert A("x") in histories and P("x") not in histories
