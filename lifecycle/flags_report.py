"""`report flags`: accounts with active renewal, upgrade or at-risk flags as of a moment,
and the persons the flags cascade to (a person has its account's flags while it is linked
to it, SPEC §4 Accounts)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from lifecycle import report_base
from lifecycle.facts import ACCOUNT, PERSON
from lifecycle.ledger import Ledger, View
from projections import analytics

FLAGS = ("renewal", "upgrade", "at_risk")
COLUMNS = ["account_id", "flag", "raised_at", "subject_type", "subject_id", "flagged_since",
           "stage"]
SUMMARY_COLUMNS = ["flag", "accounts", "persons"]


def flags(ledger: Ledger, as_of: datetime, flag: tuple[str, ...] | list[str] = (),
          known_at: datetime | None = None, definitions: str | None = None
          ) -> dict[str, Any]:
    """Active flags as of `as_of`: one row per flagged account, then one per person."""
    return flags_in(ledger.view(known_at, definitions), as_of, flag)


def flags_in(view: View, as_of: datetime, flag: tuple[str, ...] | list[str] = ()
             ) -> dict[str, Any]:
    report_base.check_choices(flag, FLAGS, "flag")
    with view.engine.connect() as conn:
        active = analytics.active_flags(conn, as_of, flag)
        accounts = sorted({row["account_id"] for row in active})
        members = analytics.members_at(conn, accounts, as_of)
        persons = sorted({row["person_id"] for row in members})
        stage = {(ACCOUNT, r["subject_id"]): r["stage"]
                 for r in analytics.open_at(conn, ACCOUNT, as_of, accounts)}
        stage |= {(PERSON, r["subject_id"]): r["stage"]
                  for r in analytics.open_at(conn, PERSON, as_of, persons)}
    by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for member in members:
        by_account[member["account_id"]].append(member)
    rows = []
    cascaded: dict[str, set[str]] = defaultdict(set)
    for row in sorted(active, key=lambda r: (r["account_id"], FLAGS.index(r["flag"]))):
        account, raised = row["account_id"], row["raised_at"]
        common = {"account_id": account, "flag": row["flag"], "raised_at": raised}
        rows.append(report_base.instants({
            **common, "subject_type": ACCOUNT, "subject_id": account,
            "flagged_since": raised, "stage": stage.get((ACCOUNT, account))}))
        for member in sorted(by_account[account], key=lambda m: m["person_id"]):
            person = member["person_id"]
            cascaded[row["flag"]].add(person)
            rows.append(report_base.instants({
                **common, "subject_type": PERSON, "subject_id": person,
                "flagged_since": max(raised, member["start_at"]),
                "stage": stage.get((PERSON, person))}))
    summary = [{"flag": name,
                "accounts": sum(1 for r in active if r["flag"] == name),
                "persons": len(cascaded[name])}
               for name in FLAGS if not flag or name in flag]
    document = report_base.header(view, as_of=as_of)
    document |= {"summary": summary, "rows": rows}
    return document
