"""`import`: a file of facts or a CRM export, stored idempotently."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from lifecycle.console.options import EXIT_REJECTED, friendly, refuse_read_only, writer_from
from lifecycle.console.render import printable


@click.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "input_format",
              type=click.Choice(["jsonl", "csv", "hubspot", "salesforce"]),
              help="The file's format (default: from its extension).")
@click.option("--object", "object_type",
              type=click.Choice(["contacts", "companies", "deals"]),
              help="HubSpot: what the export holds (default: contacts; a property-history "
                   "table's columns say it).")
@click.option("--columns", metavar="FIELD=COLUMN,...", multiple=True,
              help="CSV or JSON Lines: map the export's columns onto fact fields; a value "
                   "that is not a column is a constant, 'quoted' always one; "
                   "where=COLUMN!=VALUE skips rows.")
@click.option("--encoding", metavar="NAME",
              help="The file's encoding, e.g. cp1252, iso-8859-1, utf-16 (default: UTF-8, "
                   "or detected when the file is not UTF-8).")
@click.option("--strict", is_flag=True, help="Store nothing if any row is bad (exit 1).")
@click.option("--rejects", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write rejected rows here, one JSON object per line.")
@click.option("--assume-tz", metavar="TZ",
              help="Zone of timestamps without an offset (e.g. Europe/Berlin).")
@click.pass_context
@friendly
def import_(ctx: click.Context, file: str, input_format: str | None, object_type: str | None,
            columns: tuple[str, ...], encoding: str | None, strict: bool,
            rejects: str | None, assume_tz: str | None) -> None:
    """Import facts idempotently, then bring the read models up to date.

    Prints read / stored / duplicate / rejected / skipped counts. Bad rows are reported
    with their line, field and reason and the rest is stored (exit status 3); with
    --strict nothing is stored (exit status 1). CRM exports: --format hubspot (objects
    read with propertiesWithHistory), --format salesforce (LeadHistory, ContactHistory,
    AccountHistory, Contact), --columns for any other CSV or JSON Lines. A file that
    is not UTF-8 is read in the encoding detected, said before the counts (or pass
    --encoding); a warning follows the counts when most status values of the file map to
    no stage.

    \b
    Example:
        lifecycle import facts.jsonl --rejects rejects.jsonl
        lifecycle import history.csv --assume-tz America/New_York --strict
        lifecycle import contacts.json --format hubspot --object contacts
        lifecycle import deals.json --format hubspot --object deals
        lifecycle import deal_property_history.csv --format hubspot --object deals --assume-tz UTC
        lifecycle import LeadHistory.csv --format salesforce
        lifecycle import Opportunity.csv --format salesforce --encoding cp1252
        lifecycle import marketo.csv --format csv \\
            --columns 'person_id=Lead Id,occurred_at=Changed On,value=New Status' \\
            --columns type=status_changed,source=marketo
    """
    import shutil
    import tempfile

    from lifecycle.application.errors import ImportInterrupted, describe
    from lifecycle.application.importing import import_rows, write_rejects
    from lifecycle.console.progress import showing_progress
    from lifecycle.domain.timeutil import zone
    from lifecycle.importers.canonical import FileFormatError
    from lifecycle.importers.encodings import EncodingError, codec_name
    from lifecycle.importers.mapped import ColumnsError
    from lifecycle.importers.registry import detect_format, open_reader

    refuse_read_only(ctx, "import")
    name = Path(file).name
    fmt = input_format or (_mapped_format(file) if columns else detect_format(Path(file)))
    if object_type and fmt != "hubspot":
        raise click.UsageError("--object goes with --format hubspot")
    if columns and fmt not in ("csv", "jsonl"):
        raise click.UsageError("--columns goes with --format csv or jsonl")
    tz = zone(assume_tz) if assume_tz else None
    if encoding is not None:
        try:
            encoding = codec_name(encoding)
        except EncodingError as exc:
            raise click.BadParameter(str(exc), param_hint="--encoding") from None
    if file == "-":  # read twice (--strict, --columns): keep standard input in a file
        spool = Path(ctx.with_resource(tempfile.TemporaryDirectory())) / "stdin"
        with spool.open("wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out)
        path = spool
    else:
        path = Path(file)
        if not path.is_file():
            raise click.ClickException(f"{printable(file)}: no such file")
    opened: list[Any] = []

    def rows() -> Any:
        opened.append(path.open("rb"))
        return reader(opened[-1], tz)

    try:
        try:
            reader, notes = open_reader(fmt, path, object_type=object_type,
                                        columns=",".join(columns) if columns else None,
                                        encoding=encoding)
        except ColumnsError as exc:
            raise click.BadParameter(str(exc), param_hint="--columns") from None
        for note in notes:
            click.echo(printable(note))
        definitions = writer_from(ctx, "import").active_definitions().definitions
        with showing_progress(ctx) as ledger:
            summary = import_rows(ledger, rows, strict=strict, name=name,
                                  size=path.stat().st_size, tell=lambda: opened[-1].tell())
    except FileFormatError as exc:
        raise click.ClickException(printable(f"{name}: {exc}")) from None
    except ImportInterrupted as stop:
        _print_summary(stop.summary, name, fmt, file)
        why = describe(stop.cause, ctx.find_root().obj["db"]) or repr(stop.cause)
        raise click.ClickException(printable(
            f"{why}. {stop.summary.stored} fact(s) of {name} were stored before the failure "
            "(whole batches; the failing one was rolled back): run the same import again to "
            "store the rest, what is stored counts as duplicate")) from None
    finally:
        for stream in opened:
            stream.close()
    _print_summary(summary, name, fmt, file)
    unmapped = summary.status.warning(definitions, f"in {name}")
    if unmapped is not None and summary.committed:
        click.echo(printable(f"Warning: {unmapped}"), err=True)
    if rejects:
        write_rejects(Path(rejects), summary.rejections)
    if not summary.committed:
        raise click.ClickException(
            f"{printable(file)}: {summary.rejected} bad row(s); nothing was stored (--strict)")
    if summary.rejected:
        ctx.exit(EXIT_REJECTED)


def _mapped_format(file: str) -> str:
    """--columns without --format: JSON Lines by the extension (.jsonl, .ndjson, .json),
    else CSV."""
    return "jsonl" if Path(file).suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"


#: What a rejection for a timestamp without an offset says (lifecycle.domain.timeutil).
NO_OFFSET = "has no offset"


def _print_summary(summary: Any, name: str, fmt: str, file: str) -> None:
    """The counts line, then warnings and the first rejected rows on standard error."""
    # `skipped` is shown where rows are skipped by design (the SPEC line is kept otherwise).
    skipped = f", skipped {summary.skipped}" if summary.skipped or fmt == "salesforce" else ""
    click.echo(printable(f"{name}: read {summary.read}, stored {summary.stored}, "
                         f"duplicate {summary.duplicate}, rejected {summary.rejected}"
                         f"{skipped}"))
    for message, items in summary.warnings.items():
        shown = ", ".join(items[:20]) + (f", … and {len(items) - 20} more"
                                         if len(items) > 20 else "")
        click.echo(printable(f"Warning: {message} ({len(items)}): {shown}"), err=True)
    for bad in summary.rejections[:5]:
        where = f"{file}:{bad.line}" + (f": {bad.field}" if bad.field else "")
        click.echo(printable(f"  {where}: {bad.reason}"), err=True)
    if summary.rejected > 5:
        click.echo(f"  … and {summary.rejected - 5} more", err=True)
    if summary.rejections and not summary.stored and not summary.duplicate and all(
            NO_OFFSET in bad.reason for bad in summary.rejections):
        click.echo("Hint: every row was rejected for a timestamp without an offset. Salesforce's "
                   "Data Export, Fivetran and Airbyte write UTC: run the same import again "
                   "with --assume-tz UTC (or the zone the export was written in)", err=True)
