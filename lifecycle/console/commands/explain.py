"""`report diff`, `report merges` and `report html`: the reports that explain numbers rather
than count them (added to the `report` group by cli.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from lifecycle.console.options import (
    INSTANT,
    KNOWN_AT_HELP,
    LEVEL,
    WINDOW_FROM_HELP,
    WINDOW_TO_HELP,
    definitions_option,
    friendly,
    ledger_from,
    output_format,
)


@click.command("merges")
@click.option("--known-at", type=INSTANT, help=KNOWN_AT_HELP)
@output_format
@click.pass_context
@friendly
def report_merges(ctx: click.Context, known_at: datetime | None, fmt: str) -> None:
    """Merged ids: each alias, the id it was merged into, where its facts derive now.

    A converted lead merged into its contact, a duplicate merged into the record that
    survived (SPEC §8). status: in_effect, retracted, or superseded (merged again later).

    \b
    Example:
        lifecycle report merges --format csv
    """
    from lifecycle.application.merges import COLUMNS, merges
    from lifecycle.console.render import emit

    emit(merges(ledger_from(ctx), known_at), COLUMNS, fmt)


@click.command("diff")
@click.option("--as-of", "as_of", type=INSTANT, required=True, help="The moment compared.")
@click.option("--level", type=LEVEL, default="person", show_default=True)
@click.option("--before-known-at", type=INSTANT, help="Known-at of the first view.")
@click.option("--before-definitions", metavar="VERSION",
              help="Definitions of the first view (default: those active at its known-at).")
@click.option("--after-known-at", type=INSTANT,
              help="Known-at of the second view (default: now).")
@click.option("--after-definitions", metavar="VERSION",
              help="Definitions of the second view (default: those active at its known-at).")
@output_format
@click.pass_context
@friendly
def report_diff(ctx: click.Context, as_of: datetime, level: str,
                before_known_at: datetime | None, before_definitions: str | None,
                after_known_at: datetime | None, after_definitions: str | None,
                fmt: str) -> None:
    """Explain why stage counts differ between two (known-at, definitions) views.

    Lists facts that arrived late, retractions made in between, the definition changes,
    and each subject whose stage moved, with the cause.

    \b
    Example:
        lifecycle report diff --as-of 2024-03-31T23:59:59Z \\
            --before-known-at 2024-04-02T09:00:00Z --after-definitions b2b-2025
    """
    from lifecycle.application.diff import Side, diff
    from lifecycle.console.progress import showing_progress
    from lifecycle.console.render import print_diff

    with showing_progress(ctx) as ledger:
        result = diff(ledger, as_of, Side(before_known_at, before_definitions),
                      Side(after_known_at, after_definitions), level)
    print_diff(result, fmt)


@click.command("html")
@click.option("-o", "--output", "output", required=True, metavar="FILE",
              help="The HTML file to write.")
@click.option("--from", "start", type=INSTANT, help=WINDOW_FROM_HELP)
@click.option("--to", "end", type=INSTANT, help=WINDOW_TO_HELP)
@click.option("--level", type=LEVEL, default="person", show_default=True)
@click.option("--known-at", type=INSTANT, help=KNOWN_AT_HELP)
@definitions_option
@click.pass_context
@friendly
def report_html(ctx: click.Context, output: str, start: datetime | None, end: datetime | None,
                level: str, known_at: datetime | None,
                definitions_version: str | None) -> None:
    """Write one self-contained HTML page: stages over time, funnel, flow, SLA breaches.

    The page carries its charting library (Apache ECharts) and data inline: it opens
    from a file or an e-mail attachment with no network. Without a window it covers
    everything that happened.

    \b
    Example:
        lifecycle report html -o lifecycle.html --from 2024-01-01 --to 2025-01-01
    """
    from lifecycle.application.reporting import write_html
    from lifecycle.console.progress import showing_progress
    from lifecycle.console.render import printable

    with showing_progress(ctx) as ledger:
        summary = write_html(ledger, Path(output), known_at, definitions_version,
                             start=start, end=end, level=level)
    from lifecycle.domain.facts import plural

    start_text, end_text = summary["from"], summary["to"]
    window = (f"from {start_text} to {end_text}" if start_text and end_text
              else f"from {start_text} on" if start_text
              else f"before {end_text}" if end_text else "(no transitions yet)")
    click.echo(f"Wrote {printable(output)}: {plural(level)} {window}, "
               f"definitions {printable(summary['definitions_version'])}.")
