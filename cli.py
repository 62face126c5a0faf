"""`lifecycle`: the command line. It parses, calls the library, and renders; nothing more."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import click

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
DEFAULT_DB = "sqlite:///lifecycle.db"
EXIT_REJECTED = 3


# ---- shared plumbing ---------------------------------------------------------------------

def _user_errors() -> tuple[type[BaseException], ...]:
    from eventsourcing.persistence import PersistenceError
    from sqlalchemy.exc import SQLAlchemyError

    from lifecycle.domain.definitions import DefinitionsError
    from lifecycle.domain.errors import LedgerError
    from lifecycle.domain.facts import FactInputError
    from lifecycle.domain.timeutil import TimeError
    from lifecycle.importers.canonical import FileFormatError
    from lifecycle.store import StoreURLError

    return (LedgerError, DefinitionsError, FactInputError, TimeError, StoreURLError,
            FileFormatError, PersistenceError, SQLAlchemyError, OSError)


def friendly(func: F) -> F:
    """Turn the library's errors into `Error: …` on stderr with exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.ClickException, BrokenPipeError):
            raise  # click itself exits quietly when stdout's reader goes away (`| head`)
        except _user_errors() as exc:
            raise click.ClickException(_message(exc)) from None

    return wrapper  # type: ignore[return-value]


def _message(exc: BaseException) -> str:
    from lifecycle.domain.facts import FactInputError
    from lifecycle.store import redact

    if isinstance(exc, FactInputError) and exc.field:
        return f"{exc.field}: {exc.reason}"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    url = click.get_current_context().find_root().obj.get("db", "")
    if url and url in text:
        text = text.replace(url, redact(url))
    return text


def output_format(func: F) -> F:
    return click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]),
                         default="table", show_default=True,
                         help="table for people; json or csv for scripts.")(func)


class Instant(click.ParamType):
    """An ISO 8601 instant with an offset (`2024-03-31T23:59:59Z`), a date (midnight UTC),
    or `now`."""

    name = "TIMESTAMP"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        from datetime import UTC, date

        from lifecycle.domain.timeutil import TimeError, parse_instant, utc_now

        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        if text.lower() == "now":
            return utc_now()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                return datetime(day.year, day.month, day.day, tzinfo=UTC)
            return parse_instant(text, None)
        except TimeError as exc:
            if "no offset" in str(exc):
                self.fail(f"{text!r} has no offset: add Z (UTC) or +HH:MM, "
                          "e.g. 2024-03-31T23:59:59Z", param, ctx)
            self.fail(str(exc), param, ctx)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


INSTANT = Instant()
LEVEL = click.Choice(["person", "account"])


def ledger_from(ctx: click.Context) -> Any:
    from lifecycle.application.ledger import Ledger

    root = ctx.find_root()
    if "ledger" not in root.obj:
        root.obj["ledger"] = Ledger(root.obj["db"], read_only=root.obj.get("read_only", False))
        root.call_on_close(root.obj["ledger"].close)
    return root.obj["ledger"]


def read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{path}: not valid UTF-8") from None
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror}") from None


def load_definitions_file(path: str) -> Any:
    from lifecycle.domain.definitions import DefinitionsError, load_definitions
    from lifecycle.domain.starters import starter_text

    text = starter_text(path)
    try:
        return load_definitions(text if text is not None else read_text(path))
    except DefinitionsError as exc:
        raise click.ClickException(f"{path}: {exc}") from None


# ---- the program ---------------------------------------------------------------------------

@click.group(context_settings=CONTEXT)
@click.option("--db", envvar="LIFECYCLE_DB", default=DEFAULT_DB, show_default=True,
              metavar="URL", help="The store: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
              " (or set LIFECYCLE_DB).")
@click.option("--read-only", is_flag=True, envvar="LIFECYCLE_READ_ONLY",
              help="Never write (e.g. on a read replica): reports read the projections as "
                   "they stand, without catching up first.")
@click.version_option(package_name="lifecycle-ledger")
@click.pass_context
def main(ctx: click.Context, db: str, read_only: bool) -> None:
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
    ctx.ensure_object(dict)
    ctx.obj["db"] = db
    ctx.obj["read_only"] = read_only


@main.command()
@click.option("--definitions", "definitions_file", required=True, metavar="FILE",
              help="A definitions YAML file, or the name of a bundled starter: "
                   "b2b-2024, hubspot-default or salesforce-default.")
