"""Rendering the analytics reports: JSON prints the whole document, CSV its `rows`, and the
table (for people) shows shares as percentages with a caption saying how it counted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.markup import escape

from lifecycle.console.render import console, table, to_csv, to_json


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def print_document(document: dict[str, Any], columns: Sequence[str], fmt: str,
                   title: str, caption: str = "",
                   shown: list[dict[str, Any]] | None = None,
                   before: Sequence[tuple[str, list[dict[str, Any]], Sequence[str]]] = ()
                   ) -> None:
    """JSON: the document; CSV: its rows; table: `before` tables, then the rows (or
    `shown`, the same rows formatted for people) and the caption."""
    if fmt == "json":
        print(to_json(document))
        return
    if fmt == "csv":
        print(to_csv(document["rows"], columns), end="")
        return
    out = console()
    for name, rows, cols in before:
        out.print(table(rows, cols, title=name))
    out.print(table(document["rows"] if shown is None else shown, columns, title=title))
    if caption:
        out.print(escape(caption))


def _scope(document: dict[str, Any]) -> str:
    known = f", known at {document['known_at']}" if document.get("known_at") else ""
    return f"definitions {document['definitions_version']}{known}"


def print_funnel(document: dict[str, Any], columns: Sequence[str], fmt: str) -> None:
    shown = [{**r, "share_of_cohort": percent(r["share_of_cohort"]),
              "share_of_previous": percent(r["share_of_previous"])} for r in document["rows"]]
    window = (f"first reached {document['entry_stage']} from {document['from'] or 'the start'}"
              f" to {document['to'] or 'now'}")
    caption = (f"{document['cohort']} {document['level']}s {window}. Counting: "
               f"{document['counting']}; median_days from the entry stage. {_scope(document)}")
    print_document(document, columns, fmt, "Funnel", caption, shown)


def print_velocity(document: dict[str, Any], columns: Sequence[str], fmt: str) -> None:
    shown = [{**r, "recycle_rate": percent(r["recycle_rate"])} for r in document["rows"]]
    caption = (f"{document['level']}s: days from first reaching from_stage to first reaching "
               "to_stage (inferred stamps count; `inferred` says how many). Percentiles: "
               f"{document['percentiles']}. recycle_rate = backward_moves / entries of "
               f"from_stage. {_scope(document)}")
    print_document(document, columns, fmt, "Velocity", caption, shown)


def print_sla(document: dict[str, Any], columns: Sequence[str], summary_columns: Sequence[str],
              fmt: str) -> None:
    summary = [{**s, "breach_rate": percent(s["breach_rate"])} for s in document["summary"]]
    caption = (f"{len(document['rows'])} breach(es) of {document['level']}s as of "
               f"{document['as_of']}; exited_at empty = still in the stage. {_scope(document)}")
    print_document(document, columns, fmt, "Breaches", caption,
                   before=[("SLA summary", summary, summary_columns)])


def print_flags(document: dict[str, Any], columns: Sequence[str],
                summary_columns: Sequence[str], fmt: str) -> None:
    caption = (f"Active flags as of {document['as_of']}: each flagged account, then the "
               f"persons linked to it then (they carry its flags). {_scope(document)}")
    print_document(document, columns, fmt, "Flags", caption,
                   before=[("Summary", document["summary"], summary_columns)])


def print_signals(document: dict[str, Any], columns: Sequence[str], fmt: str) -> None:
    counts = ", ".join(f"{s['reason']} {s['count']}" for s in document["summary"])
    window = f"from {document['since'] or 'the start'} to {document['until'] or 'now'}"
    caption = (f"{len(document['rows'])} hand raise(s) that moved nobody, {window} "
               f"({counts}); stage = the person's stage when it came. {_scope(document)}")
    print_document(document, columns, fmt, "Signals", caption)


def print_aging(document: dict[str, Any], columns: Sequence[str], fmt: str) -> None:
    caption = (f"{document['total']} {document['level']}s in a stage as of "
               f"{document['as_of']}; days since they entered it. Percentiles: "
               f"{document['percentiles']}. {_scope(document)}")
    print_document(document, columns, fmt, "Aging", caption)


def print_timeline(document: dict[str, Any], columns: Sequence[str], fmt: str) -> None:
    flat = [{**{k: v for k, v in r.items() if k != "counts"}, **r["counts"]}
            for r in document["rows"]]
    if fmt == "json":
        print(to_json(document))
        return
    if fmt == "csv":
        print(to_csv(flat, columns), end="")
        return
    caption = (f"{document['level']}s by stage at the end of each {document['every']} "
               f"(transitions before `end`). {_scope(document)}")
    print_document({**document, "rows": flat}, columns, fmt, "Timeline", caption)
