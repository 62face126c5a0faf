"""SPEC §4 "Accounts": own stage, `most_advanced` roll-up over linked persons, `none`.

Persons and accounts are derived together through `Replay`, as the projections do.
Definitions: `b2b_plus` (see test_derivation.py for its stages and status values).
"""

from __future__ import annotations

from lifecycle.domain.history import BACKWARD, ENTRY, EXIT, FORWARD, LATERAL, REENTRY
from lifecycle.domain.rollup import rollup_account

from .helpers import (
    A,
    Log,
    P,
    b2b_plus_with,
    day,
    derive,
    disq,
    intervals,
    left,
    link,
    moves,
    replay,
    stamps,
    status,
    timed_moves,
)

A1, A2 = A("a1"), A("a2")
P1, P2 = P("p1"), P("p2")


def rollup_none():
    return b2b_plus_with(lambda d: d.update(account_rollup="none"))


# ---- own facts -------------------------------------------------------------------------------


def test_account_own_facts_derive_its_own_stage():
    log = Log()
    log.many(status(A1, "lead", day(1)), status(A1, "customer", day(2)),
             status(A1, "churned", day(3)))
    account = replay(log)[A1]
    assert moves(account) == [(None, "verified", ENTRY), ("verified", "customer", FORWARD),
                              ("customer", "churned", EXIT)]


def test_account_without_members_is_its_own_history():
    log = Log()
    log.add(status(A1, "lead", day(1)))
    own = derive(A1, log)
    assert rollup_account(b2b_plus_with(lambda d: None), own, []) is own


# ---- most_advanced ---------------------------------------------------------------------------


def test_most_advanced_takes_the_highest_rank_among_own_and_linked_persons():
    log = Log()
    log.many(
        status(A1, "lead", day(1)),                      # own: verified
        status(P1, "marketingqualifiedlead", day(1.5)),  # p1: mql, not yet linked
        link("p1", "a1", day(2)),                        # a1 -> mql
        link("p2", "a1", day(3)),
        status(P2, "salesqualifiedlead", day(4)),        # a1 -> sql
        disq(P2, day(6)),                                # p2 exits: unranked -> back to mql
    )
    account = replay(log)[A1]
    assert timed_moves(account) == [
        (day(1), None, "verified", ENTRY),
        (day(2), "verified", "mql", FORWARD),
        (day(4), "mql", "sql", FORWARD),
        (day(6), "sql", "mql", BACKWARD),
    ]
    assert account.stage_at(day(1.9)) == "verified"
    assert account.stage_at(day(5)) == "sql"
    assert account.stage_at(day(7)) == "mql"


def test_most_advanced_own_stage_can_win():
    log = Log()
    log.many(status(A1, "customer", day(1)), link("p1", "a1", day(2)),
             status(P1, "lead", day(3)))
    assert moves(replay(log)[A1]) == [(None, "customer", ENTRY)]


def test_most_advanced_on_equal_rank_path_beats_off_path():
    log = Log()
    log.many(status(A1, "recycle", day(1)),  # own: nurture (off_path 2)
             link("p1", "a1", day(2)), status(P1, "lead", day(3)))  # p1: verified (path 2)
    account = replay(log)[A1]
    assert timed_moves(account) == [(day(1), None, "nurture", ENTRY),
                                    (day(3), "nurture", "verified", LATERAL)]


def test_most_advanced_on_equal_rank_path_beats_off_path_whoever_holds_it():
    log = Log()
    log.many(status(A1, "lead", day(1)),  # own: verified
             link("p1", "a1", day(2)), status(P1, "recycle", day(3)))  # p1: nurture
    assert moves(replay(log)[A1]) == [(None, "verified", ENTRY)]


def test_most_advanced_on_equal_rank_and_kind_the_stage_listed_first_wins():
    def add_parked(data):
        data["stages"].insert(3, {"key": "parked", "kind": "off_path", "rank": 2})
        data["map"]["status"]["lifecycle_stage"]["park"] = "parked"
    definitions = b2b_plus_with(add_parked)
    for own, member in (("recycle", "park"), ("park", "recycle")):
        log = Log()
        log.many(status(A1, own, day(1)), link("p1", "a1", day(2)),
                 status(P1, member, day(3)))
        account = replay(log, definitions)[A1]
        assert account.stage_at(day(4)) == "nurture", (own, member)


def test_most_advanced_none_ranked_falls_back_to_own_exit_stage():
    log = Log()
    log.many(status(A1, "churned", day(1)), link("p1", "a1", day(2)), disq(P1, day(3)))
    account = replay(log)[A1]
    assert moves(account) == [(None, "churned", ENTRY)]
    assert account.stage_at(day(4)) == "churned"


