"""The demo: the sample-data generator, the bundled file, `lifecycle demo`, and one
subject of the demo data derived by hand under SPEC §4."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_calls import moves, stages, stamps

from cli import main
from lifecycle.application.ledger import Ledger
from lifecycle.application.reporting import run_report
from lifecycle.domain.facts import parse_fact
from lifecycle.sample import journeys
from lifecycle.sample.journey import DATA_FILE, DEMO_PARAMS, person_id
from lifecycle.sample.journeys import demo_lines, generate, generate_lines
from tests.integration.import_support import b2b_ledger

SMALL = {"persons": 80, "accounts": 10, "start": "2023-01-01T00:00:00Z", "years": 2,
         "seed": 7}


# ---- (a) the generator ----------------------------------------------------------------------

def test_generator_is_deterministic_and_every_fact_is_valid() -> None:
    first = list(generate(**SMALL))
    again = list(generate(**SMALL))
    assert first == again
    assert len(first) > 300
    assert list(generate(**{**SMALL, "seed": 8})) != first

    times = [f["occurred_at"] for f in first]
    assert times == sorted(times)
    for fact in first:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fact["occurred_at"])
        parse_fact(fact)  # raises on anything invalid
    assert times[0] >= "2023-01-01" and times[-1] < "2025-01-01"


def test_generator_covers_the_funnel() -> None:
    facts = list(generate(**DEMO_PARAMS))
    types = {f["type"] for f in facts}
    assert types == {"status_changed", "hand_raised", "disqualified", "renewal_flagged",
                     "person_linked", "person_left", "opportunity_linked", "contact_role",
                     "merged"}
    values = {(f["field"], f["value"]) for f in facts if f["type"] == "status_changed"}
    for value in ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
                  "opportunity", "customer", ""):
        assert ("lifecycle_stage", value) in values
    for value in ("Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                  "Closed - Not Converted"):
        assert ("Status", value) in values
    fits = {f.get("fit") for f in facts if f["type"] == "hand_raised"}
    assert {"high", "medium", "low"} <= fits
    flags = {(f["flag"], f["state"]) for f in facts if f["type"] == "renewal_flagged"}
    assert {("renewal", "raised"), ("renewal", "cleared"), ("upgrade", "raised"),
            ("at_risk", "raised")} <= flags
    sources = {f.get("source") for f in facts}
    assert {"hubspot", "salesforce", "webinar", "paid_search"} <= sources
    assert sum("source_id" in f for f in facts) > 0.9 * len(facts)
    assert any("campaign" in f for f in facts) and any("actor" in f for f in facts)
    # Some people move to another account.
    links: dict[str, set[str]] = {}
    for f in facts:
        if f["type"] == "person_linked":
            links.setdefault(f["person_id"], set()).add(f["account_id"])
    assert any(len(accounts) > 1 for accounts in links.values())


def test_generator_covers_the_pipeline() -> None:
    """Opportunities of every kind, won, lost and reopened, roles added and removed, and
    Salesforce leads converted into contacts (their lead statuses on the lead id)."""
    facts = list(generate(**DEMO_PARAMS))
    kinds = {f["kind"] for f in facts if f["type"] == "opportunity_linked"}
    assert kinds == {"New Business", "Renewal", "Existing Customer - Upgrade"}
    history: dict[str, list[str]] = {}
    for f in facts:
        if f["type"] == "status_changed" and "opportunity_id" in f:
            assert f["field"] == "StageName"
            history.setdefault(f["opportunity_id"], []).append(f["value"])
    finals = {stages[-1] for stages in history.values()}
    assert {"Closed Won", "Closed Lost", "Qualification"} <= finals
    assert any(s[s.index("Closed Lost") + 1:] for s in history.values() if "Closed Lost" in s)
    roles = {(f["state"], f["role"]) for f in facts if f["type"] == "contact_role"}
    assert {state for state, _ in roles} == {"added", "removed"}
    merges = [f for f in facts if f["type"] == "merged"]
    assert merges and all(m["merged_id"].startswith("00Q") for m in merges)
    for merge in merges:
        lead = [f for f in facts if f.get("person_id") == merge["merged_id"]]
        assert [f["value"] for f in lead][-1] == "Closed - Converted"
        assert all(f["field"] == "Status" for f in lead)


def test_chunked_generation_merges_to_the_same_stream(monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    whole = list(generate_lines(**SMALL))
    monkeypatch.setattr(journeys, "CHUNK", 7)  # many spilled runs, merged
    assert list(generate_lines(**SMALL)) == whole


def test_a_subject_does_not_depend_on_how_many_others_are_generated() -> None:
    def person(facts: Iterator[dict], pid: str) -> list[dict]:
        return [f for f in facts if f.get("person_id") == pid]

    pid = person_id(3)
    assert person(generate(**SMALL), pid) == \
        person(generate(**{**SMALL, "persons": 20}), pid)


# ---- (b) the bundled file -------------------------------------------------------------------

def test_bundled_file_is_the_generator_output_for_its_parameters() -> None:
    assert DEMO_PARAMS == {"persons": 300, "accounts": 40,
                                "start": "2023-01-01T00:00:00Z", "years": 2, "seed": 2024}
    bundled = DATA_FILE.read_text("utf-8").splitlines()
    assert bundled == list(demo_lines())
    assert 1_000 < len(bundled) < 10_000
    assert DATA_FILE.stat().st_size < 1_000_000


# ---- (c) the command ------------------------------------------------------------------------

HEADINGS = ["lifecycle demo", "1. Import", "2. Stages as of 2024-12-31",
            "3. Backward moves, 2024-10-01 to 2024-12-31", "4. Pipeline as of 2024-12-31",
            "5. Audit of person",
            "Transitions", "Stamps", "Try next"]


def test_lifecycle_demo_runs_and_cleans_up() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    for heading in HEADINGS:
        assert heading in result.output
    assert re.search(r"read\s+stored\s+duplicate\s+rejected", result.output)
    store = re.search(r"Store: (\S+)", result.output)
    assert store is not None
    assert not Path(store.group(1)).parent.exists()


def test_lifecycle_demo_keep(tmp_path: Path) -> None:
    folder = tmp_path / "kept"
    first = CliRunner().invoke(main, ["demo", "--keep", str(folder)])
    assert first.exit_code == 0, first.output
    assert (folder / "demo.db").exists()
    lines = DATA_FILE.read_text("utf-8").splitlines()
    # Running it again on the kept store imports nothing new.
    again = CliRunner().invoke(main, ["demo", "--keep", str(folder)])
    assert again.exit_code == 0, again.output
    assert re.search(rf"\b{len(lines)}\s+0\s+{len(lines)}\s+0\b", again.output)


# ---- (d) one subject, by hand ---------------------------------------------------------------
#
# Person 10252, as the bundled file has it (no other fact names it). Its two contact roles
# (2024-02-26 and 2024-06-19, on opportunities of its account) name opportunities that are
# not in this one-person ledger: an opportunity without facts has no stage, so a role on it
# cascades nothing (SPEC §7), and the walk below is the person's own facts:
#
#  F1  2023-06-09T20:34:05Z person_linked  account 0018c000020000IAAQ
#  F2  2023-06-09T20:41:03Z status_changed lifecycle_stage = subscriber
#  F3  2023-07-04T18:22:51Z hand_raised    demo_request, fit high
#  F4  2023-07-05T09:33:27Z status_changed Status = Working - Contacted
#  F5  2023-07-17T22:47:02Z status_changed Status = Closed - Converted
#  F6  2023-07-17T23:15:52Z status_changed lifecycle_stage = salesqualifiedlead
#  F7  2023-09-04T18:06:19Z status_changed lifecycle_stage = "" (cleared)
#  F8  2023-09-04T18:07:51Z status_changed lifecycle_stage = lead
#  F9  2023-10-18T16:44:55Z disqualified   reason competitor
#  F10 2024-03-11T13:33:48Z status_changed lifecycle_stage = lead
#
# Walked under b2b-2024 (ranks: new 1, verified 2, mql 3, sal 4, meeting_set 5, sql 6):
#  F1  no target.
#  F2  subscriber -> new; current none: entry none -> new. Stamp new (1x). Entry infers
#      path stages below rank 1: none.
#  F3  demo_request is listed, fit high >= medium, target mql (3); current new has rank
#      1 < 3, so the hand raise moves: forward new -> mql. Stamp mql. Forward infers the
#      path stages strictly between 1 and 3: verified (nurture is off_path), never
#      stamped -> inferred at F3 (times 0, no last).
#  F4  Working - Contacted -> sal (4): forward mql -> sal. Stamp sal. Nothing between.
#  F5  Closed - Converted -> sql (6): forward sal -> sql. Stamp sql. Infers meeting_set (5)
#      at F5.
#  F6  salesqualifiedlead -> sql = current: nothing.
#  F7  cleared: no target (unmapped).
#  F8  lead -> verified (2): rank 6 -> 2, backward sql -> verified. verified is really
#      reached now: times 0 -> 1, last = F8, first keeps the inferred F3; no longer
#      inferred. Backward infers nothing.
#  F9  disqualified (exit): exit verified -> disqualified. Stamp disqualified.
#  F10 lead -> verified from an exit: reentry disqualified -> verified. verified times 2,
#      last = F10. Reentry would infer unstamped path stages below rank 2: new is stamped.
#
# Stage as of: 2023-07-17T23:00:00Z -> sql (F5; F6 changes nothing);
#              2023-09-04T18:07:51Z -> verified (F8 is at that very instant, <= T);
#              2024-03-11T13:33:47Z -> disqualified (one second before F10).
# And as of 2023-06-09T20:41:02Z (linked, one second before F2): no stage at all.

HAND_PERSON = "10252"
EXPECTED_MOVES = [
    ("2023-06-09T20:41:03Z", None, "new", "entry"),
    ("2023-07-04T18:22:51Z", "new", "mql", "forward"),
    ("2023-07-05T09:33:27Z", "mql", "sal", "forward"),
    ("2023-07-17T22:47:02Z", "sal", "sql", "forward"),
    ("2023-09-04T18:07:51Z", "sql", "verified", "backward"),
    ("2023-10-18T16:44:55Z", "verified", "disqualified", "exit"),
    ("2024-03-11T13:33:48Z", "disqualified", "verified", "reentry"),
]
EXPECTED_STAMPS = [  # stage, first_reached_at, last_reached_at, times_reached, inferred
    ("new", "2023-06-09T20:41:03Z", "2023-06-09T20:41:03Z", 1, False),
    ("verified", "2023-07-04T18:22:51Z", "2024-03-11T13:33:48Z", 2, False),
    ("mql", "2023-07-04T18:22:51Z", "2023-07-04T18:22:51Z", 1, False),
    ("sal", "2023-07-05T09:33:27Z", "2023-07-05T09:33:27Z", 1, False),
    ("meeting_set", "2023-07-17T22:47:02Z", None, 0, True),
    ("sql", "2023-07-17T22:47:02Z", "2023-07-17T22:47:02Z", 1, False),
    ("disqualified", "2023-10-18T16:44:55Z", "2023-10-18T16:44:55Z", 1, False),
]
EXPECTED_AS_OF = [
    ("2023-06-09T20:41:02Z", None),
    ("2023-07-17T23:00:00Z", "sql"),
    ("2023-09-04T18:07:51Z", "verified"),
    ("2024-03-11T13:33:47Z", "disqualified"),
]


@pytest.fixture
def hand_ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A ledger holding only person 10252's facts, from the bundled file."""
    lines = [line for line in DATA_FILE.read_text("utf-8").splitlines()
             if json.loads(line).get("person_id") == HAND_PERSON]
    assert len(lines) == 12
    assert sum('"contact_role"' in line for line in lines) == 2
    path = tmp_path / "one.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    ledger, summary = b2b_ledger(f"sqlite:///{tmp_path}/t.db", path)
    try:
        assert (summary.read, summary.stored, summary.duplicate, summary.rejected) == \
            (12, 12, 0, 0)
        yield ledger
    finally:
        ledger.close()


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_hand_checked_person_moves(hand_ledger: Ledger) -> None:
    rows = moves(hand_ledger, level="person")
    assert {r["subject_id"] for r in rows} == {HAND_PERSON}
    assert [(r["occurred_at"], r["from_stage"], r["to_stage"], r["direction"])
            for r in rows] == EXPECTED_MOVES
    backward = moves(hand_ledger, level="person", directions=["backward"],
                     since=_at("2023-09-04T18:07:51Z"), until=_at("2023-09-04T18:07:52Z"))
    assert [(r["from_stage"], r["to_stage"]) for r in backward] == [("sql", "verified")]
    assert moves(hand_ledger, level="person", directions=["backward"],
                 until=_at("2023-09-04T18:07:51Z")) == []  # --until is exclusive