@click.pass_context
@friendly
def init(ctx: click.Context, definitions_file: str) -> None:
    """Create the store if needed and publish the first definitions.

    \b
    Example:
        lifecycle init --definitions definitions.yaml
    """
    from lifecycle.domain.errors import LedgerError

    definitions = load_definitions_file(definitions_file)
    ledger = ledger_from(ctx)
    published = ledger.definitions_log()
    if published and published[-1].definitions.version != definitions.version:
        raise LedgerError(
            f"{ledger.display_url} is already initialised with definitions "
            f"{published[-1].definitions.version}; change them with `lifecycle backfill FILE`")
    recorded, new = ledger.publish(definitions)
    state = "published" if new else "already published"
    click.echo(f"Definitions {recorded.definitions.version} {state} in {ledger.display_url}")


@main.command()
@click.argument("fact_type", metavar="TYPE", type=click.Choice(
    ["status_changed", "hand_raised", "disqualified", "renewal_flagged", "person_linked",
     "person_left"]))
@click.option("--person", "person_id", metavar="ID", help="The person the fact is about.")
@click.option("--account", "account_id", metavar="ID",
              help="The account the fact is about (for person_linked: the account joined).")
@click.option("--at", "occurred_at", required=True, metavar="TIMESTAMP",
              help="When it happened, ISO 8601 with an offset.")
@click.option("--field", "field_name", help="status_changed: the field (lifecycle_stage).")
@click.option("--value", help="status_changed: the new raw value (\"\" = cleared).")
@click.option("--previous", help="status_changed: the old raw value.")
@click.option("--kind", help="hand_raised: e.g. demo_request.")
@click.option("--fit", help="hand_raised: high, medium or low.")
@click.option("--reason", help="disqualified: why.")
@click.option("--flag", help="renewal_flagged: renewal, upgrade or at_risk.")
@click.option("--state", help="renewal_flagged: raised or cleared.")
@click.option("--source", help="The source system.")
@click.option("--source-id", help="The fact's id in the source system.")
@click.option("--actor", help="Who did it.")
@click.option("--campaign", help="The campaign behind it.")
@click.option("--assume-tz", metavar="TZ", help="Zone of a timestamp without an offset.")
@click.pass_context
@friendly
def record(ctx: click.Context, fact_type: str, assume_tz: str | None, **fields: Any) -> None:
    """Record one fact.

    \b
    Example:
        lifecycle record status_changed --person 51 --value marketingqualifiedlead \\
            --at 2024-01-22T08:00:03Z --source hubspot --actor 28604240
        lifecycle record person_linked --person 51 --account acme --at 2024-01-08T15:02:11Z
    """
    from lifecycle.domain.facts import parse_fact
    from lifecycle.domain.timeutil import zone

    data = {"type": fact_type, **{k: v for k, v in fields.items() if v is not None}}
    if "field_name" in data:
        data["field"] = data.pop("field_name")
    fact = parse_fact(data, zone(assume_tz) if assume_tz else None)
    stored, _ = ledger_from(ctx).record(fact)
    if stored is None:
        click.echo(f"Already recorded: {fact.event_id()}")
    else:
        click.echo(f"Recorded {stored.type} {stored.event_id}")


@main.command()
@click.argument("event_id", type=click.UUID)
@click.option("--reason", help="Why the fact is retracted.")
@click.option("--actor", help="Who retracts it.")
@click.pass_context
@friendly
def retract(ctx: click.Context, event_id: UUID, reason: str | None, actor: str | None) -> None:
    """Retract a fact: it stays in the log but stops counting in every derivation.

    \b
    Example:
        lifecycle retract 0b7d8c1e-5f0a-5d6b-9c1e-2f3a4b5c6d7e --reason "test lead"
    """
    from lifecycle.domain.facts import FactRetracted
    from lifecycle.domain.timeutil import utc_now

    ledger = ledger_from(ctx)
    subject = ledger.subject_of(event_id)
    fact = FactRetracted(**{f"{subject.type}_id": subject.id}, occurred_at=utc_now(),
                         target_event_id=event_id, reason=reason, actor=actor)
    stored, _ = ledger.record(fact)
    click.echo(f"Retracted {event_id} (retraction {stored.event_id if stored else '-'})")


@main.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "input_format",
              type=click.Choice(["jsonl", "csv", "hubspot", "salesforce"]),
              help="The file's format (default: from its extension).")
@click.option("--object", "object_type", type=click.Choice(["contacts", "companies"]),
              help="HubSpot: what the export holds (default: contacts).")
