"""SPEC §4 for one subject: targets, directions, stamps, snapshots, intervals, ordering,
retractions and known-at. Definitions are b2b-2024 plus a few status values (`b2b_plus`):

    new 1, verified 2, nurture 2 (off_path), mql 3, sal 4, meeting_set 5, sql 6,
    late_stage 7, customer 8; exits churned, disqualified, not_a_target, inactive.
    lifecycle_stage: subscriber→new, lead→verified, marketingqualifiedlead→mql,
    salesqualifiedlead→sql, opportunity→late_stage, customer→customer, recycle→nurture,
    meeting→meeting_set, churned→churned, nat→not_a_target.
    Status: Open - Not Contacted→verified, Working - Contacted→sal,
    Closed - Converted→sql, Closed - Not Converted→disqualified.
    hand_raised demo_request/contact_sales → mql, min_fit medium.
"""

from __future__ import annotations

import random

from lifecycle.domain.derivation import direction, effective_facts
from lifecycle.domain.history import BACKWARD, ENTRY, EXIT, FORWARD, LATERAL, REENTRY, stage_at

from .helpers import (
    A,
    Log,
    P,
    b2b_plus,
    b2b_plus_with,
    day,
    derive,
    disq,
    hand,
    intervals,
    left,
    link,
    moves,
    outcome,
    stamps,
    status,
    timed_moves,
)

PERSON = P("p1")
ACCOUNT = A("a1")


def walk(*facts):
    """Record `facts` in order for p1 (or whoever they are about) and derive p1."""
    log = Log()
    recs = log.many(*facts)
    return derive(PERSON, log), recs


# ---- 1. targets: status_changed ------------------------------------------------------------


def test_status_value_maps_case_insensitively_and_trimmed():
    history, _ = walk(status(PERSON, "  MarketingQualifiedLead ", day(1)))
    assert moves(history) == [(None, "mql", ENTRY)]


def test_status_value_in_a_mixed_case_definition_matches_any_case():
    history, _ = walk(status(PERSON, "working - CONTACTED", day(1), field="Status"))
    assert moves(history) == [(None, "sal", ENTRY)]


def test_status_field_names_match_exactly():
    history, recs = walk(
        status(PERSON, "Working - Contacted", day(1), field="status"),
        status(PERSON, "lead", day(2), field="Lifecycle_Stage"),
        status(PERSON, "lead", day(3), field=" lifecycle_stage"),
    )
    assert moves(history) == []
    assert [outcome(history, r) for r in recs] == ["unmapped"] * 3


def test_status_unmapped_value_gives_no_target():
    history, recs = walk(status(PERSON, "lead", day(1)), status(PERSON, "evangelist", day(2)))
    assert moves(history) == [(None, "verified", ENTRY)]
    assert outcome(history, recs[1]) == "unmapped"
    assert history.stage_at(day(3)) == "verified"


def test_status_cleared_value_is_unmapped_and_does_not_move():
    history, recs = walk(
        status(PERSON, "lead", day(1)),
        status(PERSON, "", day(2)),
        status(PERSON, "   ", day(3)),
    )
    assert moves(history) == [(None, "verified", ENTRY)]
    assert outcome(history, recs[1]) == outcome(history, recs[2]) == "unmapped"
    assert "cleared" in history.outcomes[recs[1].event_id].detail
    assert history.stage_at(day(4)) == "verified"


def test_status_on_an_account_derives_its_own_stage():
    log = Log()
    log.add(status(ACCOUNT, "customer", day(1)))
    assert moves(derive(ACCOUNT, log)) == [(None, "customer", ENTRY)]


# ---- 1. targets: hand_raised -----------------------------------------------------------------


def test_hand_raise_listed_kind_with_enough_fit_enters_mql():
    history, recs = walk(hand("p1", day(1), fit="high"))
    assert moves(history) == [(None, "mql", ENTRY)]
    assert outcome(history, recs[0]) == "transition"


def test_hand_raise_fit_equal_to_min_fit_qualifies():
    history, _ = walk(hand("p1", day(1), fit="medium"))
    assert moves(history) == [(None, "mql", ENTRY)]


