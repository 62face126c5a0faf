"""`lifecycle sync` as a user runs it: exact summaries and exit statuses, the token kept
out of output, logs and the store, a sync SIGKILLed mid-way and run again, and `--every`
stopped by SIGTERM."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from lifecycle.application.ledger import Ledger
from lifecycle.connectors.salesforce import OBJECTS as SF_OBJECTS
from tests.sync.conftest import (
    HUBSPOT_TOKEN,
    SALESFORCE_TOKEN,
    facts_by_stream,
    import_exports,
    new_ledger,
)
from tests.sync.crm_data import CrmData
from tests.sync.hubspot_server import HubSpotAPI
from tests.sync.salesforce_server import SalesforceAPI

ROOT = Path(__file__).resolve().parents[2]
SF_KEYS = [f"salesforce:{name}" for name in SF_OBJECTS]
SF_ENV = {"SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
          "SALESFORCE_ACCESS_TOKEN": SALESFORCE_TOKEN}


def invoke(db: str, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--db", db, *args], env=env or {})


def init(db: str) -> None:
    assert invoke(db, "init", "--definitions", "b2b-2024").exit_code == 0


def test_hubspot_summary_per_object_then_nothing_new(
        sqlite_url: str, hubspot: HubSpotAPI) -> None:
    init(sqlite_url)
    env = {"HUBSPOT_TOKEN": HUBSPOT_TOKEN}
    first = invoke(sqlite_url, "sync", "hubspot", "--api-url", hubspot.url, env=env)
    assert (first.exit_code, first.stdout, first.stderr) == (0, (
        "hubspot contacts: fetched 147, stored 409, duplicate 2, rejected 0\n"
        "hubspot companies: fetched 15, stored 30, duplicate 0, rejected 0\n"
        "hubspot deals: fetched 0, stored 0, duplicate 0, rejected 0\n"), "")
    again = invoke(sqlite_url, "sync", "hubspot", "--api-url", hubspot.url, env=env)
    assert (again.exit_code, again.stdout) == (0, (
        "hubspot contacts: fetched 0, stored 0, duplicate 0, rejected 0\n"
        "hubspot companies: fetched 0, stored 0, duplicate 0, rejected 0\n"
        "hubspot deals: fetched 0, stored 0, duplicate 0, rejected 0\n"))
    stages = invoke(sqlite_url, "report", "stages", "--as-of", "2025-01-01", "--format",
                    "json")
    assert json.loads(stages.stdout)["total"] > 100  # the projections were caught up


def test_salesforce_dry_run_then_sync(sqlite_url: str, salesforce: SalesforceAPI) -> None:
    init(sqlite_url)
    args = ("sync", "salesforce", "--api-url", salesforce.url)
    dry = invoke(sqlite_url, *args, "--dry-run", "--object", "LeadHistory", env=SF_ENV)
    assert (dry.exit_code, dry.stdout) == (0, (
        "salesforce LeadHistory: fetched 195, would store 194, duplicate 0, rejected 0, "
        "skipped 1\nDry run: nothing was stored.\n"))
    real = invoke(sqlite_url, *args, env=SF_ENV)
    assert (real.exit_code, real.stdout, real.stderr) == (0, (
        "salesforce LeadHistory: fetched 195, stored 194, duplicate 0, rejected 0, "
        "skipped 1\n"
        "salesforce ContactHistory: fetched 74, stored 74, duplicate 0, rejected 0, "
        "skipped 0\n"
        "salesforce AccountHistory: fetched 30, stored 30, duplicate 0, rejected 0, "
        "skipped 0\n"
        "salesforce Contact: fetched 38, stored 38, duplicate 0, rejected 0, skipped 0\n"
        # converted leads: a merge and an account link each, a role when they made an
        # opportunity
        "salesforce Lead: fetched 14, stored 35, duplicate 0, rejected 0, skipped 0\n"
        # 4 deleted: a deletion fact each, besides their link
        "salesforce Opportunity: fetched 38, stored 42, duplicate 0, rejected 0, skipped 0\n"
        "salesforce OpportunityHistory: fetched 113, stored 101, duplicate 0, rejected 0, "
        "skipped 12\n"
        "salesforce OpportunityFieldHistory: fetched 56, stored 56, duplicate 0, rejected 0, "
        "skipped 0\n"
        # 9 deleted (queryAll): removed as well as added
        "salesforce OpportunityContactRole: fetched 38, stored 47, duplicate 0, rejected 0, "
        "skipped 0\n"),
        "")


def test_rejected_records_exit_3_with_the_rejects_file(
        sqlite_url: str, tmp_path: Path, hubspot: HubSpotAPI, crm: CrmData) -> None:
    init(sqlite_url)
    contact = sorted(crm.contacts)[0]
    crm.contacts[contact]["propertiesWithHistory"]["lifecyclestage"][0]["timestamp"] = \
        "yesterday"
    rejects = tmp_path / "rejects.jsonl"
    result = invoke(sqlite_url, "sync", "hubspot", "--api-url", hubspot.url, "--object",
                    "contacts", "--rejects", str(rejects), env={"HUBSPOT_TOKEN": HUBSPOT_TOKEN})
    assert result.exit_code == 3
    assert result.stdout == ("hubspot contacts: fetched 147, stored 408, duplicate 2, "
                             "rejected 1\n")
    bad = json.loads(rejects.read_text())
    assert (bad["object"], bad["field"]) == (
        "hubspot contacts", "propertiesWithHistory.lifecyclestage[0].timestamp")
    assert result.stderr.startswith(f"  hubspot contacts record {bad['record']}: "
                                    "propertiesWithHistory.lifecyclestage[0].timestamp: ")


def test_an_expired_token_is_an_error_naming_the_object(
        sqlite_url: str, hubspot: HubSpotAPI) -> None:
    init(sqlite_url)
    result = invoke(sqlite_url, "sync", "hubspot", "--api-url", hubspot.url,
                    env={"HUBSPOT_TOKEN": "pat-na1-expired-0000"})
    assert result.exit_code == 1
    assert result.stdout == "hubspot contacts: fetched 0, stored 0, duplicate 0, rejected 0\n"
    assert result.stderr == (
        "Error: hubspot contacts: HubSpot refused the token (401: Authentication credentials "
        "not found. This API supports OAuth 2.0 authentication and you can find more details "
        "at https://developers.hubspot.com/docs/methods/auth/oauth-overview); create a new "
        "private-app access token and set HUBSPOT_TOKEN (see docs/sync.md)\n")


def test_no_token_no_sync(sqlite_url: str, tmp_path: Path) -> None:
    init(sqlite_url)
    result = invoke(sqlite_url, "sync", "hubspot")
    assert (result.exit_code, result.stderr) == (1, (
        "Error: HUBSPOT_TOKEN is not set: create a HubSpot private app with the "
        "crm.objects.contacts.read, crm.objects.companies.read and crm.objects.deals.read "
        "scopes, then export "
        "HUBSPOT_TOKEN or name a file holding it (see docs/sync.md)\n"))
    missing = invoke(sqlite_url, "sync", "salesforce",
                     env={"SALESFORCE_ACCESS_TOKEN": "x"})
    assert missing.exit_code == 1
    assert missing.stderr.startswith("Error: SALESFORCE_INSTANCE_URL is not set")
    assert invoke(sqlite_url, "sync", "hubspot", "--token", "x").exit_code == 2


def test_the_token_never_appears_in_output_logs_or_the_store(
        store_url: str, tmp_path: Path, hubspot: HubSpotAPI, crm: CrmData,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    init(store_url)
    token_file = tmp_path / "token"
    token_file.write_text(HUBSPOT_TOKEN + "\n")
    hubspot.fail("list:contacts", 429, {"message": f"echo {HUBSPOT_TOKEN}"}, after=1,
                 headers={"Retry-After": "0"})
    hubspot.fail("list:companies", 500, {"message": f"Bearer {HUBSPOT_TOKEN}"}, times=9,
                 headers={"Retry-After": "0"})  # (the CLI's backoff is seconds long)
    result = invoke(store_url, "sync", "hubspot", "--api-url", hubspot.url,
                    "--token-file", str(token_file), "--rejects", str(tmp_path / "r.jsonl"))
    assert result.exit_code == 1
    assert "***" in result.stderr
    seen = result.stdout + result.stderr + caplog.text + (tmp_path / "r.jsonl").read_text()
    assert HUBSPOT_TOKEN not in seen
    assert "pat-na1" not in seen
    assert HUBSPOT_TOKEN not in _store_text(store_url, tmp_path)


def _store_text(url: str, tmp_path: Path) -> str:
    """Everything the store holds, as text."""
    if url.startswith("sqlite"):
        folder = Path(url.removeprefix("sqlite:///")).parent
        return "".join(p.read_bytes().decode("latin-1") for p in folder.glob("ledger.db*"))
    with Ledger(url) as ledger, ledger.engine.connect() as conn:
        from sqlalchemy import text

        tables = conn.execute(text("SELECT tablename FROM pg_tables "
                                   "WHERE schemaname = 'public'")).scalars().all()
        assert {"sync_cursors", "fact_index"} <= set(tables)
        return "".join(str(row) for table in tables
                       for row in conn.execute(text(f'SELECT * FROM "{table}"')))


# ---- killed, stopped -------------------------------------------------------------------------

def lifecycle(db: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "cli", "--db", db, *args]


def _events(db_file: Path) -> int:
    try:
        with sqlite3.connect(db_file, timeout=30) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("kill_at", [20, 150, 300])
def test_a_sync_killed_mid_way_and_run_again_stores_every_fact_once(
        tmp_path: Path, definitions_yaml: str, salesforce: SalesforceAPI, crm: CrmData,
        kill_at: int) -> None:
    files = crm.write_exports(tmp_path)
    with new_ledger(f"sqlite:///{tmp_path / 'files.db'}", definitions_yaml) as imported:
        import_exports(imported, files, SF_KEYS)
        expected = facts_by_stream(imported)
    db_file = tmp_path / "synced.db"
    db = f"sqlite:///{db_file}"
    new_ledger(db, definitions_yaml).close()
    salesforce.page_size = 20
    salesforce.slow("query_more", 0.05)
    env = {**os.environ, **SF_ENV}
    args = lifecycle(db, "sync", "salesforce", "--api-url", salesforce.url)
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while _events(db_file) < kill_at and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert _events(db_file) < 1 + sum(map(len, expected.values()))  # killed before the end
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    with Ledger(db) as ledger:
        assert facts_by_stream(ledger) == expected
    verify = subprocess.run(lifecycle(db, "verify"), cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_every_keeps_going_through_errors_and_stops_on_sigterm(
        tmp_path: Path, definitions_yaml: str, hubspot: HubSpotAPI) -> None:
    db = f"sqlite:///{tmp_path / 'every.db'}"
    new_ledger(db, definitions_yaml).close()
    hubspot.fail("list:contacts", 503, {"message": "Service Unavailable"}, times=8,
                 headers={"Retry-After": "0"})
    env = {**os.environ, "HUBSPOT_TOKEN": HUBSPOT_TOKEN}
    process = subprocess.Popen(
        lifecycle(db, "sync", "hubspot", "--api-url", hubspot.url, "--every", "0.02m"),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while hubspot.calls.get("search:companies", 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)  # round 1 failed, round 2 listed, round 3 searched
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    rounds = [line for line in out.splitlines() if line.startswith("Round ")]
    assert len(rounds) >= 3, out + err
    assert "Warning: hubspot contacts: HubSpot kept failing (503: Service Unavailable)" in err
    assert "hubspot contacts: fetched 147, stored 409, duplicate 2, rejected 0" in out


def test_a_sync_on_a_terminal_shows_each_object_then_the_catch_up(
        sqlite_url: str, hubspot: HubSpotAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import re

    from rich.console import Console

    from lifecycle.console import progress, render_sync

    screen = io.StringIO()
    for module in (progress, render_sync):  # render_sync holds its own name for it
        monkeypatch.setattr(module, "terminal_console", lambda: Console(
            file=screen, force_terminal=True, width=200, color_system=None))
    init(sqlite_url)
    result = invoke(sqlite_url, "sync", "hubspot", "--api-url", hubspot.url,
                    env={"HUBSPOT_TOKEN": HUBSPOT_TOKEN})
    assert result.exit_code == 0, result.stderr
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert re.search(r"✓ Syncing hubspot contacts +147 records", drawn), drawn
    assert re.search(r"✓ Syncing hubspot companies +15 records", drawn), drawn
    assert re.search(r"✓ Projecting +439/439 facts", drawn), drawn  # 409 + 30 stored
    assert HUBSPOT_TOKEN not in drawn


def test_a_salesforce_sync_on_a_terminal_shows_every_object_and_its_dry_run(
        sqlite_url: str, salesforce: SalesforceAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 20 for Salesforce: a phase per object with the records it fetched of the total
    the query's first page announced (`totalSize`; the counts of
    `test_salesforce_dry_run_then_sync`), the dry run's too, then the catch-up."""
    import io
    import re

    from rich.console import Console

    from lifecycle.console import progress, render_sync

    screen = io.StringIO()
    for module in (progress, render_sync):
        monkeypatch.setattr(module, "terminal_console", lambda: Console(
            file=screen, force_terminal=True, width=200, color_system=None))
    init(sqlite_url)
    args = ("sync", "salesforce", "--api-url", salesforce.url)
    dry = invoke(sqlite_url, *args, "--dry-run", "--object", "LeadHistory", env=SF_ENV)
    assert dry.stdout == ("salesforce LeadHistory: fetched 195, would store 194, duplicate 0, "
                          "rejected 0, skipped 1\nDry run: nothing was stored.\n")
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert re.search(r"✓ Syncing salesforce LeadHistory +195/195 records", drawn), drawn
    assert "Projecting" not in drawn  # a dry run stores nothing, so nothing to project
    screen.seek(0)
    screen.truncate()
    real = invoke(sqlite_url, *args, env=SF_ENV)
    assert real.exit_code == 0, real.stderr
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    for name, fetched in (("LeadHistory", 195), ("ContactHistory", 74), ("Contact", 38),
                          ("Opportunity", 38), ("OpportunityContactRole", 38)):
        assert re.search(rf"✓ Syncing salesforce {name} +{fetched}/{fetched} records", drawn), \
            drawn
    assert re.search(r"✓ Projecting +(\d+)/\1 facts", drawn), drawn
    assert SALESFORCE_TOKEN not in drawn


def test_every_salesforce_object_can_be_named() -> None:
    """`--object` offers exactly what the connector reads (issue 18)."""
    from lifecycle.connectors.salesforce import OBJECTS
    from lifecycle.console.commands.sync import sync_salesforce

    option = next(p for p in sync_salesforce.params if p.name == "objects")
    assert list(option.type.choices) == list(OBJECTS)  # type: ignore[attr-defined]
