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

    from lifecycle.definitions import DefinitionsError
    from lifecycle.facts import FactInputError
    from lifecycle.importing import FileFormatError
    from lifecycle.ledger import LedgerError
    from lifecycle.store import StoreURLError
    from lifecycle.timeutil import TimeError

    return (LedgerError, DefinitionsError, FactInputError, TimeError, StoreURLError,
            FileFormatError, PersistenceError, SQLAlchemyError, OSError)


def friendly(func: F) -> F:
    """Turn the library's errors into `Error: …` on stderr with exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except _user_errors() as exc:
            raise click.ClickException(_message(exc)) from None

    return wrapper  # type: ignore[return-value]


def _message(exc: BaseException) -> str:
    from lifecycle.facts import FactInputError
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

        from lifecycle.timeutil import TimeError, parse_instant, utc_now

        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        if text.lower() == "now":
            return utc_now()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                return datetime(day.year, day.month, day.day, tzinfo=UTC)
            return parse_instant(text)
        except (TimeError, ValueError) as exc:
            self.fail(str(exc), param, ctx)


INSTANT = Instant()
LEVEL = click.Choice(["person", "account"])


def ledger_from(ctx: click.Context) -> Any:
    from lifecycle.ledger import Ledger

    root = ctx.find_root()
    if "ledger" not in root.obj:
        root.obj["ledger"] = Ledger(root.obj["db"])
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
    from lifecycle.definitions import DefinitionsError, load_definitions
    from lifecycle.starters import starter_text

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
@click.version_option(package_name="lifecycle-ledger")
@click.pass_context
def main(ctx: click.Context, db: str) -> None:
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


@main.command()
@click.option("--definitions", "definitions_file", required=True, metavar="FILE",
              help="A definitions YAML file, or the name of a bundled starter (b2b-2024).")
@click.pass_context
@friendly
def init(ctx: click.Context, definitions_file: str) -> None:
    """Create the store if needed and publish the first definitions.

    \b
    Example:
        lifecycle init --definitions definitions.yaml
    """
    from lifecycle.ledger import LedgerError

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
    from lifecycle.facts import parse_fact
    from lifecycle.timeutil import zone

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
    from lifecycle.facts import FactRetracted
    from lifecycle.timeutil import utc_now

    ledger = ledger_from(ctx)
    subject = ledger.subject_of(event_id)
    fact = FactRetracted(**{f"{subject.type}_id": subject.id}, occurred_at=utc_now(),
                         target_event_id=event_id, reason=reason, actor=actor)
    stored, _ = ledger.record(fact)
    click.echo(f"Retracted {event_id} (retraction {stored.event_id if stored else '-'})")


@main.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "input_format", type=click.Choice(["jsonl", "csv"]),
              help="The file's format (default: from its extension).")
@click.option("--strict", is_flag=True, help="Store nothing if any row is bad (exit 1).")
@click.option("--rejects", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write rejected rows here, one JSON object per line.")
@click.option("--assume-tz", metavar="TZ",
              help="Zone of timestamps without an offset (e.g. Europe/Berlin).")
@click.pass_context
@friendly
def import_(ctx: click.Context, file: str, input_format: str | None, strict: bool,
            rejects: str | None, assume_tz: str | None) -> None:
    """Import facts idempotently, then bring the read models up to date.

    Prints read / stored / duplicate / rejected counts. Bad rows are reported with
    their line, field and reason and the rest is stored (exit status 3); with --strict
    nothing is stored (exit status 1).

    \b
    Example:
        lifecycle import facts.jsonl --rejects rejects.jsonl
        lifecycle import history.csv --assume-tz America/New_York --strict
    """
    from lifecycle.importing import READERS, detect_format, import_rows
    from lifecycle.progress import Progress
    from lifecycle.timeutil import zone

    path = Path(file)
    fmt = input_format or detect_format(path)
    tz = zone(assume_tz) if assume_tz else None
    if file != "-" and not path.is_file():
        raise click.ClickException(f"{file}: no such file")
    size = path.stat().st_size if file != "-" else None

    def rows() -> Any:
        stream = sys.stdin.buffer if file == "-" else path.open("rb")
        return READERS[fmt](stream, tz)

    ledger = ledger_from(ctx)
    ledger.active_definitions()
    with Progress(f"Importing {path.name}", size) as progress:
        summary = import_rows(ledger, rows, strict=strict, progress=progress.update)
    click.echo(f"{path.name}: read {summary.read}, stored {summary.stored}, "
               f"duplicate {summary.duplicate}, rejected {summary.rejected}")
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
        from lifecycle.render import emit

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
    from lifecycle.changes import summarise
    from lifecycle.render import emit
    from lifecycle.timeutil import format_instant

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
    from lifecycle import backfill as backfills
    from lifecycle.render import print_dry_run, to_json

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


def definitions_option(func: F) -> F:
    return click.option(
        "--definitions", "definitions_version", metavar="VERSION",
        help="Report under this published version of the definitions (without "
             "publishing it).")(func)


@main.group(context_settings=CONTEXT)
def report() -> None:
    """Stage counts, stamps and moves, as tables, JSON or CSV.

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
@definitions_option
@output_format
@click.pass_context
@friendly
def report_stages(ctx: click.Context, as_of: datetime, known_at: datetime | None, level: str,
                  definitions_version: str | None, fmt: str) -> None:
    """Stage counts as of a moment (every defined stage, zero counts included).

    \b
    Example:
        lifecycle report stages --as-of 2024-03-31T23:59:59Z --level account --format json
    """
    from lifecycle import reports
    from lifecycle.render import emit

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
@definitions_option
@output_format
@click.pass_context
@friendly
def report_stamps(ctx: click.Context, level: str | None, stage: str | None,
                  known_at: datetime | None, snapshot: bool, definitions_version: str | None,
                  fmt: str) -> None:
    """One row per subject and stage: first and last reached, times, inferred.

    \b
    Example:
        lifecycle report stamps --stage mql --format csv > mql_stamps.csv
    """
    from lifecycle import reports
    from lifecycle.render import emit

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
@definitions_option
@output_format
@click.pass_context
@friendly
def report_moves(ctx: click.Context, level: str | None, direction: tuple[str, ...],
                 since: datetime | None, until: datetime | None, known_at: datetime | None,
                 definitions_version: str | None, fmt: str) -> None:
    """Transitions between stages, with their direction.

    \b
    Example:
        lifecycle report moves --direction backward --since 2024-01-01 --until 2024-04-01
    """
    from lifecycle import reports
    from lifecycle.render import emit

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
    from lifecycle.diff import Side, diff
    from lifecycle.render import print_diff

    result = diff(ledger_from(ctx), as_of, Side(before_known_at, before_definitions),
                  Side(after_known_at, after_definitions), level)
    print_diff(result, fmt)


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
    from lifecycle.audit import audit as run_audit
    from lifecycle.facts import Subject
    from lifecycle.render import print_audit

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
    from lifecycle.verify import verify as run_verify

    result = run_verify(ledger_from(ctx))
    for problem in result.problems:
        click.echo(problem, err=True)
    status = "intact" if result.ok else f"{len(result.problems)} problem(s)"
    click.echo(f"{result.events} facts in {result.subjects} streams, projections at "
               f"{result.position}: {status}")
    if not result.ok:
        ctx.exit(1)


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
    from lifecycle.demo import run_demo

    run_demo(keep)


if __name__ == "__main__":  # pragma: no cover
    main()