def test_hand_raise_kind_matches_case_insensitively_and_trimmed():
    history, _ = walk(hand("p1", day(1), kind=" Contact_Sales ", fit="HIGH"))
    assert moves(history) == [(None, "mql", ENTRY)]


def test_hand_raise_unlisted_kind_is_unmapped():
    history, recs = walk(hand("p1", day(1), kind="newsletter", fit="high"))
    assert moves(history) == []
    assert outcome(history, recs[0]) == "unmapped"


def test_hand_raise_fit_below_min_fit_is_unmapped():
    history, recs = walk(hand("p1", day(1), fit="low"))
    assert moves(history) == []
    assert outcome(history, recs[0]) == "unmapped"


def test_hand_raise_missing_fit_fails_min_fit():
    history, recs = walk(hand("p1", day(1), fit=None))
    assert moves(history) == []
    assert outcome(history, recs[0]) == "unmapped"


def test_hand_raise_without_min_fit_needs_no_fit():
    definitions = b2b_plus_with(lambda d: d["map"]["hand_raised"].pop("min_fit"))
    log = Log()
    log.many(hand("p1", day(1), fit=None), hand("p2", day(1), fit="low"))
    assert moves(derive(PERSON, log, definitions)) == [(None, "mql", ENTRY)]
    assert moves(derive(P("p2"), log, definitions)) == [(None, "mql", ENTRY)]


def test_hand_raise_without_a_hand_raised_map_is_unmapped():
    definitions = b2b_plus_with(lambda d: d["map"].pop("hand_raised"))
    log = Log()
    rec = log.add(hand("p1", day(1)))
    history = derive(PERSON, log, definitions)
    assert moves(history) == [] and outcome(history, rec) == "unmapped"


def test_hand_raise_moves_forward_from_a_lower_rank():
    history, _ = walk(status(PERSON, "lead", day(1)), hand("p1", day(2)))
    assert moves(history) == [(None, "verified", ENTRY), ("verified", "mql", FORWARD)]


def test_hand_raise_moves_forward_from_off_path_with_lower_rank():
    history, _ = walk(status(PERSON, "recycle", day(1)), hand("p1", day(2)))
    assert moves(history) == [(None, "nurture", ENTRY), ("nurture", "mql", FORWARD)]


def test_hand_raise_while_at_equal_rank_is_a_signal():
    history, recs = walk(status(PERSON, "marketingqualifiedlead", day(1)), hand("p1", day(2)))
    assert moves(history) == [(None, "mql", ENTRY)]
    assert outcome(history, recs[1]) == "signal"


def test_hand_raise_while_at_higher_rank_is_a_signal():
    history, recs = walk(status(PERSON, "salesqualifiedlead", day(1)), hand("p1", day(2)))
    assert moves(history) == [(None, "sql", ENTRY)]
    assert outcome(history, recs[1]) == "signal"
    assert history.stage_at(day(3)) == "sql"


def test_hand_raise_never_brings_a_subject_back_from_an_exit():
    history, recs = walk(disq(PERSON, day(1)), hand("p1", day(2)))
    assert moves(history) == [(None, "disqualified", ENTRY)]
    assert outcome(history, recs[1]) == "signal"
    assert history.stage_at(day(3)) == "disqualified"


def test_hand_raise_not_qualifying_is_unmapped_even_when_engaged():
    history, recs = walk(status(PERSON, "salesqualifiedlead", day(1)),
                         hand("p1", day(2), fit="low"))
    assert outcome(history, recs[1]) == "unmapped"


# ---- 1. targets: disqualified, person_left, others -----------------------------------------


def test_disqualified_maps_from_none():
    history, _ = walk(disq(PERSON, day(1)))
    assert moves(history) == [(None, "disqualified", ENTRY)]


def test_disqualified_maps_whatever_current_is():
    history, _ = walk(status(PERSON, "customer", day(1)), disq(PERSON, day(2)))
    assert moves(history) == [(None, "customer", ENTRY), ("customer", "disqualified", EXIT)]


def test_person_left_maps_whatever_current_is_even_an_exit():
    history, _ = walk(disq(PERSON, day(1)), left("p1", day(2)))
    assert moves(history) == [(None, "disqualified", ENTRY),
                              ("disqualified", "inactive", EXIT)]


