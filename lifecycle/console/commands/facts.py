"""`init`, `record` and `retract`: one fact (or the first definitions) at a time."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import click

from lifecycle.console.options import (
    friendly,
    load_definitions_file,
    refuse_read_only,
    writer_from,
)


@click.command()
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

    refuse_read_only(ctx, "init")
    definitions = load_definitions_file(definitions_file)
    ledger = writer_from(ctx, "init")
    published = ledger.definitions_log()
    if published and published[-1].definitions.version != definitions.version:
        raise LedgerError(
            f"{ledger.display_url} is already initialised with definitions "
            f"{published[-1].definitions.version}; change them with `lifecycle backfill FILE`")
    recorded, new = ledger.publish(definitions)
    state = "published" if new else "already published"
    click.echo(f"Definitions {recorded.definitions.version} {state} in {ledger.display_url}")
    if published:  # facts may be stored already: say if the definitions map few of them
        from lifecycle.application.coverage import ledger_warning
        from lifecycle.console.render import printable

        warning = ledger_warning(ledger, recorded.definitions)
        if warning is not None:
            click.echo(printable(f"Warning: {warning}"), err=True)


@click.command()
@click.argument("fact_type", metavar="TYPE", type=click.Choice(
    ["status_changed", "hand_raised", "disqualified", "renewal_flagged", "person_linked",
     "person_left", "opportunity_linked", "contact_role", "merged"]))
@click.option("--person", "person_id", metavar="ID",
              help="The person the fact is about (for contact_role: the person holding it).")
@click.option("--account", "account_id", metavar="ID",
              help="The account the fact is about (for person_linked and opportunity_linked: "
                   "the account joined).")
@click.option("--opportunity", "opportunity_id", metavar="ID",
              help="The opportunity (deal) the fact is about.")
@click.option("--at", "occurred_at", required=True, metavar="TIMESTAMP",
              help="When it happened, ISO 8601 with an offset.")
@click.option("--field", "field_name", help="status_changed: the field (lifecycle_stage).")
@click.option("--value", help="status_changed: the new raw value (\"\" = cleared).")
@click.option("--previous", help="status_changed: the old raw value.")
@click.option("--kind", help="hand_raised: e.g. demo_request; opportunity_linked: the "
                             "opportunity's type, e.g. Renewal.")
@click.option("--fit", help="hand_raised: high, medium or low.")
@click.option("--reason", help="disqualified: why.")
@click.option("--flag", help="renewal_flagged: renewal, upgrade or at_risk.")
@click.option("--state", help="renewal_flagged: raised or cleared; contact_role: added "
                              "(default) or removed.")
@click.option("--role", help="contact_role: the role, e.g. Decision Maker.")
@click.option("--merged-id", metavar="ID",
              help="merged: the id of the same type that turned out to be this subject.")
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
        lifecycle record opportunity_linked --opportunity 006A1 --account acme \\
            --kind Renewal --at 2024-05-02T10:00:00Z
        lifecycle record merged --person 0038c00000PrS001 --merged-id 00Q8c00001XyZ9aEAF \\
            --at 2024-02-01T09:30:00Z --source salesforce
    """
    from lifecycle.domain.facts import parse_fact
    from lifecycle.domain.timeutil import zone

    data = {"type": fact_type, **{k: v for k, v in fields.items() if v is not None}}
    if "field_name" in data:
        data["field"] = data.pop("field_name")
    fact = parse_fact(data, zone(assume_tz) if assume_tz else None)
    stored, _ = writer_from(ctx, "record").record(fact)
    if stored is None:
        click.echo(f"Already recorded: {fact.event_id()}")
    else:
        click.echo(f"Recorded {stored.type} {stored.event_id}")


@click.command()
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

    ledger = writer_from(ctx, "retract")
    subject = ledger.subject_of(event_id)
    fact = FactRetracted(**{f"{subject.type}_id": subject.id}, occurred_at=utc_now(),
                         target_event_id=event_id, reason=reason, actor=actor)
    stored, _ = ledger.record(fact)
    click.echo(f"Retracted {event_id} (retraction {stored.event_id if stored else '-'})")
