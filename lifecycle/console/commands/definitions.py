"""`definitions show/validate/log/check` and `backfill`: what a stage means, what it maps in
the ledger, and changing it."""

from __future__ import annotations

from typing import Any

import click

from lifecycle.console.options import (
    CONTEXT,
    friendly,
    ledger_from,
    load_definitions_file,
    output_format,
    refuse_read_only,
    workers_option,
)


@click.group(context_settings=CONTEXT)
def definitions() -> None:
    """The active definitions, a check of a file or of the ledger's values, the history of
    published versions.

    \b
    Example:
        lifecycle definitions validate new.yaml
    """


@definitions.command("show")
@output_format
@click.pass_context
@friendly
def definitions_show(ctx: click.Context, fmt: str) -> None:
    """Print the active definitions.

    \b
    Example:
        lifecycle definitions show --format json
    """
    recorded = ledger_from(ctx).active_definitions()
    if fmt == "table":
        click.echo(recorded.definitions.to_yaml(), nl=False)
    else:
        from lifecycle.console.render import emit

        data = recorded.definitions.model_dump(mode="json")
        emit([s for s in data["stages"]], ["key", "label", "kind", "rank"], fmt,
             json_data=data)


@definitions.command("validate")
@click.argument("file", metavar="FILE")
@friendly
def definitions_validate(file: str) -> None:
    """Check a definitions file without publishing it.

    \b
    Example:
        lifecycle definitions validate definitions.yaml
    """
    loaded = load_definitions_file(file)
    click.echo(f"{file}: valid ({loaded.version}, {len(loaded.stages)} stages)")


@definitions.command("log")
@output_format
@click.pass_context
@friendly
def definitions_log(ctx: click.Context, fmt: str) -> None:
    """List every published version, when it was published and what it changed.

    \b
    Example:
        lifecycle definitions log --format csv
    """
    from lifecycle.console.render import emit
    from lifecycle.domain.changes import summarise
    from lifecycle.domain.timeutil import format_instant

    rows, previous = [], None
    for d in ledger_from(ctx).definitions_log():
        rows.append({"version": d.definitions.version,
                     "published_at": format_instant(d.recorded_at),
                     "stages": len(d.definitions.stages), "event_id": str(d.event_id),
                     "changes": "; ".join(summarise(previous, d.definitions))})
        previous = d.definitions
    emit(rows, ["version", "published_at", "stages", "changes", "event_id"], fmt)


@definitions.command("check")
@click.option("--definitions", "definitions_file", metavar="FILE",
              help="Check these definitions (a file, or a bundled starter) instead of the "
                   "active ones.")
@output_format
@click.pass_context
@friendly
def definitions_check(ctx: click.Context, definitions_file: str | None, fmt: str) -> None:
    """List each status field and value in the ledger, its facts and the stage it maps to.

    A value the definitions do not map shows `unmapped` (an empty value: `cleared`).
    Field names match exactly, values trimmed and case-insensitively, as derivation
    matches them; retracted facts are left out. Reads every fact once.

    \b
    Example:
        lifecycle definitions check
        lifecycle definitions check --definitions new.yaml --format csv
    """
    from lifecycle.application.coverage import COLUMNS, status_values
    from lifecycle.console.render import emit

    new = load_definitions_file(definitions_file) if definitions_file else None
    data = status_values(ledger_from(ctx), new)
    rows = data["rows"]
    unmapped = sum(row["facts"] for row in rows if row["stage"] == "unmapped")
    total = sum(row["facts"] for row in rows if row["stage"] != "cleared")
    caption = (f"Definitions {data['definitions_version']}: {unmapped} of {total} status "
               f"change(s) with a value map to no stage.")
    emit(rows, COLUMNS, fmt, caption=caption, json_data=data)


@click.command()
@click.argument("file", metavar="FILE")
@click.option("--dry-run", is_flag=True,
              help="Print what would change and change nothing.")
@click.option("--examples", default=5, show_default=True,
              help="Example subjects listed per change.")
@workers_option
@output_format
@click.pass_context
@friendly
def backfill(ctx: click.Context, file: str, dry_run: bool, examples: int,
             workers: int | None, fmt: str) -> None:
    """Publish new definitions and re-derive the whole history under them.

    Facts are never touched. The new projections are built beside the live ones and
    swapped in at once; an interrupted backfill leaves the old ones serving, and
    running it again completes it. --dry-run shows, for persons and accounts, whose
    current stage would change, the stage-count deltas as of now, and the stamps
    whose first_reached_at would move, appear or disappear.

    \b
    Example:
        lifecycle backfill definitions-2025.yaml --dry-run
        lifecycle backfill definitions-2025.yaml
    """
    from lifecycle.application import backfill as backfills
    from lifecycle.console.progress import showing_progress
    from lifecycle.console.render import print_dry_run, to_json

    if not dry_run:
        refuse_read_only(ctx, "backfill")
    new = load_definitions_file(file)
    with showing_progress(ctx) as ledger:
        ledger.workers = workers
        result = (backfills.dry_run(ledger, new, examples) if dry_run
                  else backfills.backfill(ledger, new))
    _warn_unmapped(ledger, new)
    if dry_run:
        print_dry_run(result, fmt)
        return
    if fmt == "json":
        click.echo(to_json(result))
        return
    state = "published and" if result["published"] else "already published;"
    if not result["rebuilt"]:  # the warning that follows says why (exit status 4)
        click.echo(f"Definitions {result['version']} {state.rstrip(';').replace(' and', '')}"
                   "; the projections are not rebuilt under them yet.")
        return
    click.echo(f"Definitions {result['version']} {state} projections rebuilt "
               f"to position {result['position']}.")
    for change in result["definition_changes"]:
        click.echo(f"  {change}")


def _warn_unmapped(ledger: Any, definitions: Any) -> None:
    """`Warning:` on standard error when most status changes in the ledger map to no
    stage under `definitions`."""
    from lifecycle.application.coverage import ledger_warning
    from lifecycle.console.render import printable

    warning = ledger_warning(ledger, definitions)
    if warning is not None:
        click.echo(printable(f"Warning: {warning}"), err=True)
