"""SPEC §2 and §6: what a fact is, how it validates, and its identity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from lifecycle.domain.facts import (
    FACT_TYPES,
    FactInputError,
    PersonLinked,
    StatusChanged,
    Subject,
    parse_fact,
)
from lifecycle.domain.timeutil import TimeError, format_instant, parse_instant

BASE = {"type": "status_changed", "person_id": "00Q1", "occurred_at": "2024-03-01T08:00:00Z",
        "value": "lead"}


def with_(**changes):
    data = dict(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def rejects(data, field=None, match=None, assume_tz=None) -> FactInputError:
    with pytest.raises(FactInputError) as caught:
        parse_fact(data, assume_tz)
    if field is not None:
        assert caught.value.field == field, caught.value
    if match is not None:
        assert match in caught.value.reason
    return caught.value


# ---- exactly one subject ---------------------------------------------------------------


def test_exactly_one_subject_person():
    fact = parse_fact(BASE)
    assert fact.subject == Subject("person", "00Q1")


def test_exactly_one_subject_account():
    fact = parse_fact(with_(person_id=None, account_id="51"))
    assert fact.subject == Subject("account", "51")


def test_exactly_one_subject_neither_is_rejected():
    error = rejects(with_(person_id=None))
    assert "exactly one" in error.reason
    assert error.field in ("person_id", "account_id")


def test_exactly_one_subject_both_is_rejected():
    error = rejects(with_(account_id="51"))
    assert "exactly one" in error.reason


def test_person_and_account_may_share_an_id():
    person = parse_fact(with_(person_id="51"))
    account = parse_fact(with_(person_id=None, account_id="51"))
    assert person.subject != account.subject
    assert person.event_id() != account.event_id()
    assert person.subject.stream_id != account.subject.stream_id


def test_numeric_ids_are_read_as_strings():
    fact = parse_fact(with_(person_id=None, account_id=51))
    assert fact.subject == Subject("account", "51")


def test_person_linked_has_both_ids_and_is_about_the_person():
    fact = parse_fact({"type": "person_linked", "person_id": "p1", "account_id": "a1",
                       "occurred_at": "2024-03-01T08:00:00Z"})
    assert isinstance(fact, PersonLinked)
    assert fact.subject == Subject("person", "p1")
    assert fact.account_id == "a1"


@pytest.mark.parametrize("missing", ["person_id", "account_id"])
def test_person_linked_needs_both_ids(missing):
    data = {"type": "person_linked", "person_id": "p1", "account_id": "a1",
            "occurred_at": "2024-03-01T08:00:00Z"}
    del data[missing]
    error = rejects(data, field=missing)
    assert "both" in error.reason


# ---- subject kinds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "fields"),
    [
        ("hand_raised", {"kind": "demo_request"}),
        ("person_left", {}),
    ],
)
def test_person_only_facts_refuse_an_account(type_, fields):
    good = {"type": type_, "person_id": "p1", "occurred_at": "2024-03-01T08:00:00Z", **fields}
    assert parse_fact(good).subject == Subject("person", "p1")
    bad = {"type": type_, "account_id": "a1", "occurred_at": "2024-03-01T08:00:00Z", **fields}
    error = rejects(bad, field="account_id")
    assert "person" in error.reason


def test_renewal_flagged_is_about_an_account_only():
    fields = {"type": "renewal_flagged", "occurred_at": "2024-03-01T08:00:00Z",
              "flag": "renewal", "state": "raised"}
    assert parse_fact({**fields, "account_id": "a1"}).subject == Subject("account", "a1")
    error = rejects({**fields, "person_id": "p1"}, field="person_id")
    assert "account" in error.reason


@pytest.mark.parametrize("type_", ["status_changed", "disqualified", "retracted"])
def test_person_or_account_facts_accept_either(type_):
    extra = {"status_changed": {"value": "lead"}, "disqualified": {},
             "retracted": {"target_event_id": str(uuid.uuid4())}}[type_]
    for subject_field in ("person_id", "account_id"):
        fact = parse_fact({"type": type_, subject_field: "x1",
                           "occurred_at": "2024-03-01T08:00:00Z", **extra})
        assert fact.subject.id == "x1"


def test_fact_types_are_the_ten_of_the_spec():
    assert set(FACT_TYPES) == {"status_changed", "hand_raised", "disqualified",
                               "renewal_flagged", "person_linked", "person_left",
                               "opportunity_linked", "contact_role", "merged", "retracted"}


# ---- own fields --------------------------------------------------------------------------


def test_status_changed_field_defaults_to_lifecycle_stage():
    fact = parse_fact(BASE)
    assert isinstance(fact, StatusChanged)
    assert fact.field == "lifecycle_stage"
    assert fact.previous is None


def test_status_changed_empty_value_is_kept_as_cleared():
    assert parse_fact(with_(value="")).value == ""


def test_status_changed_value_is_required():
    rejects(with_(value=None), field="value", match="missing")


@pytest.mark.parametrize("fit", ["high", "medium", "low", " HIGH ", "Medium"])
def test_hand_raised_fit_values_case_insensitive(fit):
    fact = parse_fact({"type": "hand_raised", "person_id": "p1", "kind": "demo_request",
                       "fit": fit, "occurred_at": "2024-03-01T08:00:00Z"})
    assert fact.fit == fit.strip().lower()


def test_hand_raised_fit_is_optional():
    fact = parse_fact({"type": "hand_raised", "person_id": "p1", "kind": "demo_request",
                       "occurred_at": "2024-03-01T08:00:00Z"})
    assert fact.fit is None


def test_hand_raised_unknown_fit_is_rejected_naming_fit():
    rejects({"type": "hand_raised", "person_id": "p1", "kind": "demo_request",
             "fit": "enormous", "occurred_at": "2024-03-01T08:00:00Z"}, field="fit")


@pytest.mark.parametrize(("field", "value"), [("flag", "churn"), ("state", "lowered")])
def test_renewal_flagged_flag_and_state_are_closed_sets(field, value):
    data = {"type": "renewal_flagged", "account_id": "a1", "flag": "renewal",
            "state": "raised", "occurred_at": "2024-03-01T08:00:00Z", field: value}
    rejects(data, field=field)


def test_retracted_needs_a_uuid_target():
    rejects({"type": "retracted", "person_id": "p1", "occurred_at": "2024-03-01T08:00:00Z",
             "target_event_id": "not-a-uuid"}, field="target_event_id")


# ---- unknown fields and types ------------------------------------------------------------


def test_unknown_field_is_rejected_naming_it():
    error = rejects(with_(colour="blue"), field="colour")
    assert error.reason == "unknown field"


def test_field_of_another_fact_type_is_unknown():
    rejects(with_(kind="demo_request"), field="kind")


def test_unknown_fact_type_is_rejected_naming_type():
    error = rejects(with_(type="stage_guessed"), field="type")
    assert "stage_guessed" in error.reason
    assert "status_changed" in error.reason  # lists the known types


def test_missing_fact_type_is_rejected_naming_type():
    rejects(with_(type=None), field="type", match="missing")


def test_wrongly_typed_field_is_rejected_naming_it():
    rejects(with_(value=["lead"]), field="value")


def test_empty_subject_id_is_rejected():
    rejects(with_(person_id=""), field="person_id")


def test_a_fact_must_be_a_mapping():
    with pytest.raises(FactInputError):
        parse_fact(["status_changed"])  # type: ignore[arg-type]


# ---- timestamps --------------------------------------------------------------------------


def test_occurred_at_is_required():
    rejects(with_(occurred_at=None), field="occurred_at", match="missing")


@pytest.mark.parametrize("naive", ["2024-03-01T08:00:00", "2024-03-01 08:00:00"])
def test_naive_timestamp_is_rejected(naive):
    error = rejects(with_(occurred_at=naive), field="occurred_at")
    assert "offset" in error.reason


def test_naive_timestamp_with_assume_tz_is_read_in_that_zone():
    fact = parse_fact(with_(occurred_at="2024-07-01T10:00:00"),
                      assume_tz=ZoneInfo("Europe/Berlin"))
    assert fact.occurred_at == datetime(2024, 7, 1, 8, 0, tzinfo=UTC)  # CEST = +02:00


def test_assume_tz_does_not_override_an_explicit_offset():
    fact = parse_fact(with_(occurred_at="2024-07-01T10:00:00-05:00"),
                      assume_tz=ZoneInfo("Europe/Berlin"))
    assert fact.occurred_at == datetime(2024, 7, 1, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["yesterday", "", "2024-13-01T00:00:00Z", 1709280000])
def test_unreadable_timestamp_is_rejected(bad):
    rejects(with_(occurred_at=bad), field="occurred_at")


def test_naive_datetime_object_is_rejected_too():
    with pytest.raises(FactInputError):
        parse_fact(with_(occurred_at=datetime(2024, 3, 1, 8)))


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2024-03-01T10:00:00+02:00", "2024-03-01T08:00:00Z"),
        ("2024-03-01T08:00:00Z", "2024-03-01T08:00:00Z"),
        ("2024-03-01T08:00:00z", "2024-03-01T08:00:00Z"),
        ("2024-03-01T08:00:00.250+00:00", "2024-03-01T08:00:00.250000Z"),
        ("2024-03-01T08:00:00.000000Z", "2024-03-01T08:00:00Z"),
        ("2024-02-29T23:30:00-08:30", "2024-03-01T08:00:00Z"),
    ],
)
def test_occurred_at_is_stored_in_utc_format(given, stored):
    fact = parse_fact(with_(occurred_at=given))
    assert fact.occurred_at.utcoffset() == timedelta(0)
    assert fact.canonical()["occurred_at"] == stored
    assert format_instant(fact.occurred_at) == stored


def test_format_instant_converts_to_utc():
    moment = datetime(2024, 3, 1, 10, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert format_instant(moment) == "2024-03-01T08:00:00.000005Z"
    assert format_instant(None) is None


def test_format_instant_pads_the_year_to_four_digits():
    assert format_instant(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0999-01-02T03:04:05Z"


def test_parse_instant_returns_utc():
    assert parse_instant("2024-03-01T10:00:00+02:00") == datetime(2024, 3, 1, 8, tzinfo=UTC)
    with pytest.raises(TimeError):
        parse_instant("2024-03-01T10:00:00")


# ---- identity ----------------------------------------------------------------------------


def test_identity_is_source_and_source_id_when_both_given():
    one = parse_fact(with_(source="hubspot", source_id="h-1"))
    other = parse_fact(with_(source="hubspot", source_id="h-1", value="customer",
                             occurred_at="2024-05-05T00:00:00Z"))
    assert one.event_id() == other.event_id()
    assert one.event_id() != parse_fact(with_(source="hubspot", source_id="h-2")).event_id()
    assert one.event_id() != parse_fact(with_(source="sfdc", source_id="h-1")).event_id()


def test_identity_is_a_content_hash_when_source_id_missing():
    one = parse_fact(with_(source="hubspot"))
    assert one.event_id() == parse_fact(with_(source="hubspot")).event_id()
    assert one.event_id() != parse_fact(with_(source="hubspot", value="customer")).event_id()
    assert one.event_id() != parse_fact(BASE).event_id()  # source is part of the content


def test_identity_is_a_content_hash_when_source_missing():
    one = parse_fact(with_(source_id="x-1"))
    assert one.event_id() != parse_fact(with_(source_id="x-1", value="customer")).event_id()


def test_event_id_is_a_uuid_and_stable():
    event_id = parse_fact(BASE).event_id()
    assert isinstance(event_id, uuid.UUID)
    assert event_id == parse_fact(dict(BASE)).event_id()


def test_identity_hash_uses_utc_instants():
    offset = parse_fact(with_(occurred_at="2024-03-01T10:00:00+02:00"))
    zulu = parse_fact(with_(occurred_at="2024-03-01T08:00:00Z"))
    assert offset.event_id() == zulu.event_id()


def test_identity_hash_fills_default_field():
    assert parse_fact(BASE).event_id() == parse_fact(with_(field="lifecycle_stage")).event_id()
    assert parse_fact(BASE).event_id() != parse_fact(with_(field="Status")).event_id()


def test_identity_hash_ignores_key_order():
    reordered = dict(reversed(list(with_(actor="ann", campaign="q1").items())))
    assert parse_fact(reordered).event_id() == \
        parse_fact(with_(actor="ann", campaign="q1")).event_id()


def test_identity_hash_ignores_absent_optionals_given_as_null():
    explicit = with_()
    explicit.update(previous=None, actor=None, source=None)
    assert parse_fact(explicit).event_id() == parse_fact(BASE).event_id()


def test_identity_hash_covers_every_other_field():
    base = parse_fact(BASE).event_id()
    for change in ({"actor": "ann"}, {"campaign": "q1"}, {"previous": "subscriber"},
                   {"person_id": "00Q2"}, {"occurred_at": "2024-03-01T08:00:01Z"},
                   {"type": "status_changed", "field": "Status"}):
        assert parse_fact(with_(**change)).event_id() != base, change


def test_identity_hash_distinguishes_fact_types():
    disq = parse_fact({"type": "disqualified", "person_id": "00Q1",
                       "occurred_at": "2024-03-01T08:00:00Z"})
    left = parse_fact({"type": "person_left", "person_id": "00Q1",
                       "occurred_at": "2024-03-01T08:00:00Z"})
    assert disq.event_id() != left.event_id()


def test_identity_hash_uses_normalised_fit():
    def raised(fit):
        return parse_fact({"type": "hand_raised", "person_id": "p1", "kind": "demo_request",
                           "fit": fit, "occurred_at": "2024-03-01T08:00:00Z"})
    assert raised(" High ").event_id() == raised("high").event_id()


def test_canonical_has_utc_instant_and_default_field():
    canonical = parse_fact(with_(occurred_at="2024-03-01T10:00:00+02:00")).canonical()
    assert canonical == {"type": "status_changed", "person_id": "00Q1",
                         "occurred_at": "2024-03-01T08:00:00Z", "field": "lifecycle_stage",
                         "value": "lead"}


def test_identity_ignores_the_key_order_of_nested_attributes():
    """SPEC §6: key order irrelevant, also inside `attributes` (e.g. HubSpot's sourceType)."""
    base = {"type": "hand_raised", "person_id": "p", "occurred_at": "2024-01-01T00:00:00Z",
            "kind": "demo_request"}
    one = parse_fact({**base, "attributes": {"sourceType": "FORM", "sourceId": "f1"}})
    two = parse_fact({**base, "attributes": {"sourceId": "f1", "sourceType": "FORM"}})
    assert one.event_id() == two.event_id()
    assert one.canonical_json() == two.canonical_json()
