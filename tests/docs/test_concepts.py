"""The worked examples of docs/concepts.md, derived by the real code: the page's tables and
diagrams say what these tests check."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from lifecycle.domain.definitions import load_definitions
from lifecycle.domain.derivation import derive_subject
from lifecycle.domain.facts import Subject, parse_fact
from lifecycle.domain.links import cascade_flags, flag_intervals
from lifecycle.domain.recorded import RecordedFact
from lifecycle.domain.starters import starter_text

HUBSPOT = load_definitions(starter_text("hubspot-default") or "")
LATE = datetime(2025, 1, 1, tzinfo=UTC)
_seq = count(1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2024-{text}T00:00:00+00:00")


def recorded(data: dict, recorded_at: datetime = LATE, version: int = 0) -> RecordedFact:
    fact = parse_fact(data)
    seq = next(_seq)
    return RecordedFact(fact, fact.event_id(), recorded_at, version or seq, seq)


def status(person: str, when: str, value: str, field: str = "lifecyclestage") -> RecordedFact:
    return recorded({"type": "status_changed", "person_id": person, "field": field,
                     "value": value, "occurred_at": at(when).isoformat()})


def test_the_journey_with_a_skip_a_backward_move_an_exit_and_a_reentry() -> None:
    facts = [status("p", "01-08", "lead"),
             status("p", "01-22", "marketingqualifiedlead"),
             status("p", "02-05", "lead"),
             status("p", "02-20", "opportunity"),
             status("p", "03-01", "UNQUALIFIED", field="hs_lead_status"),
             status("p", "04-10", "marketingqualifiedlead")]
    history = derive_subject(HUBSPOT, Subject("person", "p"), facts)
    assert [(t.occurred_at, t.from_stage, t.to_stage, t.direction)
            for t in history.transitions] == [
        (at("01-08"), None, "lead", "entry"),
        (at("01-22"), "lead", "marketingqualifiedlead", "forward"),
        (at("02-05"), "marketingqualifiedlead", "lead", "backward"),
        (at("02-20"), "lead", "opportunity", "forward"),
        (at("03-01"), "opportunity", "unqualified", "exit"),
        (at("04-10"), "unqualified", "marketingqualifiedlead", "reentry")]
    stamps = {s.stage: (s.first_reached_at, s.times_reached, s.inferred)
              for s in history.stamps}
    assert stamps == {
        "subscriber": (at("01-08"), 0, True),
        "lead": (at("01-08"), 2, False),
        "marketingqualifiedlead": (at("01-22"), 2, False),
        "salesqualifiedlead": (at("02-20"), 0, True),
        "opportunity": (at("02-20"), 1, False),
        "unqualified": (at("03-01"), 1, False)}
    assert history.stage_at(at("03-15")) == "unqualified"
    assert history.stage_at(at("04-30")) == "marketingqualifiedlead"


def test_a_flag_cascades_to_a_person_while_it_belongs_to_the_account() -> None:
    flags = [recorded({"type": "renewal_flagged", "account_id": "acme", "flag": "at_risk",
                       "state": state, "occurred_at": at(when).isoformat()})
             for state, when in (("raised", "03-01"), ("cleared", "05-01"))]
    link = recorded({"type": "person_linked", "person_id": "51", "account_id": "acme",
                     "occurred_at": at("04-01").isoformat()})
    person = derive_subject(HUBSPOT, Subject("person", "51"), [link])
    cascaded = cascade_flags(person.memberships, {"acme": flag_intervals("acme", flags)})
    assert [(f.flag, f.raised_at, f.cleared_at, f.person_id) for f in cascaded] == [
        ("at_risk", at("04-01"), at("05-01"), "51")]


def test_a_retraction_counts_from_when_it_was_recorded() -> None:
    fact = status("r", "01-15", "customer")
    fact = RecordedFact(fact.fact, fact.event_id, at("04-01"), 1, 1)
    retraction = recorded({"type": "retracted", "person_id": "r",
                           "target_event_id": str(fact.event_id),
                           "occurred_at": at("04-10").isoformat()}, at("04-10"), 2)
    subject = Subject("person", "r")
    before = derive_subject(HUBSPOT, subject, [fact, retraction], known_at=at("04-05"))
    after = derive_subject(HUBSPOT, subject, [fact, retraction], known_at=at("04-12"))
    now = derive_subject(HUBSPOT, subject, [fact, retraction])
    assert before.stage_at(at("03-31")) == "customer"
    assert after.stage_at(at("03-31")) is None
    assert now.stage_at(at("12-31")) is None