def test_disqualified_account():
    log = Log()
    log.many(status(ACCOUNT, "customer", day(1)), disq(ACCOUNT, day(2)))
    assert moves(derive(ACCOUNT, log))[-1] == ("customer", "disqualified", EXIT)


def test_disqualified_and_person_left_unmapped_give_no_target():
    definitions = b2b_plus_with(lambda d: (d["map"].pop("disqualified"),
                                           d["map"].pop("person_left")))
    log = Log()
    recs = log.many(status(PERSON, "lead", day(1)), disq(PERSON, day(2)), left("p1", day(3)))
    history = derive(PERSON, log, definitions)
    assert moves(history) == [(None, "verified", ENTRY)]
    assert outcome(history, recs[1]) == outcome(history, recs[2]) == "unmapped"


def test_other_fact_types_give_no_target():
    history, recs = walk(link("p1", "a1", day(1)), status(PERSON, "lead", day(2)))
    assert moves(history) == [(None, "verified", ENTRY)]
    assert outcome(history, recs[0]) == "recorded"


# ---- 2. no change, directions ----------------------------------------------------------------


def test_target_equal_to_current_is_no_transition():
    history, recs = walk(
        status(PERSON, "lead", day(1)),
        status(PERSON, "Open - Not Contacted", day(2), field="Status"),  # also verified
        disq(PERSON, day(3)),
        status(PERSON, "Closed - Not Converted", day(4), field="Status"),  # disqualified
    )
    assert moves(history) == [(None, "verified", ENTRY), ("verified", "disqualified", EXIT)]
    assert outcome(history, recs[1]) == outcome(history, recs[3]) == "no_change"
    assert stamps(history)["verified"][2] == 1


def test_direction_entry_from_none_whatever_the_target():
    definitions = b2b_plus()
    for stage in ("new", "nurture", "customer", "churned"):
        assert direction(definitions, None, stage) == ENTRY


def test_direction_entry_into_an_exit_stage():
    history, _ = walk(status(PERSON, "nat", day(1)))
    assert moves(history) == [(None, "not_a_target", ENTRY)]


def test_direction_exit_into_an_exit_stage():
    history, _ = walk(status(PERSON, "lead", day(1)), status(PERSON, "churned", day(2)))
    assert moves(history)[-1] == ("verified", "churned", EXIT)


def test_direction_exit_also_from_another_exit():
    history, _ = walk(disq(PERSON, day(1)), status(PERSON, "churned", day(2)))
    assert moves(history)[-1] == ("disqualified", "churned", EXIT)


def test_direction_reentry_from_an_exit_stage():
    history, _ = walk(disq(PERSON, day(1)), status(PERSON, "lead", day(2)),
                      status(PERSON, "churned", day(3)), status(PERSON, "recycle", day(4)))
    assert moves(history) == [(None, "disqualified", ENTRY),
                              ("disqualified", "verified", REENTRY),
                              ("verified", "churned", EXIT),
                              ("churned", "nurture", REENTRY)]


def test_direction_forward_when_rank_rises():
    history, _ = walk(status(PERSON, "subscriber", day(1)), status(PERSON, "customer", day(2)))
    assert moves(history)[-1] == ("new", "customer", FORWARD)


def test_direction_backward_when_rank_falls():
    history, _ = walk(status(PERSON, "salesqualifiedlead", day(1)),
                      status(PERSON, "marketingqualifiedlead", day(2)),
                      status(PERSON, "recycle", day(3)))
    assert moves(history)[1:] == [("sql", "mql", BACKWARD), ("mql", "nurture", BACKWARD)]


def test_direction_lateral_between_path_and_off_path_of_same_rank():
    history, _ = walk(status(PERSON, "lead", day(1)), status(PERSON, "recycle", day(2)),
                      status(PERSON, "lead", day(3)))
    assert moves(history)[1:] == [("verified", "nurture", LATERAL),
                                  ("nurture", "verified", LATERAL)]


# ---- 3. stamps ---------------------------------------------------------------------------


