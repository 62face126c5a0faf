"""Rendering rows as a table (for people), JSON or CSV (for scripts)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich is imported when a table is printed: JSON and CSV start faster
    from rich.console import Console
    from rich.table import Table

FORMATS = ("table", "json", "csv")


def console(stderr: bool = False) -> Console:
    """A console that does not wrap tables when the output is not a terminal."""
    from rich.console import Console

    probe = Console(stderr=stderr)
    width = None if probe.is_terminal else 240
    return Console(stderr=stderr, width=width, highlight=False, soft_wrap=False)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


#: What makes a spreadsheet read a cell as a formula when it starts one (OWASP's list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe() -> bool:
    """Whether CSV output defuses formulas: `--csv-safe` or LIFECYCLE_CSV_SAFE=1."""
    import click

    context = click.get_current_context(silent=True)
    obj = context.find_root().obj if context is not None else None
    if isinstance(obj, dict) and "csv_safe" in obj:
        return bool(obj["csv_safe"])
    return os.environ.get("LIFECYCLE_CSV_SAFE", "").lower() in ("1", "true", "yes", "on")


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str],
           safe: bool | None = None) -> str:
    """CSV with a header. Values are written verbatim, unless `safe` (default: `csv_safe()`):
    then a text cell that starts like a formula (`=`, `+`, `-`, `@`, tab, CR) gets a `'`
    in front, so a spreadsheet shows it instead of running it (numbers are left alone)."""
    safe = csv_safe() if safe is None else safe
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # Minimal quoting quotes the line terminator's characters only: a cell holding a bare
    # carriage return (an odd id) would split its row when read back. Quote such rows.
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(columns)
    for row in rows:
        cells = [_defused(row.get(c)) if safe else cell(row.get(c)) for c in columns]
        (quoted if any("\r" in c for c in cells) else writer).writerow(cells)
    return out.getvalue()


def _defused(value: Any) -> str:
    text = cell(value)
    if isinstance(value, str) and text.startswith(FORMULA_START):
        return "'" + text
    return text


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None,
          caption: str | None = None) -> Table:
    from rich import box
    from rich.table import Table

    result = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, title_justify="left",
                   caption_justify="left", min_width=len(title or "") + 2)
    for column in columns:
        numeric = bool(rows) and isinstance(rows[0].get(column), int | float) \
            and not isinstance(rows[0].get(column), bool)
        result.add_column(column, justify="right" if numeric else "left")
    for row in rows:
        result.add_row(*(escape(cell(row.get(c))) for c in columns))
    return result


def escape(text: str) -> str:
    """A value as a table shows it: control characters escaped (`printable`), and rich's
    [brackets] taken as text, never as markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(printable(text))


#: Characters a terminal acts on instead of showing: C0 and C1 controls and DEL (escape
#: sequences that recolour, move the cursor, retitle the window...), and the bidi controls
#: that reorder what follows them on the line.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                     "\u2066-\u2069\u2028\u2029]")


