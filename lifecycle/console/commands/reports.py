"""`report ...`: every report of the registry, and `report diff` and `report html`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from lifecycle.console.options import (
    CONTEXT,
    INSTANT,
    KNOWN_AT_HELP,
    LEVEL,
    report_options,
)


@click.group(context_settings=CONTEXT)
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
    from projections.queries.quick import stage_counts

    # Most runs of this command are the whole process: a current projection is read
    # straight from SQLite, without loading the ledger (its start-up is the cost).
    options = {"as_of": as_of, "level": level}
    data = None if known_at or definitions_version else stage_counts(
        ctx.find_root().obj["db"], as_of, level)
    _print(ctx, "stages", known_at, definitions_version, fmt, options, data)


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

    In the table, `inferred` reads `at first` for a stage first reached by inference (a
    skipped stage) and really reached later: first_reached_at is the inferred time.

    \b
    Example:
        lifecycle report stamps --stage mql --format csv > mql_stamps.csv
    """
    _print(ctx, "stamps", known_at, definitions_version, fmt,
           {"level": level, "stage": stage, "snapshot": snapshot,
            "first_inferred": fmt == "table"})


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
    _print(ctx, "moves", known_at, definitions_version, fmt,
           {"level": level, "directions": direction, "since": since, "until": until})


@report.command("funnel")
@click.option("--entry-stage", metavar="STAGE",
              help="The stage the cohort first reached (default: the lowest path stage; "
                   "for opportunities, the lowest one an opportunity really reached, so the "
                   "funnel is the pipeline's conversion and its last row the win rate).")
@click.option("--from", "start", type=INSTANT,
              help="Cohort: first reached the entry stage at or after this moment.")
@click.option("--to", "end", type=INSTANT,
              help="Cohort: first reached the entry stage before this moment (exclusive).")
@click.option("--level", type=LEVEL, default="person", show_default=True)
@click.option("--by", type=click.Choice(["source", "campaign", "kind"]),
              help="Split by the source or campaign of the fact that first reached the "
                   "entry stage (its first-reached snapshot), or, for opportunities, by "
                   "kind (Salesforce Type, HubSpot dealtype; of its latest link).")
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
    _print(ctx, "funnel", known_at, definitions_version, fmt,
           {"entry_stage": entry_stage, "start": start, "end": end, "level": level, "by": by})


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
    _print(ctx, "velocity", known_at, definitions_version, fmt,
           {"from_stage": from_stage, "to_stage": to_stage, "by": by, "level": level,
            "since": since, "until": until})


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
    _print(ctx, "sla", known_at, definitions_version, fmt,
           {"as_of": as_of, "level": level, "name": name, "since": since})


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
    _print(ctx, "flags", known_at, definitions_version, fmt, {"as_of": as_of, "flag": flag})


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
    _print(ctx, "signals", known_at, definitions_version, fmt,
           {"since": since, "until": until, "reason": reason})


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
    _print(ctx, "aging", known_at, definitions_version, fmt, {"as_of": as_of, "level": level})


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
    _print(ctx, "timeline", known_at, definitions_version, fmt,
           {"start": start, "end": end, "every": every, "level": level})




#: The columns `report stages` prints (as the registry's "stages" entry names them).
STAGE_COLUMNS = ["stage", "label", "count"]


def _print(ctx: click.Context, name: str, known_at: datetime | None,
           definitions_version: str | None, fmt: str, options: dict[str, Any],
           document: Any = None) -> None:
    """Run report `name` of the registry with `options` (unless its `document` is given)
    and print it as `fmt`."""
    if name == "stages" and document is not None and fmt != "table":
        # The fast path's answer, printed without the registry (which loads every report,
        # SQLAlchemy and pydantic with them): its start-up is most of its time.
        from lifecycle.console.render import to_csv, to_json

        print(to_json(document) if fmt == "json"
              else to_csv(document["stages"], STAGE_COLUMNS), end="" if fmt == "csv" else "\n")
    else:
        from lifecycle.console.report_render import print_report
        from lifecycle.reports.registry import REPORTS

        if document is None:
            from lifecycle.application.reporting import run_report
            from lifecycle.console.progress import showing_progress

            with showing_progress(ctx) as ledger:
                document = run_report(ledger, name, known_at, definitions_version, **options)
        print_report(REPORTS[name], document, options, fmt)
    empty = {"stages": "total", "funnel": "cohort"}.get(name)
    if empty and document[empty] == 0 and known_at is None and definitions_version is None:
        _hint(ctx, options["level"])


def _hint(ctx: click.Context, level: str) -> None:
    """A note on standard error when a report found no subject and the ledger can say
    why: other levels have stages (use --level), or no subject has any stage."""
    from lifecycle.application.coverage import stage_hint
    from lifecycle.console.options import ledger_from
    from lifecycle.console.render import printable

    hint = stage_hint(ledger_from(ctx), level)
    if hint is not None:
        click.echo(printable(f"Note: {hint}"), err=True)
