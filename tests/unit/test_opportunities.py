"""SPEC §7, one rule per test: opportunities as subjects, their accounts and kinds, the roll-up
of accounts over them, the contact-role cascade to persons, open opportunities and the flags
they give accounts. Definitions: `pipeline()` (b2b-2024 plus Salesforce's StageName values,
won and lost closed, Renewal and Upgrade opportunities flagging, the cascade on)."""

from __future__ import annotations

import pytest

from lifecycle.domain.facts import FactInputError, parse_fact
from lifecycle.domain.links import cascade_flags

from .helpers import (
    A,
    Log,
    O,
    P,
    day,
    flag,
    iso,
    link,
    moves,
    opp_link,
    pipeline,
    pipeline_with,
    replay,
    role,
    stage,
    stamps,
    status,
    timed_moves,
)


def flags_of(history):
    return [(f.flag, f.raised_at, f.cleared_at) for f in history.flags]


# ---- the opportunity as a subject ----------------------------------------------------------

def test_an_opportunity_derives_its_stage_from_its_own_facts_like_any_subject():
    log = Log()
    log.many(stage("o1", "Prospecting", day(1)), stage("o1", "Negotiation/Review", day(5)),
             stage("o1", "Closed Lost", day(9)))
    history = replay(log, pipeline())[O("o1")]
    assert moves(history) == [(None, "sql", "entry"), ("sql", "late_stage", "forward"),
                              ("late_stage", "nurture", "backward")]
    # stamp_skipped: the entry into sql stamps every path stage below it, inferred
    assert stamps(history)["mql"] == (day(1), None, 0, True)
    assert stamps(history)["late_stage"] == (day(5), day(5), 1, False)


def test_a_hand_raise_never_names_an_opportunity():
    with pytest.raises(FactInputError) as bad:
        parse_fact({"type": "hand_raised", "opportunity_id": "o1", "kind": "demo_request",
                    "occurred_at": iso(day(1))})
    assert (bad.value.field, bad.value.reason) == (
        "opportunity_id", "a hand_raised fact is about a person, not an opportunity")


def test_opportunity_facts_name_both_subjects():
    with pytest.raises(FactInputError) as bad:
        parse_fact({"type": "opportunity_linked", "opportunity_id": "o1",
                    "occurred_at": iso(day(1))})
    assert bad.value.reason == "a opportunity_linked fact needs both opportunity_id and account_id"
    with pytest.raises(FactInputError) as bad:
        parse_fact({"type": "contact_role", "opportunity_id": "o1", "person_id": "p1",
                    "account_id": "a1", "occurred_at": iso(day(1))})
    assert bad.value.field == "account_id"


# ---- membership ----------------------------------------------------------------------------

def test_an_opportunity_belongs_to_the_account_and_kind_of_its_latest_link():
    log = Log()
    log.many(opp_link("o1", "a1", day(1), "New Business"), opp_link("o1", "a1", day(3)),
             opp_link("o1", "a2", day(5), "Renewal"), opp_link("o1", "a2", day(6), "Renewal"))
    links = replay(log, pipeline())[O("o1")].opportunity_links
    assert [(k.account_id, k.kind, k.start, k.end) for k in links] == [
        ("a1", "New Business", day(1), day(3)), ("a1", None, day(3), day(5)),
        ("a2", "Renewal", day(5), None)]


def test_the_account_rolls_up_its_opportunities_as_members():
    log = Log()
    log.many(status(A("a1"), "lead", day(0)), opp_link("o1", "a1", day(1)),
             stage("o1", "Qualification", day(2)), stage("o1", "Closed Won", day(4)),
             opp_link("o1", "a2", day(6)))
    history = replay(log, pipeline())[A("a1")]
    assert timed_moves(history) == [
        (day(0), None, "verified", "entry"), (day(2), "verified", "sql", "forward"),
        (day(4), "sql", "customer", "forward"),
        (day(6), "customer", "verified", "backward")]  # o1 left for a2


