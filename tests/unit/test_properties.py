"""Properties of derivation over random fact sequences (SPEC §4).

Facts about a few persons and accounts, each at a DISTINCT `occurred_at`, so that the
order of arrival (and so the ledger's versions) must not matter.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle.domain.derivation import derive_subject, direction
from lifecycle.domain.facts import ACCOUNT, PERSON
from lifecycle.domain.history import DIRECTIONS

from .helpers import (
    T0,
    A,
    Log,
    P,
    b2b_plus,
    b2b_plus_with,
    disq,
    flag,
    hand,
    left,
    link,
    replay,
    status,
)

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

PERSONS = ("p1", "p2", "p3")
ACCOUNTS = ("a1", "a2")
LIFECYCLE_VALUES = ("subscriber", "lead", "MarketingQualifiedLead", " salesqualifiedlead ",
                    "opportunity", "customer", "recycle", "meeting", "churned", "nat", "",
                    "evangelist")
STATUS_VALUES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                 "Closed - Not Converted")
KINDS = ("demo_request", "Contact_Sales", "newsletter")
FITS = (None, "low", "medium", "high")


@st.composite
def fact_sequences(draw):
    """A list of facts (in causal order of generation) with distinct occurred_at values,
    and retractions of a few of them."""
    n = draw(st.integers(min_value=1, max_value=24))
    n_retract = draw(st.integers(min_value=0, max_value=min(2, n)))
    minutes = draw(st.lists(st.integers(0, 20_000), min_size=n + n_retract,
                            max_size=n + n_retract, unique=True))
    facts = []
    for minute in minutes[:n]:
        at = T0 + timedelta(minutes=minute)
        kind = draw(st.sampled_from(("status", "status", "status", "hand", "disq", "left",
                                     "link", "link", "account_status", "account_disq",
                                     "flag")))
        person = draw(st.sampled_from(PERSONS))
        account = draw(st.sampled_from(ACCOUNTS))
        if kind == "status":
            if draw(st.booleans()):
                facts.append(status(P(person), draw(st.sampled_from(LIFECYCLE_VALUES)), at))
            else:
                facts.append(status(P(person), draw(st.sampled_from(STATUS_VALUES)), at,
                                    field="Status"))
        elif kind == "hand":
            facts.append(hand(person, at, kind=draw(st.sampled_from(KINDS)),
                              fit=draw(st.sampled_from(FITS))))
        elif kind == "disq":
            facts.append(disq(P(person), at))
        elif kind == "left":
            facts.append(left(person, at))
        elif kind == "link":
            facts.append(link(person, account, at))
        elif kind == "account_status":
            facts.append(status(A(account), draw(st.sampled_from(LIFECYCLE_VALUES)), at))
        elif kind == "account_disq":
            facts.append(disq(A(account), at))
        else:
            facts.append(flag(account, draw(st.sampled_from(("renewal", "at_risk"))),
                              draw(st.sampled_from(("raised", "cleared"))), at))
    targets = draw(st.lists(st.integers(0, n - 1), min_size=n_retract, max_size=n_retract,
                            unique=True))
    retractions = [(target, T0 + timedelta(minutes=minute))
                   for target, minute in zip(targets, minutes[n:], strict=True)]
    return facts, retractions


def record(facts, retractions, order):
    """Record `facts` (and then the retractions) in the arrival order `order`: versions,
    sequence and recorded_at follow it."""
    log = Log()
    by_index = {}
    for index in order:
        by_index[index] = log.add(facts[index])
    for target, at in retractions:
        log.retract(by_index[target], at=at)
    return log


def derived(history):
    return (history.steps, history.transitions, history.intervals, history.stamps,
            history.memberships, history.flags, history.outcomes)


@st.composite
def sequences_and_orders(draw):
    facts, retractions = draw(fact_sequences())
    order = draw(st.permutations(range(len(facts))))
    return facts, retractions, order


# ---- arrival order does not matter -----------------------------------------------------------


@SETTINGS
@given(sequences_and_orders())
def test_shuffling_arrival_order_changes_nothing(case):
    facts, retractions, order = case
    in_order = replay(record(facts, retractions, range(len(facts))))
    shuffled = replay(record(facts, retractions, order))
    assert in_order.keys() == shuffled.keys()
    for subject, history in in_order.items():
        assert derived(history) == derived(shuffled[subject]), subject


@SETTINGS
@given(sequences_and_orders())
def test_shuffling_arrival_order_changes_nothing_without_rollup(case):
    facts, retractions, order = case
    definitions = b2b_plus_with(lambda d: d.update(account_rollup="none",
                                                   stamp_skipped=False))
    in_order = replay(record(facts, retractions, range(len(facts))), definitions)
    shuffled = replay(record(facts, retractions, order), definitions)
    for subject, history in in_order.items():
        assert derived(history) == derived(shuffled[subject]), subject


# ---- invariants ------------------------------------------------------------------------------


def check_invariants(definitions, history):
    # stamps
    into = {}
    for transition in history.transitions:
        into.setdefault(transition.to_stage, []).append(transition.occurred_at)
    for stamp in history.stamps:
        assert stamp.inferred == (stamp.times_reached == 0)
        assert (stamp.last_reached_at is None) == stamp.inferred
        assert stamp.times_reached == len(into.get(stamp.stage, []))
        if stamp.last_reached_at is not None:
            assert stamp.first_reached_at <= stamp.last_reached_at
            assert stamp.last_reached_at == max(into[stamp.stage])
            assert stamp.first_reached_at <= min(into[stamp.stage])
        else:
            assert definitions.stage_by_key[stamp.stage].kind == "path"
    assert set(into) <= {s.stage for s in history.stamps}
    if not definitions.stamp_skipped:
        assert not any(s.inferred for s in history.stamps)

    # transitions and directions
    for transition in history.transitions:
        assert transition.direction in DIRECTIONS
        assert transition.direction == direction(
            definitions, transition.from_stage, transition.to_stage)
        assert transition.from_stage != transition.to_stage
        assert history.stage_at(transition.occurred_at) is not None
    times = [t.occurred_at for t in history.transitions]
    assert times == sorted(times)

    # intervals: one per transition, contiguous unless the stage fell back to none
    assert len(history.intervals) == len(history.transitions)
    for interval, transition in zip(history.intervals, history.transitions, strict=True):
        assert (interval.stage, interval.entered_at) == (transition.to_stage,
                                                         transition.occurred_at)
    for before, after in zip(history.intervals, history.intervals[1:], strict=False):
        assert before.exited_at is not None
        assert before.entered_at <= before.exited_at <= after.entered_at
        if before.exited_at < after.entered_at:  # a gap: no stage in between
            assert history.stage_at(before.exited_at) is None
    open_ = [i for i in history.intervals if i.exited_at is None]
    last_moment = max([s.at for s in history.steps], default=None)
    has_stage = last_moment is not None and history.stage_at(last_moment) is not None
    assert len(open_) == (1 if has_stage else 0)
    if open_:
        assert open_[0] is history.intervals[-1]
        assert open_[0].stage == history.stage_at(last_moment)


@SETTINGS
@given(fact_sequences())
def test_stamp_transition_and_interval_invariants(case):
    facts, retractions = case
    definitions = b2b_plus()
    log = record(facts, retractions, range(len(facts)))
    occurred = {f.event_id: f.occurred_at for f in log.facts}
    for subject, history in replay(log).items():
        check_invariants(definitions, history)
        for transition in history.transitions:  # caused by a fact of that very moment
            assert occurred[transition.cause.event_id] == transition.occurred_at
        if subject.type == PERSON:
            # a person never falls back to none: each transition starts where the last ended
            previous = None
            for transition in history.transitions:
                assert transition.from_stage == previous
                previous = transition.to_stage


@SETTINGS
@given(fact_sequences(), st.booleans())
def test_invariants_hold_without_rollup_or_inference(case, skipped):
    facts, retractions = case
    definitions = b2b_plus_with(lambda d: d.update(account_rollup="none",
                                                   stamp_skipped=skipped))
    histories = replay(record(facts, retractions, range(len(facts))), definitions)
    for history in histories.values():
        check_invariants(definitions, history)


@SETTINGS
@given(fact_sequences())
def test_transitions_equal_direction_labelled_moves(case):
    facts, retractions = case
    log = record(facts, retractions, range(len(facts)))
    definitions = b2b_plus()
    for subject, subject_facts in log.by_subject().items():
        history = derive_subject(definitions, subject, subject_facts)
        labelled = [o for o in history.outcomes.values() if o.kind == "transition"]
        assert len(history.transitions) == len(labelled)
        assert sorted(t.direction for t in history.transitions) == sorted(
            o.detail.rsplit("(", 1)[1].rstrip(")") for o in labelled)
        assert len(history.steps) == len(history.transitions)


@SETTINGS
@given(fact_sequences())
def test_derive_subject_is_deterministic(case):
    facts, retractions = case
    log = record(facts, retractions, range(len(facts)))
    definitions = b2b_plus()
    for subject, subject_facts in log.by_subject().items():
        one = derive_subject(definitions, subject, subject_facts)
        two = derive_subject(definitions, subject, list(reversed(subject_facts)))
        assert derived(one) == derived(two)


@settings(max_examples=100, deadline=None)
@given(fact_sequences(), st.data())
def test_known_at_equals_replaying_what_was_recorded_by_then(case, data):
    facts, retractions = case
    log = record(facts, retractions, range(len(facts)))
    cut = data.draw(st.integers(min_value=0, max_value=len(log.facts)))
    known_at = log.facts[cut - 1].recorded_at if cut else T0
    then = replay(log, known_at=known_at)
    prefix = replay(log.facts[:cut])
    for subject, history in then.items():
        if subject in prefix:
            assert derived(history) == derived(prefix[subject]), subject
        else:  # known to the full log only: nothing derived as of known_at
            assert history.transitions == [] and history.flags == []
            assert subject.type == ACCOUNT or history.memberships == []