def test_stamps_first_last_and_times_reached():
    history, _ = walk(
        status(PERSON, "lead", day(1)),
        status(PERSON, "marketingqualifiedlead", day(2)),
        status(PERSON, "lead", day(3)),
        status(PERSON, "marketingqualifiedlead", day(4)),
    )
    got = stamps(history)
    assert got["verified"] == (day(1), day(3), 2, False)
    assert got["mql"] == (day(2), day(4), 2, False)


def test_stamps_are_listed_in_definitions_order():
    history, _ = walk(status(PERSON, "nat", day(1)), status(PERSON, "customer", day(2)),
                      status(PERSON, "recycle", day(3)))
    assert [s.stage for s in history.stamps] == [
        "new", "verified", "nurture", "mql", "sal", "meeting_set", "sql", "late_stage",
        "customer", "not_a_target"]


def test_stamp_skipped_forward_infers_path_stages_strictly_between():
    history, _ = walk(status(PERSON, "lead", day(1)),
                      status(PERSON, "salesqualifiedlead", day(2)))
    got = stamps(history)
    assert got["verified"] == (day(1), day(1), 1, False)
    for stage in ("mql", "sal", "meeting_set"):
        assert got[stage] == (day(2), None, 0, True), stage
    assert got["sql"] == (day(2), day(2), 1, False)
    assert "nurture" not in got  # off_path stages are never inferred
    assert "late_stage" not in got and "customer" not in got


def test_stamp_skipped_forward_from_off_path_starts_above_its_rank():
    history, _ = walk(status(PERSON, "recycle", day(1)),
                      status(PERSON, "salesqualifiedlead", day(2)))
    assert sorted(stamps(history)) == ["meeting_set", "mql", "nurture", "sal", "sql"]


def test_stamp_skipped_forward_to_the_next_rank_infers_nothing():
    history, _ = walk(status(PERSON, "lead", day(1)),
                      status(PERSON, "marketingqualifiedlead", day(2)))
    assert sorted(stamps(history)) == ["mql", "new", "verified"]  # new: from the entry


def test_stamp_skipped_entry_infers_every_path_stage_below_including_the_lowest():
    history, _ = walk(status(PERSON, "salesqualifiedlead", day(1)))
    got = stamps(history)
    for stage in ("new", "verified", "mql", "sal", "meeting_set"):
        assert got[stage] == (day(1), None, 0, True), stage
    assert got["sql"] == (day(1), day(1), 1, False)
    assert len(got) == 6


def test_stamp_skipped_entry_into_the_lowest_stage_infers_nothing():
    history, _ = walk(status(PERSON, "subscriber", day(1)))
    assert list(stamps(history)) == ["new"]


def test_stamp_skipped_entry_into_off_path_or_exit_infers_nothing():
    off, _ = walk(status(PERSON, "recycle", day(1)))
    assert list(stamps(off)) == ["nurture"]
    out, _ = walk(disq(PERSON, day(1)))
    assert list(stamps(out)) == ["disqualified"]


def test_stamp_skipped_exit_infers_nothing():
    history, _ = walk(status(PERSON, "subscriber", day(1)), disq(PERSON, day(2)))
    assert sorted(stamps(history)) == ["disqualified", "new"]


def test_stamp_skipped_reentry_infers_every_unstamped_path_stage_below():
    history, _ = walk(status(PERSON, "lead", day(1)), disq(PERSON, day(2)),
                      status(PERSON, "opportunity", day(3)))
    got = stamps(history)
    assert got["new"] == (day(1), None, 0, True)  # from the entry, kept
    assert got["verified"] == (day(1), day(1), 1, False)
    for stage in ("mql", "sal", "meeting_set", "sql"):
        assert got[stage] == (day(3), None, 0, True), stage
    assert got["late_stage"] == (day(3), day(3), 1, False)
    assert moves(history)[-1] == ("disqualified", "late_stage", REENTRY)


def test_stamp_skipped_backward_infers_nothing():
    history, _ = walk(status(PERSON, "recycle", day(1)),
                      status(PERSON, "marketingqualifiedlead", day(2)),
                      status(PERSON, "lead", day(3)))
    assert moves(history)[-1] == ("mql", "verified", BACKWARD)
    assert sorted(stamps(history)) == ["mql", "nurture", "verified"]  # no `new`