def test_without_roll_up_an_account_keeps_its_own_stage():
    definitions = pipeline_with(lambda d: d.update(account_rollup="none"))
    log = Log()
    log.many(status(A("a1"), "lead", day(0)), opp_link("o1", "a1", day(1)),
             stage("o1", "Closed Won", day(2)))
    assert moves(replay(log, definitions)[A("a1")]) == [(None, "verified", "entry")]


# ---- the cascade to persons ----------------------------------------------------------------

def test_without_the_cascade_a_role_gives_nothing():
    definitions = pipeline_with(lambda d: d.update(opportunity_cascade="none"))
    log = Log()
    log.many(status(P("p1"), "lead", day(0)), role("o1", "p1", day(1)),
             stage("o1", "Qualification", day(2)))
    assert moves(replay(log, definitions)[P("p1")]) == [(None, "verified", "entry")]


def test_a_transition_of_the_opportunity_gives_its_role_holders_the_stage_any_direction():
    log = Log()
    log.many(status(P("p1"), "lead", day(0)), role("o1", "p1", day(1)),
             stage("o1", "Qualification", day(2)), stage("o1", "Proposal/Price Quote", day(3)),
             stage("o1", "Closed Lost", day(5)))
    assert timed_moves(replay(log, pipeline())[P("p1")]) == [
        (day(0), None, "verified", "entry"), (day(2), "verified", "sql", "forward"),
        (day(3), "sql", "late_stage", "forward"),
        (day(5), "late_stage", "nurture", "backward")]  # lost: back to nurture


def test_a_role_added_while_the_opportunity_has_a_stage_gives_that_stage():
    log = Log()
    log.many(stage("o1", "Negotiation/Review", day(1)), status(P("p1"), "lead", day(2)),
             role("o1", "p1", day(3)))
    assert timed_moves(replay(log, pipeline())[P("p1")]) == [
        (day(2), None, "verified", "entry"), (day(3), "verified", "late_stage", "forward")]


def test_after_the_role_is_removed_nothing_more_cascades():
    log = Log()
    log.many(role("o1", "p1", day(1)), stage("o1", "Qualification", day(2)),
             role("o1", "p1", day(3), state="removed"), stage("o1", "Closed Won", day(4)))
    assert moves(replay(log, pipeline())[P("p1")]) == [(None, "sql", "entry")]


def test_holding_a_role_is_read_after_every_fact_of_the_moment():
    log = Log()  # the stage changes and the role goes at the same moment: no cascade
    log.many(role("o1", "p1", day(1)), stage("o1", "Qualification", day(2)),
             stage("o1", "Closed Won", day(4)), role("o1", "p1", day(4), state="removed"))
    assert moves(replay(log, pipeline())[P("p1")]) == [(None, "sql", "entry")]


def test_every_added_role_cascades_a_repeated_one_too():
    log = Log()
    log.many(role("o1", "p1", day(1)), stage("o1", "Qualification", day(2)),
             status(P("p1"), "lead", day(3)), role("o1", "p1", day(4), role="Economic Buyer"))
    assert timed_moves(replay(log, pipeline())[P("p1")]) == [
        (day(2), None, "sql", "entry"), (day(3), "sql", "verified", "backward"),
        (day(4), "verified", "sql", "forward")]


def test_a_cascaded_stage_names_the_opportunity_fact_as_its_cause():
    log = Log()
    won = log.many(status(P("p1"), "lead", day(0)), role("o1", "p1", day(1)),
                   stage("o1", "Closed Won", day(2)))[-1]
    history = replay(log, pipeline())[P("p1")]
    customer = next(s for s in history.stamps if s.stage == "customer")
    assert (customer.snapshot.cause.event_id, customer.snapshot.cause.subject) == (
        won.event_id, O("o1"))
    assert customer.snapshot.cause.value == "Closed Won"
    assert history.outcomes[won.event_id].detail == (
        "verified -> customer (forward) (from opportunity o1)")


