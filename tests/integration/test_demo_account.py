"""One account of the bundled demo data, walked by hand under b2b-2024 (issue 14): two
new-business opportunities (one lost, one won), a renewal, and two contacts holding roles.

Account 0018c000020000MAAQ, with its three opportunities and the two people who hold roles
(the account's three other people are left out: their own walks are like any person's).
Facts as the bundled file has them:

  P1  2023-02-06T20:54:24Z  10105 linked to the account
  P2  2023-02-06T21:09:26Z  10105 lifecycle_stage lead             -> verified
  P3  2023-04-13T15:02:19Z  10105 disqualified (timing)             -> disqualified (exit)
  C1  2023-05-25T16:34:32Z  10032 linked to the account
  C2  2023-05-25T16:53:53Z  10032 subscriber                        -> new
  C3  2023-05-30T16:49:04Z  10032 lead                              -> verified
  G0  2023-05-30T22:24:37Z  G (New Business) linked to the account
  G1  2023-05-30T22:24:38Z  G Prospecting                          -> meeting_set
  G2  2023-06-06T15:26:42Z  G Qualification                        -> sql
  G3  2023-06-15T01:43:45Z  G Needs Analysis                       -> sql (no change)
  C4  2023-06-16T20:04:21Z  10032 marketingqualifiedlead            -> mql
  C5  2023-06-17T04:58:45Z  10032 Working - Contacted               -> sal
  G4  2023-06-23T07:24:47Z  G Closed Lost                          -> nurture
  C6  2023-06-26T18:51:49Z  10032 lead                              -> verified (backward)
  P4  2023-06-30T13:16:58Z  10105 Open - Not Contacted              -> verified (reentry)
  A1  2023-11-27T15:51:08Z  account lifecycle_stage opportunity     -> late_stage
  H0  2023-12-14T19:08:29Z  H (New Business) linked
  H1  2023-12-14T19:08:30Z  H Prospecting                          -> meeting_set
  R1  2023-12-15T00:19:06Z  10105 role Evaluator added on H
  R2  2023-12-16T17:27:05Z  10032 role Economic Buyer added on H
  R3  2023-12-21T06:45:30Z  10105 role Evaluator removed from H
  H2  2023-12-25T14:42:54Z  H Qualification                        -> sql
  H3  2023-12-30T14:55:46Z  H Proposal/Price Quote                 -> late_stage
  H4  2024-01-06T05:37:24Z  H Negotiation/Review                   -> late_stage (no change)
  H5  2024-02-01T05:57:37Z  H Closed Won                           -> customer
  A2  2024-02-01T07:23:55Z  account customer                        -> customer
  F1  2024-11-04T19:01:24Z  account renewal flag raised
  I0  2024-11-04T20:01:24Z  I (Renewal) linked
  I1  2024-11-04T20:01:25Z  I Qualification                        -> sql

Walked (ranks: new 1, verified 2, nurture 2 off-path, mql 3, sal 4, meeting_set 5, sql 6,
late_stage 7, customer 8):
- G: entry meeting_set (G1), forward sql (G2), backward to nurture when lost (G4).
- H: entry meeting_set, sql (H2), late_stage (H3), customer (H5).
- I: entry sql (I1); open (sql is not in opportunity_closed), kind Renewal.
- 10105: entry verified (P2), exit (P3), reentry verified (P4). R1: the role is added
  while H is at meeting_set: the role's target meeting_set, forward. R3 removes the role
  before H2, so H's later stages no longer reach 10105: it stays at meeting_set.
- 10032: new, verified, mql, sal, back to verified (C6). R2 is added while H is at
  meeting_set: forward to meeting_set; then H2, H3, H5 cascade: sql, late_stage, customer.
  G4 (lost) does not reach it: it held no role on G.
- The account, most advanced of its own stage and its members' (exits do not count):
  P2 verified (entry); P3 leaves no ranked member and no own stage: no stage; C2 new
  (entry again), C3 verified, G1 meeting_set, G2 sql; G4: G at nurture (2) and 10032 at
  sal (4): backward to sal; C6: verified (path) over nurture (off-path): backward to
  verified; A1 late_stage; H5 customer (A2 changes nothing). I1 (sql) changes nothing.
- Flags: renewal raised by F1; without F1, the open Renewal opportunity I raises it from
  I1, the moment it has an open stage (I0 links it, stageless). Flags cascade to the
  account's people (both still linked).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from report_calls import moves, stages, stamps

from lifecycle.application.ledger import Ledger
from lifecycle.application.reporting import run_report
from lifecycle.sample.journey import DATA_FILE
from tests.integration.import_support import b2b_ledger

ACCOUNT = "0018c000020000MAAQ"
G, H, RENEWAL = "0068c000030005gAAW", "0068c000030005hAAW", "0068c000030005iAAW"
PEOPLE = {"10105", "10032"}


def _wanted(fact: dict, renewal_fact: bool) -> bool:
    if fact["type"] == "renewal_flagged":
        return renewal_fact and fact["account_id"] == ACCOUNT
    if fact.get("opportunity_id") in (G, H, RENEWAL) and fact["type"] != "contact_role":
        return True
    if "person_id" in fact:
        return fact["person_id"] in PEOPLE
    return fact.get("account_id") == ACCOUNT


def _ledger(folder: Path, renewal_fact: bool = True) -> Ledger:
    lines = [line for line in DATA_FILE.read_text("utf-8").splitlines()
             if _wanted(json.loads(line), renewal_fact)]
    path = folder / "account.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    ledger, summary = b2b_ledger(f"sqlite:///{folder}/account.db", path)
    assert (summary.read, summary.stored, summary.rejected) == \
        (len(lines), len(lines), 0)
    return ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = _ledger(tmp_path)
    try:
        assert len(DATA_FILE.read_text("utf-8").splitlines()) > 29
        yield ledger
    finally:
        ledger.close()


def _moves(ledger: Ledger, level: str, subject: str) -> list[tuple]:
    return [(r["occurred_at"], r["from_stage"], r["to_stage"], r["direction"])
            for r in moves(ledger, level=level) if r["subject_id"] == subject]


def test_the_opportunities_by_hand(ledger: Ledger) -> None:
    assert _moves(ledger, "opportunity", G) == [
        ("2023-05-30T22:24:38Z", None, "meeting_set", "entry"),
        ("2023-06-06T15:26:42Z", "meeting_set", "sql", "forward"),
        ("2023-06-23T07:24:47Z", "sql", "nurture", "backward")]
    assert _moves(ledger, "opportunity", H) == [
        ("2023-12-14T19:08:30Z", None, "meeting_set", "entry"),
        ("2023-12-25T14:42:54Z", "meeting_set", "sql", "forward"),
        ("2023-12-30T14:55:46Z", "sql", "late_stage", "forward"),
        ("2024-02-01T05:57:37Z", "late_stage", "customer", "forward")]
    assert _moves(ledger, "opportunity", RENEWAL) == [
        ("2024-11-04T20:01:25Z", None, "sql", "entry")]


def test_the_people_by_hand(ledger: Ledger) -> None:
    assert _moves(ledger, "person", "10105") == [
        ("2023-02-06T21:09:26Z", None, "verified", "entry"),
        ("2023-04-13T15:02:19Z", "verified", "disqualified", "exit"),
        ("2023-06-30T13:16:58Z", "disqualified", "verified", "reentry"),
        ("2023-12-15T00:19:06Z", "verified", "meeting_set", "forward")]  # R1, then removed
    assert _moves(ledger, "person", "10032") == [
        ("2023-05-25T16:53:53Z", None, "new", "entry"),
        ("2023-05-30T16:49:04Z", "new", "verified", "forward"),
        ("2023-06-16T20:04:21Z", "verified", "mql", "forward"),
        ("2023-06-17T04:58:45Z", "mql", "sal", "forward"),
        ("2023-06-26T18:51:49Z", "sal", "verified", "backward"),
        ("2023-12-16T17:27:05Z", "verified", "meeting_set", "forward"),  # R2
        ("2023-12-25T14:42:54Z", "meeting_set", "sql", "forward"),  # H2 cascades
        ("2023-12-30T14:55:46Z", "sql", "late_stage", "forward"),  # H3
        ("2024-02-01T05:57:37Z", "late_stage", "customer", "forward")]  # H5
    rows = [r for r in stamps(ledger, level="person", snapshot=True)
            if r["subject_id"] == "10032" and r["stage"] == "customer"]
    assert [(r["first_reached_at"], r["inferred"]) for r in rows] == \
        [("2024-02-01T05:57:37Z", False)]


def test_the_account_by_hand(ledger: Ledger) -> None:
    assert _moves(ledger, "account", ACCOUNT) == [
        ("2023-02-06T21:09:26Z", None, "verified", "entry"),
        ("2023-05-25T16:53:53Z", None, "new", "entry"),
        ("2023-05-30T16:49:04Z", "new", "verified", "forward"),
        ("2023-05-30T22:24:38Z", "verified", "meeting_set", "forward"),
        ("2023-06-06T15:26:42Z", "meeting_set", "sql", "forward"),
        ("2023-06-23T07:24:47Z", "sql", "sal", "backward"),
        ("2023-06-26T18:51:49Z", "sal", "verified", "backward"),
        ("2023-11-27T15:51:08Z", "verified", "late_stage", "forward"),
        ("2024-02-01T05:57:37Z", "late_stage", "customer", "forward")]
    got = {r["stage"]: (r["first_reached_at"], r["times_reached"], r["inferred"])
           for r in stamps(ledger, level="account")}
    assert got == {
        "new": ("2023-02-06T21:09:26Z", 1, False),  # inferred at P2, reached at C2
        "verified": ("2023-02-06T21:09:26Z", 3, False),
        "mql": ("2023-05-30T22:24:38Z", 0, True),  # skipped on the way to meeting_set
        "sal": ("2023-05-30T22:24:38Z", 1, False),  # inferred at G1, reached at G4
        "meeting_set": ("2023-05-30T22:24:38Z", 1, False),
        "sql": ("2023-06-06T15:26:42Z", 1, False),
        "late_stage": ("2023-11-27T15:51:08Z", 1, False),
        "customer": ("2024-02-01T05:57:37Z", 1, False)}


@pytest.mark.parametrize(("as_of", "expected"), [
    ("2023-04-13T15:02:19Z", {}),  # the only member disqualified, no own stage
    ("2023-06-23T07:24:47Z", {"sal": 1}),
    ("2024-01-31T00:00:00Z", {"late_stage": 1}),
    ("2024-12-31T23:59:59Z", {"customer": 1}),
])
def test_the_account_as_of(ledger: Ledger, as_of: str, expected: dict[str, int]) -> None:
    at = datetime.fromisoformat(as_of.replace("Z", "+00:00")).astimezone(UTC)
    counts = {r["stage"]: r["count"] for r in stages(ledger, at, "account")["stages"]}
    assert {s: c for s, c in counts.items() if c} == expected


def _flags(ledger: Ledger, as_of: str) -> list[tuple]:
    at = datetime.fromisoformat(as_of.replace("Z", "+00:00")).astimezone(UTC)
    document = run_report(ledger, "flags", None, None, as_of=at)
    return [(r["flag"], r["subject_type"], r["subject_id"], r["flagged_since"])
            for r in document["rows"]]


def test_the_renewal_flag_from_the_fact(ledger: Ledger) -> None:
    assert _flags(ledger, "2024-11-04T19:01:23Z") == []
    since = "2024-11-04T19:01:24Z"
    assert _flags(ledger, "2024-12-31T00:00:00Z") == [
        ("renewal", "account", ACCOUNT, since), ("renewal", "person", "10032", since),
        ("renewal", "person", "10105", since)]


def test_the_renewal_flag_from_the_open_renewal_opportunity(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, renewal_fact=False)
    try:
        assert _flags(ledger, "2024-11-04T20:01:24Z") == []  # linked, no stage yet
        since = "2024-11-04T20:01:25Z"
        assert _flags(ledger, "2024-12-31T00:00:00Z") == [
            ("renewal", "account", ACCOUNT, since), ("renewal", "person", "10032", since),
            ("renewal", "person", "10105", since)]
    finally:
        ledger.close()
