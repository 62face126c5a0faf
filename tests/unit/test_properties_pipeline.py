"""Properties of derivation with opportunities, contact roles and merges (SPEC §7, §8).

Facts at DISTINCT `occurred_at` values about a few persons, accounts and opportunities;
merges only ever make a later id an alias of an earlier one, once per id (the ledger refuses
loops, and which of two merges of one id is the latest depends on arrival by design).
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import (
    T0,
    A,
    O,
    P,
    flag,
    hand,
    link,
    merge,
    opp_link,
    pipeline,
    pipeline_with,
    replay,
    role,
    stage,
    status,
)
from .test_properties import derived, record

SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
PERSONS, ACCOUNTS, OPPORTUNITIES = ("p1", "p2", "p3"), ("a1", "a2"), ("o1", "o2", "o3")
STAGES = ("Prospecting", "Qualification", "Negotiation/Review", "Closed Won", "Closed Lost",
          "Unknown stage")
KINDS = ("Renewal", "Existing Customer - Upgrade", "New Business", None)
VALUES = ("subscriber", "lead", "marketingqualifiedlead", "customer", "recycle", "")


@st.composite
def pipeline_facts(draw):
    n = draw(st.integers(min_value=1, max_value=22))
    minutes = draw(st.lists(st.integers(0, 20_000), min_size=n, max_size=n, unique=True))
    facts, merged = [], set()
    for minute in minutes:
        at = T0 + timedelta(minutes=minute)
        kind = draw(st.sampled_from(("stage", "stage", "opp_link", "role", "role", "status",
                                     "link", "hand", "flag", "merge")))
        person, account = draw(st.sampled_from(PERSONS)), draw(st.sampled_from(ACCOUNTS))
        opportunity = draw(st.sampled_from(OPPORTUNITIES))
        if kind == "stage":
            facts.append(stage(opportunity, draw(st.sampled_from(STAGES)), at))
        elif kind == "opp_link":
            facts.append(opp_link(opportunity, account, at, draw(st.sampled_from(KINDS))))
        elif kind == "role":
            facts.append(role(opportunity, person, at,
                              draw(st.sampled_from(("added", "added", "removed")))))
        elif kind == "status":
            facts.append(status(P(person), draw(st.sampled_from(VALUES)), at))
        elif kind == "link":
            facts.append(link(person, account, at))
        elif kind == "hand":
            facts.append(hand(person, at))
        elif kind == "flag":
            facts.append(flag(account, "renewal", draw(st.sampled_from(("raised", "cleared"))),
                              at))
        else:
            kind_of, ids = draw(st.sampled_from(((P, PERSONS), (A, ACCOUNTS),
                                                 (O, OPPORTUNITIES))))
            survivor, alias = sorted(draw(st.lists(st.sampled_from(ids), min_size=2,
                                                   max_size=2, unique=True)))
            if (kind_of, alias) not in merged:
                merged.add((kind_of, alias))
                facts.append(merge(kind_of(survivor), alias, at))
    retract = draw(st.lists(st.integers(0, len(facts) - 1), max_size=2, unique=True)) \
        if facts else []
    retractions = [(index, T0 + timedelta(minutes=30_000 + index)) for index in retract]
    order = draw(st.permutations(range(len(facts))))
    return facts, retractions, order


@SETTINGS
@given(pipeline_facts())
def test_arrival_order_changes_nothing_with_opportunities_roles_and_merges(case):
    facts, retractions, order = case
    in_order = replay(record(facts, retractions, range(len(facts))), pipeline())
    shuffled = replay(record(facts, retractions, order), pipeline())
    assert in_order.keys() == shuffled.keys()
    for subject, history in in_order.items():
        assert derived(history) == derived(shuffled[subject]), subject
        assert history.opportunity_links == shuffled[subject].opportunity_links, subject


@SETTINGS
@given(pipeline_facts())
def test_no_alias_is_ever_a_subject_and_every_fact_has_one_outcome_owner(case):
    facts, retractions, order = case
    log = record(facts, retractions, order)
    histories = replay(log, pipeline_with(lambda d: d.update(account_rollup="none")))
    aliases = {(f.subject.type, f.fact.merged_id) for f in log.facts if f.type == "merged"
               and not any(r.type == "retracted" and r.fact.target_event_id == f.event_id
                           for r in log.facts)}
    assert not {(s.type, s.id) for s in histories} & aliases
    # a person's transitions all come from its own facts or from an opportunity's
    for subject, history in histories.items():
        for transition in history.transitions:
            cause = transition.cause.subject
            assert cause is not None
            if subject.type == "opportunity":
                assert cause.type == "opportunity"