def test_stamp_skipped_lateral_infers_nothing():
    history, _ = walk(status(PERSON, "recycle", day(1)), status(PERSON, "lead", day(2)))
    assert moves(history)[-1] == ("nurture", "verified", LATERAL)
    assert sorted(stamps(history)) == ["nurture", "verified"]


def test_stamp_skipped_false_infers_nothing():
    definitions = b2b_plus_with(lambda d: d.update(stamp_skipped=False))
    log = Log()
    log.many(status(PERSON, "lead", day(1)), status(PERSON, "salesqualifiedlead", day(2)),
             disq(PERSON, day(3)), status(PERSON, "customer", day(4)))
    history = derive(PERSON, log, definitions)
    assert sorted(stamps(history)) == ["customer", "disqualified", "sql", "verified"]
    assert all(not s.inferred for s in history.stamps)


def test_inferred_stamp_really_reached_later_keeps_first_reached_at():
    history, _ = walk(status(PERSON, "salesqualifiedlead", day(1)),
                      status(PERSON, "marketingqualifiedlead", day(3)),
                      status(PERSON, "salesqualifiedlead", day(4)),
                      status(PERSON, "marketingqualifiedlead", day(6)))
    got = stamps(history)
    assert got["mql"] == (day(1), day(6), 2, False)
    assert got["sal"] == (day(1), None, 0, True)  # forward mql -> sql: already stamped
    assert got["sql"] == (day(1), day(4), 2, False)


def test_stamp_is_inferred_exactly_while_times_reached_is_zero():
    history, _ = walk(status(PERSON, "customer", day(1)), status(PERSON, "lead", day(2)))
    for stamp in history.stamps:
        assert stamp.inferred == (stamp.times_reached == 0)
        assert (stamp.last_reached_at is None) == stamp.inferred
    assert stamps(history)["verified"] == (day(1), day(2), 1, False)


def test_inferred_stamps_are_not_inferred_again():
    history, _ = walk(status(PERSON, "marketingqualifiedlead", day(1)),
                      disq(PERSON, day(2)),
                      status(PERSON, "salesqualifiedlead", day(3)))
    got = stamps(history)
    assert got["new"] == got["verified"] == (day(1), None, 0, True)
    assert got["sal"] == got["meeting_set"] == (day(3), None, 0, True)


# ---- 4. first-reached snapshot -------------------------------------------------------------


def test_first_reached_snapshot_keeps_the_cause():
    log = Log()
    first = log.add(status(PERSON, " Lead ", day(1), source="hubspot", source_id="h-1",
                           actor="ann", campaign="q1-webinar"))
    log.add(status(PERSON, "marketingqualifiedlead", day(2), source="hubspot",
                   source_id="h-2"))
    log.add(status(PERSON, "lead", day(3), source="hubspot", source_id="h-3", actor="bob"))
    history = derive(PERSON, log)
    snap = {s.stage: s.snapshot for s in history.stamps}
    cause = snap["verified"].cause
    assert (cause.event_id, cause.type, cause.source, cause.source_id, cause.actor,
            cause.campaign, cause.value) == (first.event_id, "status_changed", "hubspot",
                                             "h-1", "ann", "q1-webinar", " Lead ")
    assert snap["verified"].from_stage is None
    assert snap["mql"].from_stage == "verified"
    assert snap["mql"].cause.source_id == "h-2"


def test_first_reached_snapshot_of_a_hand_raise_has_no_value():
    history, recs = walk(status(PERSON, "lead", day(1)),
                         hand("p1", day(2), campaign="demo-page"))
    snap = {s.stage: s.snapshot for s in history.stamps}["mql"]
    assert snap.cause.type == "hand_raised"
    assert snap.cause.event_id == recs[1].event_id
    assert snap.cause.value is None
    assert snap.cause.campaign == "demo-page"
    assert snap.from_stage == "verified"


def test_first_reached_snapshot_of_inferred_stamp_is_the_transition_that_inferred_it():
    history, recs = walk(status(PERSON, "lead", day(1)),
                         status(PERSON, "salesqualifiedlead", day(2)),
                         status(PERSON, "marketingqualifiedlead", day(3)))
    snap = {s.stage: s.snapshot for s in history.stamps}["mql"]
    assert snap.cause.event_id == recs[1].event_id  # not the later real entry
    assert snap.from_stage == "verified"


