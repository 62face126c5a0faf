"""`report flags`: accounts with active renewal, upgrade or at-risk flags as of a moment,
and the persons the flags cascade to (a person has its account's flags while it is linked
to it, SPEC §4 Accounts)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from lifecycle.domain.facts import ACCOUNT, PERSON
from lifecycle.reports import base as report_base
from lifecycle.reports.base import scope
from projections.queries import status as status_queries
from projections.view import View

FLAGS = ("renewal", "upgrade", "at_risk")
COLUMNS = ["account_id", "flag", "raised_at", "subject_type", "subject_id", "flagged_since",
           "stage"]
SUMMARY_COLUMNS = ["flag", "accounts", "persons"]


def flags(view: View, as_of: datetime, flag: tuple[str, ...] | list[str] = ()
             ) -> dict[str, Any]:
    """Active flags as of `as_of`: one row per flagged account, then one per person."""
    report_base.check_choices(flag, FLAGS, "flag")
    with view.connect() as conn:
        found = status_queries.flag_rows(conn, as_of, flag, FLAGS)
    rows = []
    accounts: Counter[str] = Counter()
    cascaded: dict[str, set[str]] = defaultdict(set)
    flagged = None
    for account, ordinal, name, raised, stage, person, since, person_stage in found:
        common = {"account_id": account, "flag": name, "raised_at": raised}
        if (account, ordinal) != flagged:
            flagged = (account, ordinal)
            accounts[name] += 1
            rows.append({**common, "subject_type": ACCOUNT, "subject_id": account,
                         "flagged_since": raised, "stage": stage})
        if person is not None:
            cascaded[name].add(person)
            rows.append({**common, "subject_type": PERSON, "subject_id": person,
                         "flagged_since": since, "stage": person_stage})
    summary = [{"flag": name, "accounts": accounts[name], "persons": len(cascaded[name])}
               for name in FLAGS if not flag or name in flag]
    document = report_base.header(view, as_of=as_of)
    document |= {"summary": summary, "rows": rows}
    return document


def caption(document: dict[str, Any]) -> str:
    return (f"Active flags as of {document['as_of']}: each flagged account, then the "
            f"persons linked to it then (they carry its flags). {scope(document)}")
