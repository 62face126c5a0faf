"""`lifecycle`: the command line. The root group and its global options; the commands live in
`lifecycle/console/commands/`, and each parses, calls the library, and renders."""

from __future__ import annotations

import click

from lifecycle.console.commands import (
    definitions,
    explain,
    facts,
    importing,
    operations,
    reports,
    sync,
)
from lifecycle.console.options import (
    CONTEXT,
    DEFAULT_DB,
    SafeGroup,
    stop_cleanly_on_signals,
)


@click.group(cls=SafeGroup, context_settings=CONTEXT)
@click.option("--db", envvar="LIFECYCLE_DB", default=DEFAULT_DB, show_default=True,
              metavar="URL", help="The store: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
              " (or set LIFECYCLE_DB).")
@click.option("--read-only", is_flag=True, envvar="LIFECYCLE_READ_ONLY",
              help="Never write (e.g. on a read replica): the store is opened read-only, "
                   "commands that write are refused, and reports read the projections as "
                   "they stand, without catching up first.")
@click.option("-q", "--quiet", is_flag=True, envvar="LIFECYCLE_QUIET",
              help="Draw no progress on a terminal (there is none in pipes, logs and CI "
                   "anyway); results and errors are printed as ever.")
@click.option("--csv-safe", is_flag=True, envvar="LIFECYCLE_CSV_SAFE",
              help="CSV output: put ' before text cells that start with = + - @ (or a tab or "
                   "CR), so spreadsheets show them instead of running them as formulas "
                   "(or set LIFECYCLE_CSV_SAFE=1).")
@click.version_option(package_name="lifecycle-ledger")
@click.pass_context
def main(ctx: click.Context, db: str, read_only: bool, quiet: bool, csv_safe: bool) -> None:
    """An event-sourced ledger of lead and account lifecycle stages.

    Facts (status changes, hand raises, disqualifications, links, flags) are kept
    forever; stages, stamps, moves and reports are derived from them under versioned
    definitions.

    \b
    Example:
        lifecycle init --definitions b2b-2024
        lifecycle import facts.jsonl
        lifecycle report stages --as-of 2024-03-31T23:59:59Z
    """
    stop_cleanly_on_signals()
    ctx.ensure_object(dict)
    ctx.obj["db"] = db
    ctx.obj["read_only"] = read_only
    ctx.obj["quiet"] = quiet
    ctx.obj["csv_safe"] = csv_safe


for command in (facts.init, facts.record, facts.retract, importing.import_,
                definitions.definitions, definitions.backfill, reports.report, operations.audit,
                operations.verify, operations.project, operations.rebuild, operations.demo,
                sync.sync):
    main.add_command(command)
for report_command in (explain.report_diff, explain.report_merges, explain.report_html):
    reports.report.add_command(report_command)


if __name__ == "__main__":  # pragma: no cover
    main()