def test_most_advanced_ranked_member_outranks_own_exit():
    log = Log()
    log.many(status(A1, "churned", day(1)), link("p1", "a1", day(2)),
             status(P1, "lead", day(3)), disq(P1, day(4)))
    assert timed_moves(replay(log)[A1]) == [
        (day(1), None, "churned", ENTRY),
        (day(3), "churned", "verified", REENTRY),
        (day(4), "verified", "churned", EXIT),
    ]


def test_most_advanced_none_ranked_and_no_own_stage_is_none():
    log = Log()
    log.many(link("p1", "a1", day(1)), disq(P1, day(2)))
    account = replay(log)[A1]
    assert moves(account) == [] and account.stamps == [] and account.intervals == []
    assert account.stage_at(day(3)) is None


def test_most_advanced_fall_back_to_none_is_not_a_transition_and_next_is_an_entry():
    log = Log()
    log.many(
        status(P1, "lead", day(0)),
        link("p1", "a1", day(1)),              # a1: verified (entry)
        left("p1", day(2)),                    # p1 leaves: a1 has nothing -> none
        status(P2, "marketingqualifiedlead", day(3)),
        link("p2", "a1", day(4)),              # a1: mql, an entry again
    )
    account = replay(log)[A1]
    assert timed_moves(account) == [(day(1), None, "verified", ENTRY),
                                    (day(4), None, "mql", ENTRY)]
    assert intervals(account) == [("verified", day(1), day(2)), ("mql", day(4), None)]
    assert account.stage_at(day(2)) is None
    assert account.stage_at(day(3.5)) is None
    got = stamps(account)
    assert got["verified"] == (day(1), day(1), 1, False)
    assert got["new"] == (day(1), None, 0, True)
    assert got["mql"] == (day(4), day(4), 1, False)


def test_most_advanced_is_evaluated_once_per_distinct_moment():
    log = Log()
    log.many(
        status(A1, "lead", day(1)),
        link("p1", "a1", day(1)),
        status(P1, "marketingqualifiedlead", day(1)),
        status(P1, "salesqualifiedlead", day(1)),
    )
    person = replay(log)[P1]
    assert len(person.transitions) == 2  # the person moves twice at day 1 ...
    account = replay(log)[A1]
    assert timed_moves(account) == [(day(1), None, "sql", ENTRY)]  # ... the account once
    got = stamps(account)
    assert "verified" in got and got["verified"][3] is True  # only inferred


def test_most_advanced_no_change_at_a_moment_is_no_transition():
    log = Log()
    log.many(status(A1, "salesqualifiedlead", day(1)), link("p1", "a1", day(2)),
             status(P1, "lead", day(3)), status(P1, "marketingqualifiedlead", day(4)))
    assert moves(replay(log)[A1]) == [(None, "sql", ENTRY)]


def test_most_advanced_counts_members_only_from_their_link():
    log = Log()
    log.many(status(P1, "salesqualifiedlead", day(1)), link("p1", "a1", day(5)))
    account = replay(log)[A1]
    assert timed_moves(account) == [(day(5), None, "sql", ENTRY)]
    assert account.stage_at(day(4)) is None


def test_person_belongs_to_the_account_of_its_latest_link_at_or_before_t():
    log = Log()
    log.many(status(A1, "lead", day(0)), status(P1, "salesqualifiedlead", day(0)),
             link("p1", "a1", day(1)), link("p1", "a2", day(3)))
    histories = replay(log)
    assert timed_moves(histories[A1]) == [(day(0), None, "verified", ENTRY),
                                          (day(1), "verified", "sql", FORWARD),
                                          (day(3), "sql", "verified", BACKWARD)]
    assert timed_moves(histories[A2]) == [(day(3), None, "sql", ENTRY)]
    assert histories[A2].stage_at(day(3)) == "sql"  # a link at T counts at T
    assert histories[A1].stage_at(day(3)) == "verified"


def test_relinking_to_the_same_account_changes_nothing():
    log = Log()
    log.many(status(P1, "lead", day(0)), link("p1", "a1", day(1)), link("p1", "a1", day(2)))
    histories = replay(log)
    assert timed_moves(histories[A1]) == [(day(1), None, "verified", ENTRY)]
    assert [(m.account_id, m.start, m.end) for m in histories[P1].memberships] == [
        ("a1", day(1), None)]


def test_two_links_at_the_same_instant_the_later_recorded_wins():
    log = Log()
    log.many(status(P1, "lead", day(0)), link("p1", "a1", day(1)), link("p1", "a2", day(1)))
    histories = replay(log)
    assert moves(histories[A1]) == []
    assert timed_moves(histories[A2]) == [(day(1), None, "verified", ENTRY)]


def test_account_rollup_none_uses_own_facts_only():
    log = Log()
    log.many(status(A1, "lead", day(1)), link("p1", "a1", day(2)),
             status(P1, "customer", day(3)))
    histories = replay(log, rollup_none())
    assert moves(histories[A1]) == [(None, "verified", ENTRY)]
    assert A2 not in histories


