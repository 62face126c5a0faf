"""Printing any report of the registry: JSON prints the whole document, CSV its rows, and a
table (for people) its summary, its rows with shares as percentages, and its caption."""

from __future__ import annotations

from typing import Any

from lifecycle.console.render import console, escape, table, to_csv, to_json
from lifecycle.reports.registry import Document, Options, Report


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _shown(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    if not columns:
        return rows
    return [{**row, **{c: percent(row[c]) for c in columns}} for row in rows]


def print_report(report: Report, document: Document, options: Options, fmt: str) -> None:
    """Print `document`, made by `report` with `options`, as `fmt` (table, json or csv)."""
    if fmt == "json":
        print(to_json(document))
        return
    columns = report.columns(document, options)
    rows = report.rows(document)
    if fmt == "csv":
        print(to_csv(rows, columns), end="")
        return
    out = console()
    if report.summary is not None:
        summary = report.summary
        out.print(table(_shown(document[summary.key], summary.percent), summary.columns,
                        title=summary.title))
    out.print(table(_shown(rows, report.percent), columns, title=report.title))
    caption = report.caption(document) if report.caption is not None else ""
    if caption:
        out.print(escape(caption))
