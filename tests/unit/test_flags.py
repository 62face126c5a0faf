"""SPEC §4: flags are intervals on the account, raised to cleared, and cascade to the
persons linked to it (only while linked)."""

from __future__ import annotations

from lifecycle.domain.history import FlagInterval
from lifecycle.domain.links import cascade_flags, flag_intervals

from .helpers import A, Log, P, day, derive, flag, left, link, replay

A1, A2 = A("a1"), A("a2")


def spans(flags):
    return [(f.flag, f.raised_at, f.cleared_at) for f in flags]


def active(flags, at):
    return sorted(f.flag for f in flags
                  if f.raised_at <= at and (f.cleared_at is None or at < f.cleared_at))


def test_flag_is_an_interval_from_raised_to_cleared():
    log = Log()
    log.many(flag("a1", "renewal", "raised", day(1)), flag("a1", "renewal", "cleared", day(3)),
             flag("a1", "renewal", "raised", day(5)))
    assert spans(derive(A1, log).flags) == [("renewal", day(1), day(3)),
                                            ("renewal", day(5), None)]


def test_flags_are_independent():
    log = Log()
    log.many(flag("a1", "renewal", "raised", day(1)), flag("a1", "at_risk", "raised", day(2)),
             flag("a1", "renewal", "cleared", day(3)), flag("a1", "upgrade", "raised", day(4)))
    flags = derive(A1, log).flags
    assert spans(flags) == [("renewal", day(1), day(3)), ("at_risk", day(2), None),
                            ("upgrade", day(4), None)]
    assert active(flags, day(2)) == ["at_risk", "renewal"]
    assert active(flags, day(3)) == ["at_risk"]  # cleared at T: no longer active at T


def test_flag_raised_twice_keeps_the_first_raise():
    log = Log()
    log.many(flag("a1", "upgrade", "raised", day(1)), flag("a1", "upgrade", "raised", day(2)),
             flag("a1", "upgrade", "cleared", day(3)))
    assert spans(derive(A1, log).flags) == [("upgrade", day(1), day(3))]


def test_flag_cleared_without_being_raised_is_ignored():
    log = Log()
    log.many(flag("a1", "at_risk", "cleared", day(1)), flag("a1", "at_risk", "raised", day(2)))
    assert spans(derive(A1, log).flags) == [("at_risk", day(2), None)]


def test_flag_order_follows_occurred_at_not_arrival():
    log = Log()
    log.many(flag("a1", "renewal", "cleared", day(3)), flag("a1", "renewal", "raised", day(1)))
    assert spans(derive(A1, log).flags) == [("renewal", day(1), day(3))]


def test_flags_derive_no_stage():
    log = Log()
    rec = log.add(flag("a1", "renewal", "raised", day(1)))
    history = derive(A1, log)
    assert history.transitions == [] and history.outcomes[rec.event_id].kind == "recorded"


def test_retracted_flag_is_ignored():
    log = Log()
    raised = log.add(flag("a1", "renewal", "raised", day(1)))
    log.retract(raised)
    assert derive(A1, log).flags == []


def test_persons_have_no_flags_of_their_own():
    log = Log()
    log.add(link("p1", "a1", day(1)))
    assert derive(P("p1"), log).flags == []


def test_flags_cascade_to_persons_only_while_linked():
    log = Log()
    log.many(
        flag("a1", "renewal", "raised", day(1)),
        flag("a1", "at_risk", "raised", day(4)),
        flag("a1", "at_risk", "cleared", day(6)),
        flag("a2", "upgrade", "raised", day(0)),
        link("p1", "a1", day(2)),
        link("p1", "a2", day(5)),  # leaves a1 for a2
    )
    histories = replay(log)
    by_account = {"a1": histories[A1].flags, "a2": histories[A2].flags}
    cascaded = cascade_flags(histories[P("p1")].memberships, by_account)
    assert [(f.account_id, f.flag, f.raised_at, f.cleared_at, f.person_id)
            for f in cascaded] == [
        ("a1", "renewal", day(2), day(5), "p1"),
        ("a1", "at_risk", day(4), day(5), "p1"),
        ("a2", "upgrade", day(5), None, "p1"),
    ]
    assert active(cascaded, day(1)) == []  # the account had it, the person was not linked
    assert active(cascaded, day(4.5)) == ["at_risk", "renewal"]
    assert active(cascaded, day(5)) == ["upgrade"]


def test_flags_cascade_ends_when_person_leaves():
    log = Log()
    log.many(flag("a1", "renewal", "raised", day(1)), link("p1", "a1", day(2)),
             left("p1", day(3)))
    histories = replay(log)
    cascaded = cascade_flags(histories[P("p1")].memberships, {"a1": histories[A1].flags})
    assert spans(cascaded) == [("renewal", day(2), day(3))]


def test_flag_cleared_before_link_does_not_cascade():
    flags = [FlagInterval("a1", "renewal", day(1), day(2))]
    log = Log()
    log.add(link("p1", "a1", day(2)))
    assert cascade_flags(derive(P("p1"), log).memberships, {"a1": flags}) == []


def test_flag_intervals_function_directly():
    log = Log()
    recs = log.many(flag("a1", "renewal", "raised", day(1)))
    assert flag_intervals("a1", recs) == [FlagInterval("a1", "renewal", day(1), None)]
