"""`audit`, `verify`, `project`, `rebuild` and `demo`: looking after a ledger."""

from __future__ import annotations

from typing import Any

import click

from lifecycle.console.options import (
    LEVEL,
    SECONDS,
    PartitionType,
    Seconds,
    friendly,
    ledger_from,
    output_format,
    workers_option,
    writer_from,
)


@click.command()
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


class LogHead(click.ParamType):
    """`ENTRIES:HASH`, a log head as `lifecycle verify` prints it."""

    name = "HEAD"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from lifecycle.store.logchain import parse_head

        try:
            return parse_head(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@click.command()
@click.option("--expect-head", type=LogHead(), metavar="HEAD",
              help="A head printed by an earlier verify (ENTRIES:HASH), kept outside the "
                   "store: the log must still hold it, unchanged.")
@click.pass_context
@friendly
def verify(ctx: click.Context, expect_head: Any) -> None:
    """Check the log, its hash chains, the store, and every projection against a replay.

    Checks the log against its hash chains (edits, deletions, insertions, reordering), the
    database's own integrity check, the projections' positions and the fact index against
    the log, and that every projection equals a fresh replay.

    Prints the log's head (ENTRIES:HASH): keep it outside the store (a ticket, a commit,
    an email) and pass it back with --expect-head to prove that the log still holds
    everything up to it, unchanged. With LIFECYCLE_CHAIN_KEY set, new entries are sealed
    with the key, and verify checks the seals. Exit status 0 only when all is intact.

    \b
    Example:
        lifecycle verify
        lifecycle verify --expect-head 1042:6f1c...
    """
    from lifecycle.application.verify import verify as run_verify
    from lifecycle.console.progress import showing_progress

    with showing_progress(ctx) as ledger:
        result = run_verify(ledger, expect_head=expect_head)
    for problem in result.problems:
        click.echo(problem, err=True)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    status = "intact" if result.ok else f"{len(result.problems)} problem(s)"
    click.echo(f"head {result.head}")
    click.echo(f"{result.events} facts in {result.subjects} streams, projections at "
               f"{result.position}: {status}")
    if not result.ok:
        ctx.exit(1)


@click.command()
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

    from lifecycle.console.progress import showing_progress

    ledger = writer_from(ctx, "project")
    if inline:
        ledger.stop_workers()
        click.echo(f"projections kept inline again, at position {ledger.position()}")
        return
    started = time.monotonic()
    label = f"partition {partition.index}/{partition.count}" if partition else "projections"
    while True:
        with showing_progress(ctx):
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


@click.command()
@workers_option
@click.pass_context
@friendly
def rebuild(ctx: click.Context, workers: int | None) -> None:
    """Replay the whole log into fresh projections and swap them in.

    Safe at any time: readers keep the old projections until the new ones are complete,
    and an interrupted rebuild changes nothing. A large log is replayed in partitions of
    related subjects (memory stays bounded), by one process per core.

    \b
    Example:
        lifecycle rebuild
        lifecycle rebuild --workers 1
    """
    from lifecycle.console.progress import showing_progress

    writer_from(ctx, "rebuild")
    with showing_progress(ctx) as ledger:
        ledger.workers = workers
        position = ledger.rebuild()
    click.echo(f"Projections rebuilt from the log up to position {position}.")


@click.command()
@click.option("--keep", type=click.Path(file_okay=False), metavar="DIR",
              help="Keep the demo store in DIR instead of a throwaway folder.")
@click.pass_context
@friendly
def demo(ctx: click.Context, keep: str | None) -> None:
    """Run the main job on bundled sample data in a throwaway store.

    Imports two years of made-up but realistic history (a few hundred persons, dozens of
    accounts), then prints an as-of report, the backward moves and one audit.

    \b
    Example:
        lifecycle demo
    """
    from lifecycle.console.demo import run_demo

    run_demo(keep, quiet=ctx.find_root().obj.get("quiet", False))