def test_hand_checked_person_stamps(hand_ledger: Ledger) -> None:
    rows = stamps(hand_ledger, level="person")
    assert {r["subject_id"] for r in rows} == {HAND_PERSON}
    assert [(r["stage"], r["first_reached_at"], r["last_reached_at"] or None,
             r["times_reached"], r["inferred"]) for r in rows] == EXPECTED_STAMPS


@pytest.mark.parametrize(("as_of", "stage"), EXPECTED_AS_OF)
def test_hand_checked_person_stage_as_of(hand_ledger: Ledger, as_of: str,
                                         stage: str | None) -> None:
    report = stages(hand_ledger, _at(as_of), "person")
    assert report["as_of"] == as_of
    counts = {row["stage"]: row["count"] for row in report["stages"]}
    assert report["total"] == (0 if stage is None else 1)
    assert {s: c for s, c in counts.items() if c} == ({} if stage is None else {stage: 1})


def test_the_demo_counts_each_converted_lead_once(tmp_path: Path) -> None:
    """Converted leads (SPEC §8): their lead statuses derive as the contact's, no alias is
    a subject, and the funnel's cohort counts each person once."""
    facts = [json.loads(line) for line in DATA_FILE.read_text("utf-8").splitlines()]
    merges = {f["merged_id"]: f["person_id"] for f in facts if f["type"] == "merged"}
    assert len(merges) >= 5
    ids = {f["person_id"] for f in facts if "person_id" in f}
    ledger, _ = b2b_ledger(f"sqlite:///{tmp_path}/demo.db", DATA_FILE)
    try:
        rows_ = stamps(ledger, level="person")
        subjects = {r["subject_id"] for r in rows_}
        assert not subjects & set(merges)
        assert subjects <= ids - set(merges)
        first = {(r["subject_id"], r["stage"]): r["first_reached_at"] for r in rows_}
        for lead, contact in merges.items():
            lead_facts = [f for f in facts if f.get("person_id") == lead]
            # The lead's first status (Open - Not Contacted: verified) is the contact's.
            assert first[contact, "verified"] <= lead_facts[0]["occurred_at"]
            converted = next(f for f in lead_facts if f["value"] == "Closed - Converted")
            assert first[contact, "sql"] <= converted["occurred_at"]
        cohort = run_report(ledger, "funnel", None, None)["cohort"]
        assert cohort == sum(1 for r in rows_ if r["stage"] == "new")
        assert cohort == len(subjects)
    finally:
        ledger.close()