@click.option("--columns", metavar="FIELD=COLUMN,...", multiple=True,
              help="CSV: map the export's columns onto fact fields; a value that is not a "
                   "column is a constant.")
@click.option("--strict", is_flag=True, help="Store nothing if any row is bad (exit 1).")
@click.option("--rejects", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write rejected rows here, one JSON object per line.")
@click.option("--assume-tz", metavar="TZ",
              help="Zone of timestamps without an offset (e.g. Europe/Berlin).")
@click.pass_context
@friendly
def import_(ctx: click.Context, file: str, input_format: str | None, object_type: str | None,
            columns: tuple[str, ...], strict: bool, rejects: str | None,
            assume_tz: str | None) -> None:
    """Import facts idempotently, then bring the read models up to date.

    Prints read / stored / duplicate / rejected / skipped counts. Bad rows are reported
    with their line, field and reason and the rest is stored (exit status 3); with
    --strict nothing is stored (exit status 1). CRM exports: --format hubspot (objects
    read with propertiesWithHistory), --format salesforce (LeadHistory, ContactHistory,
    AccountHistory, Contact), --format csv --columns for any other CSV.

    \b
    Example:
        lifecycle import facts.jsonl --rejects rejects.jsonl
        lifecycle import history.csv --assume-tz America/New_York --strict
        lifecycle import contacts.json --format hubspot --object contacts
        lifecycle import LeadHistory.csv --format salesforce
        lifecycle import marketo.csv --format csv \\
            --columns 'person_id=Lead Id,occurred_at=Changed On,value=New Status' \\
            --columns type=status_changed,source=marketo
    """
    import shutil
    import tempfile

    from lifecycle.application.importing import import_rows
    from lifecycle.console.progress import Progress
    from lifecycle.domain.timeutil import zone
    from lifecycle.importers.mapped import ColumnsError
    from lifecycle.importers.registry import detect_format, open_reader

    name = Path(file).name
    fmt = input_format or ("csv" if columns else detect_format(Path(file)))
    if object_type and fmt != "hubspot":
        raise click.UsageError("--object goes with --format hubspot")
    if columns and fmt != "csv":
        raise click.UsageError("--columns goes with --format csv")
    tz = zone(assume_tz) if assume_tz else None
    if file == "-":  # read twice (--strict, --columns): keep standard input in a file
        spool = Path(ctx.with_resource(tempfile.TemporaryDirectory())) / "stdin"
        with spool.open("wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out)
        path = spool
    else:
        path = Path(file)
        if not path.is_file():
            raise click.ClickException(f"{file}: no such file")
    try:
        reader, notes = open_reader(fmt, path, object_type=object_type,
                                    columns=",".join(columns) if columns else None)
    except ColumnsError as exc:
        raise click.BadParameter(str(exc), param_hint="--columns") from None
    for note in notes:
        click.echo(note)
    opened: list[Any] = []

    def rows() -> Any:
        opened.append(path.open("rb"))
        return reader(opened[-1], tz)

    ledger = ledger_from(ctx)
    ledger.active_definitions()
    try:
        with Progress(f"Importing {name}", path.stat().st_size) as progress:
            summary = import_rows(ledger, rows, strict=strict, progress=progress.update)
    finally:
        for stream in opened:
            stream.close()
    # `skipped` is shown where rows are skipped by design (the SPEC line is kept otherwise).
    skipped = f", skipped {summary.skipped}" if summary.skipped or fmt == "salesforce" else ""
    click.echo(f"{name}: read {summary.read}, stored {summary.stored}, "
               f"duplicate {summary.duplicate}, rejected {summary.rejected}{skipped}")
    for message, items in summary.warnings.items():
        shown = ", ".join(items[:20]) + (f", … and {len(items) - 20} more"
                                         if len(items) > 20 else "")
        click.echo(f"Warning: {message} ({len(items)}): {shown}", err=True)
    for bad in summary.rejections[:5]:
        where = f"{file}:{bad.line}" + (f": {bad.field}" if bad.field else "")
        click.echo(f"  {where}: {bad.reason}", err=True)
    if summary.rejected > 5:
        click.echo(f"  … and {summary.rejected - 5} more", err=True)
    if rejects:
        with open(rejects, "w", encoding="utf-8") as out:
            for bad in summary.rejections:
                out.write(json.dumps({"line": bad.line, "field": bad.field,
                                      "reason": bad.reason, "raw": bad.raw},
                                     ensure_ascii=False) + "\n")
    if not summary.committed:
        raise click.ClickException(
            f"{file}: {summary.rejected} bad row(s); nothing was stored (--strict)")
    if summary.rejected:
        ctx.exit(EXIT_REJECTED)


# ---- definitions ---------------------------------------------------------------------------

@main.group(context_settings=CONTEXT)
def definitions() -> None:
    """The active definitions, a check of a file, the history of published versions.

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


@main.command()
@click.argument("file", metavar="FILE")
@click.option("--dry-run", is_flag=True,
              help="Print what would change and change nothing.")
@click.option("--examples", default=5, show_default=True,
              help="Example subjects listed per change.")
@output_format
@click.pass_context
@friendly
def backfill(ctx: click.Context, file: str, dry_run: bool, examples: int, fmt: str) -> None:
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
    from lifecycle.console.render import print_dry_run, to_json

    new = load_definitions_file(file)
    ledger = ledger_from(ctx)
    if dry_run:
        print_dry_run(backfills.dry_run(ledger, new, examples), fmt)
        return
    result = backfills.backfill(ledger, new)
    if fmt == "json":
        click.echo(to_json(result))
        return
    state = "published and" if result["published"] else "already published;"
    click.echo(f"Definitions {result['version']} {state} projections rebuilt "
               f"to position {result['position']}.")
    for change in result["definition_changes"]:
        click.echo(f"  {change}")


# ---- reports ---------------------------------------------------------------------------------

KNOWN_AT_HELP = ("Report what the ledger would have said at this moment: only facts "
                 "recorded by then, under the definitions active then.")


def report_options(func: F) -> F:
    """What every report command takes and does: --definitions, --format, the context, and
    the library's errors as `Error: …`."""
    return definitions_option(output_format(click.pass_context(friendly(func))))  # type: ignore[return-value]


def definitions_option(func: F) -> F:
    return click.option(
        "--definitions", "definitions_version", metavar="VERSION",
        help="Report under this published version of the definitions (without "
             "publishing it).")(func)


@main.group(context_settings=CONTEXT)
def report() -> None:
    """Stage counts, stamps, moves and analytics (funnel, velocity, SLA, flags, signals,
    aging, timeline, an HTML page), as tables, JSON or CSV.

    --as-of is business time: "which stage was each subject in at T?". --known-at is
    ledger time: "what would the ledger have answered if asked at K?" (facts recorded
    later, and retractions made later, are left out).

    \b
    Example:
        lifecycle report stages --as-of 2024-03-31T23:59:59Z
        lifecycle report stages --as-of 2024-03-31T23:59:59Z --known-at 2024-04-02T09:00:00Z
    """


@report.command("stages")
@click.option("--as-of", "as_of", type=INSTANT, required=True, help="The moment to count at.")
@click.option("--known-at", type=INSTANT, help=KNOWN_AT_HELP)
@click.option("--level", type=LEVEL, default="person", show_default=True)
@report_options
def report_stages(ctx: click.Context, as_of: datetime, known_at: datetime | None, level: str,
                  definitions_version: str | None, fmt: str) -> None:
    """Stage counts as of a moment (every defined stage, zero counts included).

    \b
    Example:
        lifecycle report stages --as-of 2024-03-31T23:59:59Z --level account --format json
    """
    from lifecycle.console.render import emit
    from projections.queries.quick import stage_counts

    # Most runs of this command are the whole process: a current projection is read
    # straight from SQLite, without loading the ledger (its start-up is the cost).
    data = None if known_at or definitions_version else stage_counts(
        ctx.find_root().obj["db"], as_of, level)
    if data is None:
        from lifecycle.reports import stages as reports

        data = reports.stages(ledger_from(ctx), as_of, level, known_at, definitions_version)
    caption = (f"{level}s as of {data['as_of']}"
               + (f", known at {data['known_at']}" if data["known_at"] else "")
               + f" · definitions {data['definitions_version']} · total {data['total']}")
    emit(data["stages"], ["stage", "label", "count"], fmt, caption=caption, json_data=data)


@report.command("stamps")
@click.option("--level", type=LEVEL)
@click.option("--stage", help="Only this stage.")
@click.option("--known-at", type=INSTANT, help=KNOWN_AT_HELP)
@click.option("--snapshot", is_flag=True,
              help="Add what caused each first reach (event, source, actor, campaign...).")
@report_options
def report_stamps(ctx: click.Context, level: str | None, stage: str | None,
                  known_at: datetime | None, snapshot: bool, definitions_version: str | None,
                  fmt: str) -> None:
    """One row per subject and stage: first and last reached, times, inferred.

    \b
    Example:
        lifecycle report stamps --stage mql --format csv > mql_stamps.csv
    """
    from lifecycle.console.render import emit
    from lifecycle.reports import stages as reports

    rows = reports.stamps(ledger_from(ctx), level, stage, known_at, snapshot,
                          definitions_version)
    columns = reports.STAMP_COLUMNS + (reports.SNAPSHOT_COLUMNS if snapshot else [])
    emit(rows, columns, fmt)


@report.command("moves")
@click.option("--level", type=LEVEL)
@click.option("--direction", multiple=True, type=click.Choice(
    ["entry", "exit", "reentry", "forward", "backward", "lateral"]),
    help="Only these directions (repeatable).")
@click.option("--since", type=INSTANT, help="From this moment (inclusive).")
@click.option("--until", type=INSTANT, help="Up to this moment (exclusive).")
@click.option("--known-at", type=INSTANT, help=KNOWN_AT_HELP)
@report_options
def report_moves(ctx: click.Context, level: str | None, direction: tuple[str, ...],
                 since: datetime | None, until: datetime | None, known_at: datetime | None,
                 definitions_version: str | None, fmt: str) -> None:
    """Transitions between stages, with their direction.

    \b
    Example:
        lifecycle report moves --direction backward --since 2024-01-01 --until 2024-04-01
    """
    from lifecycle.console.render import emit
    from lifecycle.reports import stages as reports

    rows = reports.moves(ledger_from(ctx), level, direction, since, until, known_at,
                         definitions_version)
    emit(rows, reports.MOVE_COLUMNS, fmt)


@report.command("diff")
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
    from lifecycle.console.render import print_diff

    result = diff(ledger_from(ctx), as_of, Side(before_known_at, before_definitions),
                  Side(after_known_at, after_definitions), level)
    print_diff(result, fmt)


WINDOW_FROM_HELP = "From this moment (inclusive; a date is midnight UTC)."
WINDOW_TO_HELP = "Up to this moment (exclusive)."


@report.command("funnel")
@click.option("--entry-stage", metavar="STAGE",
              help="The stage the cohort first reached (default: the lowest path stage).")
@click.option("--from", "start", type=INSTANT,
              help="Cohort: first reached the entry stage at or after this moment.")
@click.option("--to", "end", type=INSTANT,
              help="Cohort: first reached the entry stage before this moment (exclusive).")
@click.option("--level", type=LEVEL, default="person", show_default=True)
@click.option("--by", type=click.Choice(["source", "campaign"]),
              help="Split by the source or campaign of the fact that first reached the "
                   "entry stage (its first-reached snapshot).")
@click.option("--known-at", type=INSTANT, help=KNOWN_AT_HELP)
@report_options
def report_funnel(ctx: click.Context, entry_stage: str | None, start: datetime | None,
                  end: datetime | None, level: str, by: str | None, known_at: datetime | None,
                  definitions_version: str | None, fmt: str) -> None:
    """Conversion of a cohort through every later path stage.

    The cohort: subjects that first reached the entry stage in [--from, --to). For each
    path stage ranked above it: how many reached it, the share of the cohort and of the
    stage before, and the median days from the entry stage. A stage counts as reached
    when the subject has a stamp for it first reached at or after the entry stage:
    inferred stamps (stages skipped on the way up) count, and the `inferred` column says
    how many of the reached got there that way.

    \b
    Example:
        lifecycle report funnel --entry-stage mql --from 2024-01-01 --to 2024-04-01
        lifecycle report funnel --by source --format csv
    """
    from lifecycle.console.analytics_render import print_funnel
    from lifecycle.reports import funnel

    document = funnel.funnel(ledger_from(ctx), entry_stage, start, end, level, by, known_at,
                             definitions_version)
    print_funnel(document, funnel.columns(by), fmt)


@report.command("velocity")
@click.option("--from-stage", metavar="STAGE", help="Measure from first reaching this stage.")
@click.option("--to-stage", metavar="STAGE",
              help="...to first reaching this one (default: every consecutive pair of path "
                   "stages).")
@click.option("--by", type=click.Choice(["month"]),
              help="Group by the month the to-stage was first reached.")
@click.option("--level", type=LEVEL, default="person", show_default=True)
@click.option("--since", type=INSTANT,
              help="Only conversions (and moves) at or after this moment.")
@click.option("--until", type=INSTANT, help="Only conversions (and moves) before this moment.")
@click.option("--known-at", type=INSTANT, help=KNOWN_AT_HELP)
@report_options
def report_velocity(ctx: click.Context, from_stage: str | None, to_stage: str | None,
                    by: str | None, level: str, since: datetime | None,
                    until: datetime | None, known_at: datetime | None,
                    definitions_version: str | None, fmt: str) -> None:
    """Days between first reaching one stage and first reaching the next.

    Per pair: count, median, p75 and p90 days (subjects whose to-stage was first reached
    at or after the from-stage; inferred stamps count). Percentiles use linear
    interpolation between closest ranks, as numpy, pandas and Excel PERCENTILE.INC do:
    the median of 1, 2, 3, 4 days is 2.5 and its p90 is 3.7. Beside each pair, for the
    from-stage: entries (moves into it), backward_moves (moves out of it to a lower
    rank) and recycle_rate = backward_moves / entries.

    \b
    Example:
        lifecycle report velocity
        lifecycle report velocity --from-stage mql --to-stage sql --by month --format csv
    """
    from lifecycle.console.analytics_render import print_velocity
    from lifecycle.reports import velocity

    document = velocity.velocity(ledger_from(ctx), from_stage, to_stage, by, level, since,
                                 until, known_at, definitions_version)
    print_velocity(document, velocity.columns(by), fmt)


@report.command("sla")
@click.option("--as-of", "as_of", type=INSTANT, required=True,
              help="Judge open intervals at this moment.")
@click.option("--level", type=LEVEL, default="person", show_default=True)
@click.option("--sla", "name", metavar="NAME", help="Only this SLA of the definitions.")
@click.option("--since", type=INSTANT, help="Only intervals entered at or after this moment.")
@click.option("--known-at", type=INSTANT, help=KNOWN_AT_HELP)
@report_options
def report_sla(ctx: click.Context, as_of: datetime, level: str, name: str | None,
               since: datetime | None, known_at: datetime | None,
               definitions_version: str | None, fmt: str) -> None:
    """SLA breaches as of a moment, and a summary per SLA of the definitions.

    An interval in the SLA's stage breaches when it lasted longer than `within`, or is
    still open as of --as-of and has lasted longer already. The summary counts every
    interval entered by then: in_sla, breached, open (within so far) and breaching_now.
    CSV and the table list the breaches; JSON has both.

    \b
    Example:
        lifecycle report sla --as-of 2024-12-31T23:59:59Z
        lifecycle report sla --as-of now --sla mql_follow_up --format csv
    """
    from lifecycle.console.analytics_render import print_sla
    from lifecycle.reports import sla

    document = sla.sla(ledger_from(ctx), as_of, level, name, since, known_at,
                       definitions_version)
    print_sla(document, sla.COLUMNS, sla.SUMMARY_COLUMNS, fmt)


@report.command("flags")
@click.option("--as-of", "as_of", type=INSTANT, required=True, help="Flags active then.")
@click.option("--flag", multiple=True, type=click.Choice(["renewal", "upgrade", "at_risk"]),
              help="Only these flags (repeatable).")
@click.option("--known-at", type=INSTANT, help=KNOWN_AT_HELP)
@report_options
def report_flags(ctx: click.Context, as_of: datetime, flag: tuple[str, ...],
                 known_at: datetime | None, definitions_version: str | None, fmt: str) -> None:
    """Accounts with active renewal, upgrade or at-risk flags, and their persons.

    A person carries its account's flags while it is linked to the account; each flagged
    account is listed, then the persons linked to it as of --as-of (flagged_since: when
    the person got the flag), with everyone's stage then.

    \b
    Example:
        lifecycle report flags --as-of 2024-12-31T23:59:59Z --flag at_risk --format csv
    """
    from lifecycle.console.analytics_render import print_flags
    from lifecycle.reports import flags as flags_report

    document = flags_report.flags(ledger_from(ctx), as_of, flag, known_at,
                                  definitions_version)
    print_flags(document, flags_report.COLUMNS, flags_report.SUMMARY_COLUMNS, fmt)


@report.command("signals")
@click.option("--since", type=INSTANT, help="From this moment (inclusive).")
@click.option("--until", type=INSTANT, help="Up to this moment (exclusive).")
@click.option("--reason", multiple=True,
              type=click.Choice(["engaged", "exit", "low_fit", "unlisted_kind"]),
              help="Only these reasons (repeatable; default: engaged, exit, low_fit).")
@click.option("--known-at", type=INSTANT, help=KNOWN_AT_HELP)
@report_options
def report_signals(ctx: click.Context, since: datetime | None, until: datetime | None,
                   reason: tuple[str, ...], known_at: datetime | None,
                   definitions_version: str | None, fmt: str) -> None:
    """Hand raises that moved nobody, with the person's stage when they came.

    Reasons: engaged (already at or past the hand raise's stage), exit (in an exit
    stage: a hand raise never brings anyone back), low_fit (fit missing or below
    min_fit), unlisted_kind (a kind the definitions do not list; only on request).

    \b
    Example:
        lifecycle report signals --since 2024-10-01 --format csv
    """
    from lifecycle.console.analytics_render import print_signals
    from lifecycle.reports import signals

    document = signals.signals(ledger_from(ctx), since, until, reason, known_at,
                               definitions_version)
    print_signals(document, signals.COLUMNS, fmt)


@report.command("aging")
@click.option("--as-of", "as_of", type=INSTANT, required=True, help="The moment to age at.")
@click.option("--level", type=LEVEL, default="person", show_default=True)
@click.option("--known-at", type=INSTANT, help=KNOWN_AT_HELP)
@report_options
def report_aging(ctx: click.Context, as_of: datetime, level: str, known_at: datetime | None,
                 definitions_version: str | None, fmt: str) -> None:
    """How long subjects have sat in the stage they are in, per stage.

    Count, median and p90 days since entering the current stage (percentiles by linear
    interpolation, as numpy and Excel PERCENTILE.INC), and the oldest subject.

    \b
    Example:
        lifecycle report aging --as-of now --level account
    """
    from lifecycle.console.analytics_render import print_aging
    from lifecycle.reports import aging

    document = aging.aging(ledger_from(ctx), as_of, level, known_at, definitions_version)
    print_aging(document, aging.COLUMNS, fmt)


@report.command("timeline")
@click.option("--from", "start", type=INSTANT,
              help="First period starts here (default: the first transition's period).")
@click.option("--to", "end", type=INSTANT,
              help="Last period ends here, exclusive (default: end of the last "
                   "transition's period).")
@click.option("--every", type=click.Choice(["week", "month"]), default="month",
              show_default=True, help="Calendar weeks (from Monday) or months, in UTC.")
@click.option("--level", type=LEVEL, default="person", show_default=True)
@click.option("--known-at", type=INSTANT, help=KNOWN_AT_HELP)
@report_options
def report_timeline(ctx: click.Context, start: datetime | None, end: datetime | None,
                    every: str, level: str, known_at: datetime | None,
                    definitions_version: str | None, fmt: str) -> None:
    """Stage counts at the end of each week or month: the series of a stacked chart.

    Periods are cut to [--from, --to); a period counts the transitions before its end.
    CSV has one column per stage.

    \b
    Example:
        lifecycle report timeline --from 2024-01-01 --to 2025-01-01 --every month --format csv
    """
    from lifecycle.console.analytics_render import print_timeline
    from lifecycle.reports import timeline

    document = timeline.timeline(ledger_from(ctx), start, end, every, level, known_at,
                                 definitions_version)
    print_timeline(document, timeline.columns(document["stages"]), fmt)


@report.command("html")
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
    from lifecycle.reports.html import write_report

    summary = write_report(ledger_from(ctx), Path(output), start, end, level, known_at,
                           definitions_version)
    click.echo(f"Wrote {output}: {level}s from {summary['from']} to {summary['to']}, "
               f"definitions {summary['definitions_version']}.")


# ---- audit, verify, demo -----------------------------------------------------------------

@main.command()
@click.argument("subject_type", type=LEVEL)
@click.argument("subject_id", metavar="ID")
@output_format
@click.pass_context
@friendly
def audit(ctx: click.Context, subject_type: str, subject_id: str, fmt: str) -> None:
    """A subject's facts (recorded_at, source, actor, retractions) and what each derived.

    \b
    Example:
        lifecycle audit person 00Q8c00001XyZ9aEAF
        lifecycle audit account acme --format json
    """
    from lifecycle.application.audit import audit as run_audit
    from lifecycle.console.render import print_audit
    from lifecycle.domain.facts import Subject

    document = run_audit(ledger_from(ctx), Subject(subject_type, subject_id))
    print_audit(document, fmt)


@main.command()
@click.pass_context
@friendly
def verify(ctx: click.Context) -> None:
    """Check the log reads back whole and every projection equals a fresh replay.

    Exit status 0 only when all is intact.

    \b
    Example:
        lifecycle verify
    """
    from lifecycle.application.verify import verify as run_verify

    result = run_verify(ledger_from(ctx))
    for problem in result.problems:
        click.echo(problem, err=True)
    status = "intact" if result.ok else f"{len(result.problems)} problem(s)"
    click.echo(f"{result.events} facts in {result.subjects} streams, projections at "
               f"{result.position}: {status}")
    if not result.ok:
        ctx.exit(1)


class Seconds(click.FloatRange):
    """A duration in seconds: a number >= 0 (not NaN, which every range check lets by)."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        seconds = super().convert(value, param, ctx)
        if seconds != seconds:
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


SECONDS = Seconds(min=0)


class PartitionType(click.ParamType):
    """`i/n`: worker i of n (0-based)."""

    name = "I/N"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from projections.positions import Partition

        try:
            index, count = (int(part) for part in str(value).split("/"))
            return Partition(index, count)
        except ValueError:
            self.fail(f"{value!r} is not i/n with 0 <= i < n (e.g. 0/2)", param, ctx)


@main.command()
@click.option("--partition", type=PartitionType(),
              help="Keep only this share of the subjects (worker i of n, from 0).")
@click.option("--follow", is_flag=True, help="Keep going: apply new facts as they arrive.")
@click.option("--interval", default=0.5, show_default=True, type=Seconds(min=0, max=3600),
              help="With --follow: seconds between looks at the log.")
@click.option("--max-seconds", type=SECONDS, metavar="S",
              help="With --follow: stop after S seconds (for scripts and tests).")
@click.option("--inline", is_flag=True,
              help="Hand the projections back to imports and records (stop workers first).")
@click.pass_context
@friendly
def project(ctx: click.Context, partition: Any, follow: bool, interval: float,
            max_seconds: float | None, inline: bool) -> None:
    """Bring the projections up to date with the log, once or continuously.

    Imports and records keep projections current by themselves. Run workers when
    several processes write facts, or to share the work: with --partition i/n, n
    workers each keep their share of the subjects, each with its own position, so
    stopping and restarting one loses and repeats nothing. Once workers are started,
    they own the projections.

    \b
    Example:
        lifecycle project --follow
        lifecycle --db postgresql+psycopg://etl@db/ledger project --follow --partition 0/2
    """
    import time

    ledger = ledger_from(ctx)
    if inline:
        ledger.stop_workers()
        click.echo(f"projections kept inline again, at position {ledger.position()}")
        return
    started = time.monotonic()
    label = f"partition {partition.index}/{partition.count}" if partition else "projections"
    while True:
        applied = ledger.project(partition)
        if applied:
            click.echo(f"{label}: applied {applied} event(s), "
                       f"at position {ledger.position(partition)}")
        if not follow:
            if not applied:
                click.echo(f"{label}: up to date at position {ledger.position(partition)}")
            return
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            return
        if not applied:  # never sleeping past --max-seconds
            left = None if max_seconds is None else max_seconds - (time.monotonic() - started)
            time.sleep(interval if left is None else max(0.0, min(interval, left)))


@main.command()
@click.pass_context
@friendly
def rebuild(ctx: click.Context) -> None:
    """Replay the whole log into fresh projections and swap them in.

    Safe at any time: readers keep the old projections until the new ones are complete,
    and an interrupted rebuild changes nothing.

    \b
    Example:
        lifecycle rebuild
    """
    ledger = ledger_from(ctx)
    position = ledger.rebuild()
    click.echo(f"Projections rebuilt from the log up to position {position}.")


@main.command()
@click.option("--keep", type=click.Path(file_okay=False), metavar="DIR",
              help="Keep the demo store in DIR instead of a throwaway folder.")
@friendly
def demo(keep: str | None) -> None:
    """Run the main job on bundled sample data in a throwaway store.

    Imports two years of made-up but realistic history (a few hundred persons, dozens of
    accounts), then prints an as-of report, the backward moves and one audit.

    \b
    Example:
        lifecycle demo
    """
    from lifecycle.console.demo import run_demo

    run_demo(keep)


if __name__ == "__main__":  # pragma: no cover
    main()
