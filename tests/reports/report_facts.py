"""A small ledger whose reports are worked out by hand (b2b-2024 definitions).

Persons (2024, UTC; "->" is the stage the fact moves to):

    p1  01-01 subscriber (new, source hubspot, campaign webinar-a)   01-03 lead (verified)
        01-05 demo_request high (mql)   01-06 Working - Contacted (sal)
        01-10 contact_sales medium while in sal: signal `engaged`
        01-16 salesqualifiedlead (sql; meeting_set stamped as inferred)
    p2  01-10 subscriber (new, hubspot)   01-12 demo_request low: `low_fit` while new
        01-20 marketingqualifiedlead (mql; verified inferred)   01-25 lead (verified, backward)
        01-22 contact_sales high while mql: `engaged`, retracted later (second import)
    p3  01-31 lead (verified, source salesforce; new inferred)   02-01 webinar: `unlisted_kind`
        02-05 marketingqualifiedlead (mql)
    p4  02-01 subscriber (new): on the January/February cohort boundary
    p5  2023-12-31T23:59:59Z subscriber (new): one second before January
    s1  01-02 disqualified   01-04 demo_request high while disqualified: `exit`
    f1, f2, f3  no stage; linked to acme (01-02), acme (03-20), globex (01-01, left 03-10:
        inactive)

Accounts: acme 02-15 customer (own status; new..late_stage inferred), renewal raised 03-01
cleared 04-01, at_risk raised 03-15; globex upgrade raised 02-01.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lifecycle.domain.facts import parse_fact


def status(pid: str, value: str, when: str, field: str = "lifecycle_stage",
           **extra: Any) -> dict[str, Any]:
    return {"type": "status_changed", "person_id": pid, "field": field, "value": value,
            "occurred_at": when, **extra}


def hand(pid: str, kind: str, fit: str | None, when: str, **extra: Any) -> dict[str, Any]:
    fact = {"type": "hand_raised", "person_id": pid, "kind": kind, "occurred_at": when,
            **extra}
    if fit is not None:
        fact["fit"] = fit
    return fact


def link(pid: str, account: str, when: str) -> dict[str, Any]:
    return {"type": "person_linked", "person_id": pid, "account_id": account,
            "occurred_at": when}


def flag(account: str, name: str, state: str, when: str) -> dict[str, Any]:
    return {"type": "renewal_flagged", "account_id": account, "flag": name, "state": state,
            "occurred_at": when}


def event_id(fact: dict[str, Any]) -> str:
    return str(parse_fact(fact).event_id())


RETRACTED_HAND = hand("p2", "contact_sales", "high", "2024-01-22T00:00:00Z",
                      campaign="retargeting")

FACTS = [
    status("p1", "subscriber", "2024-01-01T00:00:00Z", source="hubspot",
           campaign="webinar-a"),
    status("p1", "lead", "2024-01-03T00:00:00Z"),
    hand("p1", "demo_request", "high", "2024-01-05T00:00:00Z"),
    status("p1", "Working - Contacted", "2024-01-06T00:00:00Z", field="Status"),
    hand("p1", "contact_sales", "medium", "2024-01-10T00:00:00Z", source="hubspot",
         campaign="pricing-page", actor="form: contact us"),
    status("p1", "salesqualifiedlead", "2024-01-16T00:00:00Z"),
    status("p2", "subscriber", "2024-01-10T00:00:00Z", source="hubspot"),
    hand("p2", "demo_request", "low", "2024-01-12T00:00:00Z", campaign="ppc-brand",
         source="paid_search"),
    status("p2", "marketingqualifiedlead", "2024-01-20T00:00:00Z"),
    RETRACTED_HAND,
    status("p2", "lead", "2024-01-25T00:00:00Z"),
    status("p3", "lead", "2024-01-31T00:00:00Z", source="salesforce"),
    hand("p3", "webinar", None, "2024-02-01T00:00:00Z", campaign="webinar-b"),
    status("p3", "marketingqualifiedlead", "2024-02-05T00:00:00Z"),
    status("p4", "subscriber", "2024-02-01T00:00:00Z"),
    status("p5", "subscriber", "2023-12-31T23:59:59Z"),
    {"type": "disqualified", "person_id": "s1", "occurred_at": "2024-01-02T00:00:00Z"},
    hand("s1", "demo_request", "high", "2024-01-04T00:00:00Z", actor="sdr@example.com"),
    link("f1", "acme", "2024-01-02T00:00:00Z"),
    link("f2", "acme", "2024-03-20T00:00:00Z"),
    link("f3", "globex", "2024-01-01T00:00:00Z"),
    {"type": "person_left", "person_id": "f3", "occurred_at": "2024-03-10T00:00:00Z"},
    {"type": "status_changed", "account_id": "acme", "value": "customer",
     "occurred_at": "2024-02-15T00:00:00Z"},
    flag("acme", "renewal", "raised", "2024-03-01T00:00:00Z"),
    flag("acme", "renewal", "cleared", "2024-04-01T00:00:00Z"),
    flag("acme", "at_risk", "raised", "2024-03-15T00:00:00Z"),
    flag("globex", "upgrade", "raised", "2024-02-01T00:00:00Z"),
]

RETRACTION = {"type": "retracted", "person_id": "p2", "occurred_at": "2024-01-22T00:00:00Z",
              "target_event_id": event_id(RETRACTED_HAND), "reason": "test lead"}


def write_jsonl(path: Path, facts: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    return path