def test_first_reached_snapshot_has_the_persons_account_at_that_moment():
    history, _ = walk(
        status(PERSON, "subscriber", day(0)),
        link("p1", "a1", day(1)),
        status(PERSON, "lead", day(2)),
        link("p1", "a2", day(3)),
        status(PERSON, "marketingqualifiedlead", day(4)),
        left("p1", day(5)),
    )
    accounts = {s.stage: s.snapshot.account_id for s in history.stamps}
    assert accounts == {"new": None, "verified": "a1", "mql": "a2", "inactive": None}


def test_first_reached_snapshot_account_counts_a_link_at_the_same_instant():
    history, _ = walk(link("p1", "a1", day(1)), status(PERSON, "lead", day(1)))
    assert {s.stage: s.snapshot.account_id for s in history.stamps}["verified"] == "a1"


# ---- 5. intervals and stage as of T --------------------------------------------------------


def test_intervals_close_and_open_at_each_transition():
    history, _ = walk(status(PERSON, "lead", day(1)),
                      status(PERSON, "marketingqualifiedlead", day(3)),
                      status(PERSON, "evangelist", day(4)),  # unmapped: no interval change
                      status(PERSON, "lead", day(5)))
    assert intervals(history) == [("verified", day(1), day(3)), ("mql", day(3), day(5)),
                                  ("verified", day(5), None)]


def test_intervals_inferred_stamps_have_no_interval():
    history, _ = walk(status(PERSON, "salesqualifiedlead", day(1)))
    assert intervals(history) == [("sql", day(1), None)]


def test_intervals_an_exit_stage_is_an_interval_too():
    history, _ = walk(status(PERSON, "lead", day(1)), disq(PERSON, day(2)))
    assert intervals(history) == [("verified", day(1), day(2)),
                                  ("disqualified", day(2), None)]


def test_stage_as_of_t_is_the_target_of_the_last_transition_at_or_before_t():
    history, _ = walk(status(PERSON, "lead", day(1)),
                      status(PERSON, "marketingqualifiedlead", day(3)))
    assert history.stage_at(day(0)) is None
    assert history.stage_at(day(1)) == "verified"  # inclusive
    assert history.stage_at(day(2.99)) == "verified"
    assert history.stage_at(day(3)) == "mql"
    assert history.stage_at(day(100)) == "mql"


def test_stage_as_of_t_with_ties_at_the_same_instant_takes_the_last():
    history, _ = walk(status(PERSON, "lead", day(1)),
                      status(PERSON, "marketingqualifiedlead", day(1)))
    assert timed_moves(history) == [(day(1), None, "verified", ENTRY),
                                    (day(1), "verified", "mql", FORWARD)]
    assert history.stage_at(day(1)) == "mql"
    assert intervals(history) == [("verified", day(1), day(1)), ("mql", day(1), None)]


def test_stage_at_function_on_no_steps_is_none():
    assert stage_at([], day(1)) is None


# ---- ordering --------------------------------------------------------------------------------


def test_ordering_by_occurred_at_not_arrival():
    history, _ = walk(status(PERSON, "marketingqualifiedlead", day(3)),
                      status(PERSON, "lead", day(1)))
    assert timed_moves(history) == [(day(1), None, "verified", ENTRY),
                                    (day(3), "verified", "mql", FORWARD)]


def test_ordering_ties_by_ledger_version():
    first, _ = walk(status(PERSON, "marketingqualifiedlead", day(1)),
                    status(PERSON, "lead", day(1)))
    assert moves(first) == [(None, "mql", ENTRY), ("mql", "verified", BACKWARD)]
    second, _ = walk(status(PERSON, "lead", day(1)),
                     status(PERSON, "marketingqualifiedlead", day(1)))
    assert moves(second) == [(None, "verified", ENTRY), ("verified", "mql", FORWARD)]


def test_ordering_does_not_depend_on_the_order_facts_are_passed_in():
    log = Log()
    log.many(status(PERSON, "lead", day(1)), status(PERSON, "marketingqualifiedlead", day(1)),
             disq(PERSON, day(2)), status(PERSON, "customer", day(2)))
    expected = timed_moves(derive(PERSON, log.facts))
    shuffled = list(log.facts)
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        assert timed_moves(derive(PERSON, shuffled)) == expected
    assert expected[-1] == (day(2), "disqualified", "customer", REENTRY)


