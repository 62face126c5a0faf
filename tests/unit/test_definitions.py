"""SPEC §3 and §6: definitions are validated on load with a message naming the key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lifecycle.domain.definitions import DefinitionsError, definitions_from_data, load_definitions
from lifecycle.domain.timeutil import parse_duration

from .helpers import b2b, b2b_data

MINIMAL = """
version: v1
stages:
  - {key: new, kind: path, rank: 1}
  - {key: mql, kind: path, rank: 2}
  - {key: lost, kind: exit}
map:
  status:
    lifecycle_stage: {lead: new}
"""


def invalid(data_or_text, *needles: str) -> str:
    with pytest.raises(DefinitionsError) as caught:
        if isinstance(data_or_text, str):
            load_definitions(data_or_text)
        else:
            definitions_from_data(data_or_text)
    message = str(caught.value)
    for needle in needles:
        assert needle in message, message
    return message


# ---- the bundled example -----------------------------------------------------------------


def test_bundled_b2b_definitions_load():
    definitions = b2b()
    assert definitions.version == "b2b-2024"
    assert [s.key for s in definitions.stages][:4] == ["new", "verified", "nurture", "mql"]
    assert definitions.rank("nurture") == 2
    assert definitions.is_exit("churned")
    assert definitions.label("sal") == "Sales Accepted/Working"
    assert definitions.sla[0].duration == timedelta(hours=24)
    assert definitions.sla[1].duration == timedelta(days=14)
    assert definitions.map.hand_raised is not None
    assert definitions.map.hand_raised.min_fit == "medium"


# ---- defaults ----------------------------------------------------------------------------


def test_defaults_account_rollup_most_advanced_and_stamp_skipped_true():
    definitions = load_definitions(MINIMAL)
    assert definitions.account_rollup == "most_advanced"
    assert definitions.stamp_skipped is True
    assert definitions.sla == []


def test_default_label_is_the_key():
    definitions = load_definitions(MINIMAL)
    assert definitions.label("new") == "new"
    assert definitions.label("lost") == "lost"


def test_map_is_optional():
    definitions = load_definitions("version: v1\nstages: [{key: new, kind: path, rank: 1}]\n")
    assert definitions.map.status == {}
    assert definitions.map.hand_raised is None


def test_account_rollup_none_is_accepted_and_others_rejected():
    assert load_definitions(MINIMAL + "account_rollup: none\n").account_rollup == "none"
    invalid(MINIMAL + "account_rollup: sum\n", "account_rollup")


def test_stamp_skipped_false_is_accepted():
    assert load_definitions(MINIMAL + "stamp_skipped: false\n").stamp_skipped is False


# ---- unknown keys ------------------------------------------------------------------------


def test_unknown_top_level_key_is_named():
    invalid(MINIMAL + "stage_colours: {}\n", "stage_colours", "unknown key")


def test_unknown_stage_key_is_named_with_its_stage():
    data = b2b_data()
    data["stages"][3]["colour"] = "red"
    message = invalid(data, "colour", "unknown key")
    assert "stages[3]" in message and "mql" in message


def test_unknown_map_key_is_named():
    data = b2b_data()
    data["map"]["hand_raise"] = data["map"].pop("hand_raised")
    invalid(data, "map.hand_raise", "unknown key")


def test_unknown_hand_raised_key_is_named():
    data = b2b_data()
    data["map"]["hand_raised"]["minimum_fit"] = "high"
    invalid(data, "map.hand_raised.minimum_fit", "unknown key")


def test_unknown_sla_key_is_named():
    data = b2b_data()
    data["sla"][0]["after"] = "1h"
    invalid(data, "sla[0].after", "unknown key")


def test_missing_required_key_is_named():
    data = b2b_data()
    del data["version"]
    invalid(data, "version", "missing")
    data = b2b_data()
    del data["stages"][0]["kind"]
    invalid(data, "stages[0]", "kind", "missing")


def test_unknown_stage_kind_is_named():
    data = b2b_data()
    data["stages"][0]["kind"] = "pathway"
    invalid(data, "stages[0] (new).kind")


# ---- ranks -------------------------------------------------------------------------------


def test_path_stages_have_distinct_ranks():
    data = b2b_data()
    data["stages"][3]["rank"] = 2  # mql beside verified
    invalid(data, "verified", "mql", "rank 2")


def test_off_path_rank_must_equal_a_path_rank():
    data = b2b_data()
    data["stages"][2]["rank"] = 42  # nurture
    invalid(data, "nurture", "42")


def test_off_path_may_share_a_path_rank():
    data = b2b_data()
    data["stages"].append({"key": "parked", "kind": "off_path", "rank": 2})
    assert definitions_from_data(data).rank("parked") == 2


def test_off_path_needs_a_rank():
    data = b2b_data()
    del data["stages"][2]["rank"]
    invalid(data, "nurture", "rank")


def test_path_needs_a_rank():
    data = b2b_data()
    del data["stages"][0]["rank"]
    invalid(data, "new", "rank")


def test_exit_stages_have_no_rank():
    data = b2b_data()
    data["stages"][9]["rank"] = 9  # churned
    invalid(data, "churned", "rank")


def test_stage_keys_are_unique():
    data = b2b_data()
    data["stages"].append({"key": "mql", "kind": "exit"})
    invalid(data, "mql", "twice")


def test_at_least_one_stage():
    invalid("version: v1\nstages: []\n", "stages")


# ---- every stage a mapping names must exist ----------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["map"]["status"]["lifecycle_stage"].update(evangelist="fan"),
         "map.status.lifecycle_stage.evangelist"),
        (lambda d: d["map"]["status"]["Status"].update({"Closed - Lost": "lost"}),
         "map.status.Status.Closed - Lost"),
        (lambda d: d["map"]["hand_raised"].update(to="hot"), "map.hand_raised.to"),
        (lambda d: d["map"].update(disqualified="binned"), "map.disqualified"),
        (lambda d: d["map"].update(person_left="gone"), "map.person_left"),
        (lambda d: d["sla"][0].update(stage="qualified"), "sla.mql_follow_up.stage"),
    ],
)
def test_unknown_stage_in_any_mapping_is_named(mutate, where):
    data = b2b_data()
    mutate(data)
    invalid(data, where, "unknown stage")


def test_status_values_that_collide_case_insensitively_must_agree():
    data = b2b_data()
    data["map"]["status"]["lifecycle_stage"]["LEAD"] = "mql"
    invalid(data, "map.status.lifecycle_stage", "case-insensitively")
    data = b2b_data()
    data["map"]["status"]["lifecycle_stage"][" Lead "] = "verified"  # same stage: fine
    definitions_from_data(data)


def test_status_value_empty_after_trimming_cannot_map():
    data = b2b_data()
    data["map"]["status"]["lifecycle_stage"]["  "] = "new"
    invalid(data, "map.status.lifecycle_stage", "cleared")


def test_hand_raised_min_fit_is_a_fit():
    data = b2b_data()
    data["map"]["hand_raised"]["min_fit"] = "huge"
    invalid(data, "map.hand_raised.min_fit")
    data["map"]["hand_raised"]["min_fit"] = " High "
    assert definitions_from_data(data).map.hand_raised.min_fit == "high"


# ---- durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90m", timedelta(minutes=90)), ("24h", timedelta(hours=24)),
     ("14d", timedelta(days=14)), ("2w", timedelta(weeks=2)), ("1.5d", timedelta(hours=36)),
     ("0h", timedelta(0))],
)
def test_durations_are_a_number_with_m_h_d_or_w(text, expected):
    assert parse_duration(text) == expected
    data = b2b_data()
    data["sla"][0]["within"] = text
    assert definitions_from_data(data).sla[0].duration == expected


@pytest.mark.parametrize("text", ["24", "24s", "h", "one day", "-1h", "", "1 dh"])
def test_bad_duration_is_named(text):
    data = b2b_data()
    data["sla"][0]["within"] = text
    invalid(data, "sla[0].within")


@pytest.mark.parametrize("text", ["99999999999w", "1e400d", "infh", "nanh"])
def test_absurd_duration_is_a_definitions_error_not_a_traceback(text):
    data = b2b_data()
    data["sla"][0]["within"] = text
    invalid(data, "sla[0].within")


def test_bare_number_duration_in_yaml_is_rejected():
    text = MINIMAL + "sla:\n  - {name: x, stage: new, within: 24}\n"
    invalid(text, "sla[0].within", "unit")


# ---- YAML --------------------------------------------------------------------------------


def test_yaml_yes_and_on_stay_strings():
    text = """
