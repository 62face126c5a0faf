"""`sync hubspot`, `sync salesforce`: keep the ledger current straight from the CRM."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from lifecycle.console.options import EXIT_REJECTED, friendly, ledger_from, refuse_read_only

EXTRA = 'lifecycle sync needs the sync extra: pip install "lifecycle-ledger[sync]"'


class Duration(click.ParamType):
    """`15m`, `1h`, `1d`: a number with a unit."""

    name = "DURATION"

    def convert(self, value: Any, param: Any, ctx: Any) -> timedelta:
        from lifecycle.domain.timeutil import parse_duration

        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def sync_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """What both CRMs take."""
    for option in reversed([
        click.option("--api-url", metavar="URL",
                     help="Send every request to this base URL instead (a proxy, a sandbox, "
                          "a local test server)."),
        click.option("--full", is_flag=True,
                     help="Read everything again, not only what changed since the last sync "
                          "(what is stored already counts as duplicate)."),
        click.option("--dry-run", is_flag=True,
                     help="Fetch and count what would be stored; store nothing."),
        click.option("--every", type=Duration(), metavar="DURATION",
                     help="Keep syncing, one round every DURATION (e.g. 15m), until SIGTERM."),
        click.option("--overlap", type=Duration(), metavar="DURATION",
                     help="Start each read this long before the cursor (default: 10m)."),
        click.option("--rejects", type=click.Path(dir_okay=False), metavar="PATH",
                     help="Write rejected records here, one JSON object per line."),
    ]):
        func = option(func)
    return func


@click.group()
def sync() -> None:
    """Pull lifecycle history straight from HubSpot or Salesforce, incrementally.

    Each object keeps a cursor in the store, moved in the same transaction as the facts it
    covers: a sync stopped at any moment and run again stores every fact exactly once, and
    facts from a sync and from a file import of the same records are the same facts.
    Prints fetched / stored / duplicate / rejected per object; exit status 3 when records
    were rejected, 1 with `Error:` when the sync could not complete (what was fetched
    until then is kept). See docs/sync.md.

    \b
    Example:
        HUBSPOT_TOKEN=pat-... lifecycle sync hubspot
        lifecycle sync salesforce --every 15m
    """


@sync.command("hubspot")
@click.option("--object", "objects", multiple=True,
              type=click.Choice(["contacts", "companies", "deals"]),
              help="Only these objects (default: all).")
@click.option("--property", "properties", multiple=True, metavar="NAME",
              help="Also read this property's history (beyond those the definitions map).")
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True), metavar="PATH",
              help="Read the private-app token from this file instead of HUBSPOT_TOKEN.")
@sync_options
@click.pass_context
@friendly
def sync_hubspot(ctx: click.Context, objects: tuple[str, ...], properties: tuple[str, ...],
                 token_file: str | None, **options: Any) -> None:
    """Sync contacts, companies and deals with their property histories from HubSpot.

    The private-app token comes from HUBSPOT_TOKEN (or --token-file), never from the
    command line. Reads the history of every property the active definitions map, plus
    any --property, contacts' company associations, deals' companies and contacts, and
    the ids merged into each object.

    \b
    Example:
        export HUBSPOT_TOKEN=pat-na1-...
        lifecycle sync hubspot
        lifecycle sync hubspot --object contacts --property hs_lead_status --dry-run
    """
    if not options["dry_run"]:
        refuse_read_only(ctx, "sync")
    token = _secret("HUBSPOT_TOKEN", token_file, "create a HubSpot private app with the "
                    "crm.objects.contacts.read, crm.objects.companies.read and "
                    "crm.objects.deals.read scopes")

    def source(policy: Any) -> Any:
        from lifecycle.application.sync_sources import HubSpotSource
        from lifecycle.connectors.hubspot import HubSpotConnector

        return HubSpotSource(HubSpotConnector(token, options["api_url"], policy), properties)

    _run(ctx, source, objects, token, options)


@sync.command("salesforce")
@click.option("--object", "objects", multiple=True,
              type=click.Choice(["LeadHistory", "ContactHistory", "AccountHistory", "Contact",
                                 "Lead", "Opportunity", "OpportunityHistory",
                                 "OpportunityFieldHistory", "OpportunityContactRole"]),
              help="Only these objects (default: all).")
@click.option("--access-token-file", type=click.Path(dir_okay=False, exists=True),
              metavar="PATH",
              help="Read the access token from this file instead of SALESFORCE_ACCESS_TOKEN.")
@click.option("--bulk-threshold", type=click.IntRange(min=0), default=50_000,
              show_default=True, metavar="ROWS",
              help="Run a query as a Bulk API 2.0 job when it has more rows than this.")
@sync_options
@click.pass_context
@friendly
def sync_salesforce(ctx: click.Context, objects: tuple[str, ...],
                    access_token_file: str | None, bulk_threshold: int,
                    **options: Any) -> None:
    """Sync field history (Lead, Contact, Account) and contacts' accounts from Salesforce.

    Needs SALESFORCE_INSTANCE_URL (e.g. https://acme.my.salesforce.com) and an OAuth
    access token in SALESFORCE_ACCESS_TOKEN (or --access-token-file), never on the
    command line.

    \b
    Example:
        export SALESFORCE_INSTANCE_URL=https://acme.my.salesforce.com
        export SALESFORCE_ACCESS_TOKEN=00D...
        lifecycle sync salesforce
        lifecycle sync salesforce --object LeadHistory --full
    """
    if not options["dry_run"]:
        refuse_read_only(ctx, "sync")
    token = _secret("SALESFORCE_ACCESS_TOKEN", access_token_file,
                    "get an access token for the integration user")
    instance = os.environ.get("SALESFORCE_INSTANCE_URL", "").strip() or options["api_url"]
    if not instance:
        raise click.ClickException("SALESFORCE_INSTANCE_URL is not set: set it to the org's "
                                   "URL, e.g. https://acme.my.salesforce.com (docs/sync.md)")

    def source(policy: Any) -> Any:
        from lifecycle.application.sync_sources import SalesforceSource
        from lifecycle.connectors.salesforce import SalesforceConnector

        try:
            connector = SalesforceConnector(instance, token, options["api_url"], policy,
                                            bulk_threshold)
        except ValueError as exc:
            raise click.ClickException(f"SALESFORCE_INSTANCE_URL / --api-url: {exc}") from None
        return SalesforceSource(connector)

    _run(ctx, source, objects, token, options)


def _secret(variable: str, path: str | None, todo: str) -> str:
    """The token from its file or environment variable; never echoed."""
    if path is not None:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{path}: cannot read the token ({exc})") from None
        if not token:
            raise click.ClickException(f"{path}: the token file is empty")
        return token
    token = os.environ.get(variable, "").strip()
    if not token:
        raise click.ClickException(f"{variable} is not set: {todo}, then export {variable} "
                                   "or name a file holding it (see docs/sync.md)")
    return token


def _run(ctx: click.Context, make_source: Callable[[Any], Any], objects: tuple[str, ...],
         token: str, options: dict[str, Any]) -> None:
    try:
        from lifecycle.application.sync import OVERLAP, SyncRequest, every, sync
        from lifecycle.connectors.retrying import RetryPolicy
    except ImportError:
        raise click.ClickException(EXTRA) from None
    from lifecycle.console.render_sync import Bars, print_round, write_rejects
    from lifecycle.domain.progress import SILENT

    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        ctx.call_on_close(lambda: signal.signal(signal.SIGTERM, previous))
    policy = RetryPolicy(stop=stop, on_wait=lambda reason, _: click.echo(
        f"Retrying after: {reason.replace(token, '***')}", err=True))
    try:
        source = make_source(policy)
    except ImportError:
        raise click.ClickException(EXTRA) from None
    request = SyncRequest(objects or source.objects, full=options["full"],
                          dry_run=options["dry_run"], overlap=options["overlap"] or OVERLAP,
                          stop=stop)
    ledger = ledger_from(ctx)
    ledger.active_definitions()

    def one_round() -> Any:
        bars = Bars(quiet=ctx.find_root().obj.get("quiet", False))
        ledger.progress = bars.display  # the catch-up after the round draws its phases too
        try:
            return sync(ledger, source, request, progress=bars)
        finally:
            ledger.progress = SILENT
            bars.close()

    if options["every"] is None:
        report = one_round()
        print_round(report, request.dry_run, token)
        if options["rejects"]:
            write_rejects(Path(options["rejects"]), report)
        if report.error is not None:
            raise click.ClickException(str(report.error).replace(token, "***"))
        if report.rejected:
            ctx.exit(EXIT_REJECTED)
        return
    last = None
    for number, done in enumerate(every(one_round, options["every"], stop), start=1):
        last = done.report
        print_round(done.report, request.dry_run, token, number, done.started)
        if options["rejects"]:
            write_rejects(Path(options["rejects"]), done.report, append=number > 1)
    if last is not None and last.error is not None and not last.error.transient:
        raise click.ClickException(str(last.error).replace(token, "***"))