def test_ordering_across_offsets_uses_the_instant():
    log = Log()
    log.add(status(PERSON, "marketingqualifiedlead", "2024-01-01T10:00:00+02:00"))  # 08:00Z
    log.add(status(PERSON, "lead", "2024-01-01T09:00:00+02:00"))  # 07:00Z, earlier
    assert moves(derive(PERSON, log)) == [(None, "verified", ENTRY),
                                          ("verified", "mql", FORWARD)]


# ---- retractions and known-at --------------------------------------------------------------


def test_retracted_fact_is_ignored():
    log = Log()
    log.add(status(PERSON, "lead", day(1)))
    mql = log.add(status(PERSON, "marketingqualifiedlead", day(2)))
    retraction = log.retract(mql, at=day(10), reason="typo")
    history = derive(PERSON, log)
    assert moves(history) == [(None, "verified", ENTRY)]
    assert "mql" not in stamps(history)
    assert history.stage_at(day(5)) == "verified"  # whatever the as-of moment
    gone = history.outcomes[mql.event_id]
    assert (gone.kind, gone.detail, gone.retracted_by) == ("retracted", "typo",
                                                           retraction.event_id)
    assert outcome(history, retraction) == "recorded"


def test_retracted_fact_in_the_middle_reconnects_its_neighbours():
    log = Log()
    log.add(status(PERSON, "lead", day(1)))
    disqualified = log.add(disq(PERSON, day(2)))
    log.add(status(PERSON, "marketingqualifiedlead", day(3)))
    log.retract(disqualified)
    assert moves(derive(PERSON, log)) == [(None, "verified", ENTRY),
                                          ("verified", "mql", FORWARD)]


def test_known_at_sees_only_facts_recorded_by_then():
    log = Log()
    lead = log.add(status(PERSON, "lead", day(1)))
    mql = log.add(status(PERSON, "marketingqualifiedlead", day(2)))
    assert moves(derive(PERSON, log, known_at=lead.recorded_at)) == [
        (None, "verified", ENTRY)]
    assert len(moves(derive(PERSON, log, known_at=mql.recorded_at))) == 2  # inclusive
    assert moves(derive(PERSON, log, known_at=lead.recorded_at.replace(year=2020))) == []


def test_retraction_does_not_apply_to_an_earlier_known_at():
    log = Log()
    log.add(status(PERSON, "lead", day(1)))
    mql = log.add(status(PERSON, "marketingqualifiedlead", day(2)))
    retraction = log.retract(mql)
    before = derive(PERSON, log, known_at=mql.recorded_at)
    assert moves(before)[-1] == ("verified", "mql", FORWARD)
    assert outcome(before, mql) == "transition"
    at = derive(PERSON, log, known_at=retraction.recorded_at)
    assert moves(at) == [(None, "verified", ENTRY)]
    assert moves(derive(PERSON, log)) == [(None, "verified", ENTRY)]


def test_effective_facts_drops_retractions_and_their_targets():
    log = Log()
    keep = log.add(status(PERSON, "lead", day(2)))
    drop = log.add(status(PERSON, "customer", day(1)))
    retraction = log.retract(drop)
    kept, retractions = effective_facts(log.facts)
    assert kept == [keep]
    assert retractions == {drop.event_id: retraction}
    kept, retractions = effective_facts(log.facts, known_at=drop.recorded_at)
    assert kept == [drop, keep] and retractions == {}


# ---- determinism -----------------------------------------------------------------------------


def test_derive_subject_is_deterministic():
    log = Log()
    log.many(status(PERSON, "lead", day(1)), hand("p1", day(2)), link("p1", "a1", day(2)),
             disq(PERSON, day(3)), status(PERSON, "customer", day(4)))
    one, two = derive(PERSON, log), derive(PERSON, log)
    assert one.transitions == two.transitions
    assert one.intervals == two.intervals
    assert one.stamps == two.stamps
    assert one.outcomes == two.outcomes