def test_cascaded_targets_sort_among_the_persons_facts_by_time_then_sequence():
    log = Log()  # same moment: the person's own fact was recorded after the opportunity's
    log.many(role("o1", "p1", day(1)), stage("o1", "Qualification", day(2)),
             status(P("p1"), "lead", day(2)))
    assert moves(replay(log, pipeline())[P("p1")]) == [
        (None, "sql", "entry"), ("sql", "verified", "backward")]
    log = Log()  # recorded the other way round
    log.many(role("o1", "p1", day(1)), status(P("p1"), "lead", day(2)),
             stage("o1", "Qualification", day(2)))
    assert moves(replay(log, pipeline())[P("p1")]) == [(None, "verified", "entry"),
                                                         ("verified", "sql", "forward")]


def test_a_person_named_only_by_a_role_is_a_subject():
    log = Log()
    log.many(role("o1", "p9", day(1)), stage("o1", "Qualification", day(2)))
    assert moves(replay(log, pipeline())[P("p9")]) == [(None, "sql", "entry")]


def test_exit_stages_cascade_like_any_other():
    definitions = pipeline_with(
        lambda d: d["map"]["status"]["StageName"].update({"Closed Lost": "disqualified"}))
    log = Log()
    log.many(role("o1", "p1", day(1)), stage("o1", "Qualification", day(2)),
             stage("o1", "Closed Lost", day(3)))
    assert moves(replay(log, definitions)[P("p1")]) == [
        (None, "sql", "entry"), ("sql", "disqualified", "exit")]


def test_roles_follow_the_persons_account_membership_for_the_snapshot():
    log = Log()
    log.many(link("p1", "a1", day(0)), role("o1", "p1", day(1)),
             stage("o1", "Qualification", day(2)))
    sql = next(s for s in replay(log, pipeline())[P("p1")].stamps if s.stage == "sql")
    assert (sql.snapshot.account_id, sql.snapshot.from_stage) == ("a1", None)


# ---- open opportunities and the flags they give ----------------------------------------------

def test_an_opportunity_is_open_while_it_has_a_stage_neither_exit_nor_closed():
    definitions = pipeline()
    assert not definitions.is_open(None)
    assert definitions.is_open("sql") and definitions.is_open("late_stage")
    assert not definitions.is_open("customer") and not definitions.is_open("nurture")
    assert not definitions.is_open("disqualified")


def test_an_open_opportunity_of_a_listed_kind_flags_its_account_while_it_belongs_to_it():
    log = Log()
    log.many(opp_link("o1", "a1", day(1), " renewal "),  # kinds match trimmed, any case
             stage("o1", "Qualification", day(2)), stage("o1", "Closed Won", day(6)),
             opp_link("o2", "a1", day(3), "Existing Customer - Upgrade"),
             stage("o2", "Prospecting", day(3)), opp_link("o2", "a2", day(5),
                                                          "Existing Customer - Upgrade"),
             opp_link("o3", "a1", day(1), "New Business"), stage("o3", "Qualification", day(1)))
    history = replay(log, pipeline())[A("a1")]
    assert flags_of(history) == [("renewal", day(2), day(6)), ("upgrade", day(3), day(5))]


def test_opportunity_flags_join_renewal_flagged_facts():
    log = Log()
    log.many(flag("a1", "renewal", "raised", day(1)), flag("a1", "renewal", "cleared", day(4)),
             opp_link("o1", "a1", day(3), "Renewal"), stage("o1", "Qualification", day(3)),
             stage("o1", "Closed Lost", day(7)))
    assert flags_of(replay(log, pipeline())[A("a1")]) == [("renewal", day(1), day(7))]


def test_flags_from_opportunities_cascade_to_the_accounts_persons():
    log = Log()
    log.many(link("p1", "a1", day(2)), opp_link("o1", "a1", day(1), "Renewal"),
             stage("o1", "Qualification", day(1)))
    histories = replay(log, pipeline())
    person_flags = cascade_flags(histories[P("p1")].memberships,
                                 {"a1": histories[A("a1")].flags})
    assert [(f.flag, f.raised_at, f.cleared_at, f.person_id) for f in person_flags] == [
        ("renewal", day(2), None, "p1")]
