"""`report flags`: active account flags and the persons they cascade to (see
`report_facts`: acme renewal 03-01..04-01 and at_risk from 03-15, globex upgrade from
02-01; f1 in acme from 01-02, f2 from 03-20, f3 in globex until 03-10)."""

from __future__ import annotations

import json

from report_support import Run, assert_json, ok

COLUMNS = "account_id,flag,raised_at,subject_type,subject_id,flagged_since,stage\n"


def test_flags_json(run: Run, store_db: str) -> None:
    out = ok(run("--db", store_db, "report", "flags", "--as-of", "2024-03-20", "--format", "json"))

    def r(flag: str, raised: str, kind: str, sid: str, since: str, stage: str | None,
          account: str = "acme") -> dict:
        return {"account_id": account, "flag": flag, "raised_at": raised,
                "subject_type": kind, "subject_id": sid, "flagged_since": since,
                "stage": stage}

    renewal, at_risk = "2024-03-01T00:00:00Z", "2024-03-15T00:00:00Z"
    joined = "2024-03-20T00:00:00Z"  # f2 joined acme on the as-of moment itself
    assert_json(out, {
        "as_of": "2024-03-20T00:00:00Z", "known_at": None, "definitions_version": "b2b-2024",
        "summary": [{"flag": "renewal", "accounts": 1, "persons": 2},
                    {"flag": "upgrade", "accounts": 1, "persons": 0},
                    {"flag": "at_risk", "accounts": 1, "persons": 2}],
        "rows": [
            r("renewal", renewal, "account", "acme", renewal, "customer"),
            r("renewal", renewal, "person", "f1", renewal, None),
            r("renewal", renewal, "person", "f2", joined, None),
            r("at_risk", at_risk, "account", "acme", at_risk, "customer"),
            r("at_risk", at_risk, "person", "f1", at_risk, None),
            r("at_risk", at_risk, "person", "f2", joined, None),
            r("upgrade", "2024-02-01T00:00:00Z", "account", "globex", "2024-02-01T00:00:00Z",
              None, account="globex"),
        ],
    })


def test_cleared_at_as_of_is_no_longer_active(run: Run, store_db: str) -> None:
    """The renewal was cleared at 04-01T00:00Z: as of that moment only at_risk is left."""
    out = ok(run("--db", store_db, "report", "flags", "--as-of", "2024-04-01", "--flag", "renewal",
                 "--flag", "at_risk", "--format", "csv"))
    assert out == COLUMNS + (
        "acme,at_risk,2024-03-15T00:00:00Z,account,acme,2024-03-15T00:00:00Z,customer\n"
        "acme,at_risk,2024-03-15T00:00:00Z,person,f1,2024-03-15T00:00:00Z,\n"
        "acme,at_risk,2024-03-15T00:00:00Z,person,f2,2024-03-20T00:00:00Z,\n")


def test_a_person_who_left_carries_no_flag(run: Run, store_db: str) -> None:
    before = ok(run("--db", store_db, "report", "flags", "--as-of", "2024-03-09", "--flag",
                    "upgrade", "--format", "csv"))
    assert before == COLUMNS + (
        "globex,upgrade,2024-02-01T00:00:00Z,account,globex,2024-02-01T00:00:00Z,\n"
        "globex,upgrade,2024-02-01T00:00:00Z,person,f3,2024-02-01T00:00:00Z,\n")
    after = ok(run("--db", store_db, "report", "flags", "--as-of", "2024-03-10", "--flag",
                   "upgrade", "--format", "csv"))
    assert after == COLUMNS + (
        "globex,upgrade,2024-02-01T00:00:00Z,account,globex,2024-02-01T00:00:00Z,\n")


def test_flags_table(run: Run, store_db: str) -> None:
    out = ok(run("--db", store_db, "report", "flags", "--as-of", "2024-03-20"))
    assert "Summary" in out and "at_risk" in out and "f2" in out
    assert "Active flags as of 2024-03-20T00:00:00Z" in out


def test_no_flags_yet(run: Run, store_db: str) -> None:
    out = ok(run("--db", store_db, "report", "flags", "--as-of", "2024-01-01", "--format", "json"))
    assert json.loads(out)["rows"] == []