version: v1
stages:
  - {key: "yes", kind: path, rank: 1}
  - {key: "on", kind: path, rank: 2}
  - {key: off, kind: path, rank: 3}
map:
  status:
    opt_in: {yes: "yes", no: "on", on: off, off: "yes", y: "on", n: "on"}
"""
    definitions = load_definitions(text)
    assert [s.key for s in definitions.stages] == ["yes", "on", "off"]
    assert definitions.map.status["opt_in"] == {
        "yes": "yes", "no": "on", "on": "off", "off": "yes", "y": "on", "n": "on"}


def test_yaml_unquoted_yes_as_stage_key_stays_a_string():
    definitions = load_definitions("version: v1\nstages: [{key: yes, kind: path, rank: 1}]\n")
    assert definitions.stages[0].key == "yes"


def test_yaml_true_false_are_still_booleans():
    assert load_definitions(MINIMAL + "stamp_skipped: False\n").stamp_skipped is False


def test_numeric_version_label_is_read_as_string():
    assert load_definitions(MINIMAL.replace("version: v1", "version: 2024")).version == "2024"


@pytest.mark.parametrize(
    "text",
    ["version: v1\nstages: [{key: new, kind: path, rank: 1}\n",  # unclosed flow
     "version: v1\n  stages: x\n bad: [\n",
     "\tversion: v1\n"],
)
def test_invalid_yaml_is_a_clear_definitions_error(text):
    message = invalid(text, "not valid YAML")
    assert "line" in message


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_yaml_that_is_not_a_mapping_is_a_definitions_error(text):
    invalid(text, "mapping")


def test_definitions_error_is_a_value_error_with_one_line_per_problem():
    data = b2b_data()
    data["colour"] = 1
    data["stages"][0]["rank"] = "first"
    message = invalid(data, "colour", "stages[0] (new).rank")
    assert "; " in message


# ---- derived lookups ---------------------------------------------------------------------


def test_path_stages_sorted_by_rank_and_order_follows_the_file():
    definitions = b2b()
    assert [s.key for s in definitions.path_stages] == [
        "new", "verified", "mql", "sal", "meeting_set", "sql", "late_stage", "customer"]
    assert definitions.order["new"] == 0 and definitions.order["inactive"] == 12


def test_content_hash_is_stable_and_changes_with_content():
    assert b2b().content_hash() == load_definitions(b2b().to_yaml()).content_hash()
    data = b2b_data()
    data["stamp_skipped"] = False
    assert definitions_from_data(data).content_hash() != b2b().content_hash()