def printable(text: str) -> str:
    """`text` safe to print on a terminal: every control character shown as its escape
    (`\\x1b`, `\\n`, `\\u202e`), everything else as is. The one function that table
    output, captions and messages print ids and values through; JSON and CSV output keep
    them verbatim."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char)
    if named:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str,
         title: str | None = None, caption: str | None = None,
         json_data: Any = None) -> None:
    """Print rows in the chosen format (`json_data` overrides what JSON prints)."""
    if fmt == "json":
        print(to_json(rows if json_data is None else json_data))
    elif fmt == "csv":
        print(to_csv(rows, columns), end="")
    else:
        out = console()
        out.print(table(rows, columns, title))
        if caption:
            out.print(escape(caption))


def print_audit(document: dict[str, Any], fmt: str) -> None:
    """An audit: facts with what each derived, then transitions and stamps."""
    if fmt == "json":
        print(to_json(document))
        return
    facts = [{**f, "details": ", ".join(f"{k}={v}" for k, v in f["details"].items()),
              "derived": f["derived"] + (f": {f['derived_detail']}" if f["derived_detail"]
                                         else ""),
              "retracted": (f"by {f['retracted']['event_id'][:8]} at "
                            f"{f['retracted']['recorded_at']}"
                            + (f" ({f['retracted']['reason']})" if f['retracted']['reason']
                               else "")) if f["retracted"] else ""}
             for f in document["facts"]]
    fact_columns = ["occurred_at", "recorded_at", "type", "details", "source", "actor",
                    "event_id", "derived", "retracted"]
    if fmt == "csv":
        print(to_csv(facts, fact_columns), end="")
        return
    out = console()
    out.print(f"[bold]{document['subject_type']} {escape(document['subject_id'])}[/bold]"
              f" · now in {escape(document['current_stage'] or '(no stage)')}"
              f" · definitions {escape(document['definitions_version'])}")
    out.print(table(facts, fact_columns, title="Facts"))
    out.print(table(document["transitions"],
                    ["occurred_at", "from_stage", "to_stage", "direction", "event_id"],
                    title="Transitions"))
    out.print(table(document["stamps"],
                    ["stage", "first_reached_at", "last_reached_at", "times_reached",
                     "inferred", "from_stage", "account_id"], title="Stamps"))
    if document["memberships"]:
        out.print(table(document["memberships"], ["account_id", "from", "to"],
                        title="Accounts"))
    if document["flags"]:
        out.print(table(document["flags"], ["account_id", "flag", "raised_at", "cleared_at"],
                        title="Flags"))


def print_dry_run(diff: dict[str, Any], fmt: str) -> None:
    """A backfill dry run: definition changes, stage changes, count deltas, stamps."""
    if fmt == "json":
        print(to_json(diff))
        return
    moved = [{**m, "from": m["from"] or "(none)", "to": m["to"] or "(none)",
              "examples": ", ".join(m["examples"])} for m in diff["current_stage_changes"]]
    deltas = [{"level": level, **d} for level, rows in diff["stage_count_deltas"].items()
              for d in rows if d["delta"]]
    stamps = [{**s, "examples": ", ".join(s["examples"])} for s in diff["stamp_changes"]]
    if fmt == "csv":
        print(to_csv(deltas, ["level", "stage", "before", "after", "delta"]), end="")
        return
    out = console()
    out.print(f"Dry run: {escape(diff['from_version'])} -> {escape(diff['to_version'])} "
              f"(nothing was written)")
    for change in diff["definition_changes"]:
        out.print(f"  · {escape(change)}")
    out.print(table(moved, ["level", "from", "to", "count", "examples"],
                    title=f"Current stage changes ({sum(m['count'] for m in moved)} subjects)"))
    out.print(table(deltas, ["level", "stage", "before", "after", "delta"],
                    title=f"Stage counts as of {diff['as_of']}"))
    out.print(table(stamps, ["level", "stage", "change", "count", "examples"],
                    title="Stamps whose first_reached_at moves, appears or disappears"))


def print_diff(result: dict[str, Any], fmt: str) -> None:
    """`report diff`: count deltas, then the reasons."""
    if fmt == "json":
        print(to_json(result))
        return
    columns = ["stage", "label", "before", "after", "delta"]
    if fmt == "csv":
        print(to_csv(result["stages"], columns), end="")
        return
    from lifecycle.domain.facts import plural

    out = console()
    b, a = result["before"], result["after"]
    out.print(f"{plural(result['level'])} as of {result['as_of']}: "
              f"known at {b['known_at'] or 'now'} under {escape(b['definitions_version'])} "
              f"vs known at {a['known_at'] or 'now'} under {escape(a['definitions_version'])}")
    out.print(table([r for r in result["stages"] if r["delta"]], columns,
                    title="Stages that differ"))
    for change in result["definition_changes"]:
        out.print(f"  definitions: {escape(change)}")
    moved = result["changed_subjects"]
    causes = ", ".join(f"{k}: {v}" for k, v in moved["by_cause"].items())
    out.print(f"Late facts: {result['late_facts']['count']}; "
              f"retractions: {result['retractions']['count']}; "
              f"subjects that moved: {moved['count']} ({causes})")
    out.print(table(result["changed_subjects"]["examples"],
                    ["subject_id", "before", "after", "cause"], title="Examples"))