def test_account_rollup_none_with_only_members_has_no_stage():
    log = Log()
    log.many(link("p1", "a1", day(1)), status(P1, "customer", day(2)))
    account = replay(log, rollup_none())[A1]
    assert moves(account) == [] and account.stage_at(day(3)) is None


def test_rolled_up_account_stamps_infer_like_a_persons():
    log = Log()
    log.many(status(A1, "lead", day(1)), link("p1", "a1", day(1)),
             status(P1, "salesqualifiedlead", day(2)))
    got = stamps(replay(log)[A1])
    assert got["verified"] == (day(1), day(1), 1, False)
    assert got["new"] == (day(1), None, 0, True)
    for stage in ("mql", "sal", "meeting_set"):
        assert got[stage] == (day(2), None, 0, True)
    assert got["sql"] == (day(2), day(2), 1, False)


def test_rolled_up_transition_cause_is_the_member_fact():
    log = Log()
    log.add(status(A1, "lead", day(1)))
    log.add(link("p1", "a1", day(1)))
    moved = log.add(status(P1, "salesqualifiedlead", day(2)))
    account = replay(log)[A1]
    assert account.transitions[-1].cause.event_id == moved.event_id
    assert {s.stage: s.snapshot.cause.event_id for s in account.stamps}["sql"] == \
        moved.event_id


def test_rollup_respects_known_at_for_members():
    log = Log()
    log.add(status(A1, "lead", day(1)))
    linked = log.add(link("p1", "a1", day(2)))
    log.add(status(P1, "customer", day(3)))
    early = replay(log, known_at=linked.recorded_at)[A1]
    assert moves(early) == [(None, "verified", ENTRY)]
    assert moves(replay(log)[A1])[-1] == ("verified", "customer", FORWARD)


def test_rollup_ignores_a_retracted_link():
    log = Log()
    log.add(status(A1, "lead", day(1)))
    linked = log.add(link("p1", "a1", day(2)))
    log.add(status(P1, "customer", day(3)))
    log.retract(linked)
    assert moves(replay(log)[A1]) == [(None, "verified", ENTRY)]


# ---- person_left ends the membership (documented extension) ----------------------------------


def test_person_left_ends_membership_of_its_account():
    log = Log()
    log.many(status(A1, "lead", day(0)), status(P1, "marketingqualifiedlead", day(0)),
             link("p1", "a1", day(1)), left("p1", day(3)))
    histories = replay(log)
    assert [(m.account_id, m.start, m.end) for m in histories[P1].memberships] == [
        ("a1", day(1), day(3))]
    assert timed_moves(histories[A1]) == [(day(0), None, "verified", ENTRY),
                                          (day(1), "verified", "mql", FORWARD),
                                          (day(3), "mql", "verified", BACKWARD)]


def test_person_left_ends_membership_even_when_person_left_maps_to_no_stage():
    definitions = b2b_plus_with(lambda d: d["map"].pop("person_left"))
    log = Log()
    log.many(status(A1, "lead", day(0)), status(P1, "marketingqualifiedlead", day(0)),
             link("p1", "a1", day(1)), left("p1", day(3)))
    histories = replay(log, definitions)
    assert histories[P1].stage_at(day(4)) == "mql"  # the person keeps its stage
    assert histories[A1].stage_at(day(4)) == "verified"  # but no longer counts for a1


def test_person_linked_again_after_leaving_counts_again():
    log = Log()
    log.many(status(P1, "customer", day(0)), link("p1", "a1", day(1)), left("p1", day(2)),
             status(P1, "customer", day(3)), link("p1", "a1", day(4)))
    histories = replay(log, b2b_plus_with(lambda d: d["map"].pop("person_left")))
    assert [(m.start, m.end) for m in histories[P1].memberships] == [(day(1), day(2)),
                                                                     (day(4), None)]
    assert timed_moves(histories[A1]) == [(day(1), None, "customer", ENTRY),
                                          (day(4), None, "customer", ENTRY)]


def test_rolled_up_move_when_a_person_leaves_is_caused_by_the_leaving():
    log = Log()
    log.many(status(A1, "lead", day(0)), status(P1, "marketingqualifiedlead", day(0)),
             link("p1", "a1", day(1)))
    gone = log.add(left("p1", day(3)))
    account = replay(log, b2b_plus_with(lambda d: d["map"].pop("person_left")))[A1]
    assert moves(account)[-1] == ("mql", "verified", BACKWARD)
    assert account.transitions[-1].cause.event_id == gone.event_id


def test_rolled_up_move_when_a_person_moves_on_is_caused_by_the_new_link():
    log = Log()
    log.many(status(A1, "lead", day(0)), status(P1, "marketingqualifiedlead", day(0)),
             link("p1", "a1", day(1)))
    moved_on = log.add(link("p1", "a2", day(3)))
    account = replay(log)[A1]
    assert moves(account)[-1] == ("mql", "verified", BACKWARD)
    assert account.transitions[-1].cause.event_id == moved_on.event_id
