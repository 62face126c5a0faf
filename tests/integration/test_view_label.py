"""Reports say which definitions their numbers reflect (issue 19, point 3).

During a backfill, and after one killed before its swap, the live views still hold the
previous definitions' numbers: reports label them with the previous version (the one
`lc_positions` stores with the views' position), never the new one over old numbers. A
report that a swap overtakes while it reads is read again, never printed as a mix. On
SQLite and PostgreSQL, through the CLI (its fast path for `report stages` and the full
path), read-only or not.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from lifecycle.application.backfill import backfill
from lifecycle.application.importing import import_rows
from lifecycle.application.ledger import Ledger
from lifecycle.application.reporting import run_report
from lifecycle.domain.definitions import Definitions, load_definitions
from lifecycle.domain.starters import DATA
from lifecycle.domain.timeutil import parse_instant
from lifecycle.importers.canonical import read_jsonl
from lifecycle.reports.stages import stages
from projections.view import ViewChanged

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2024-12-31T23:59:59Z"


def _v2(definitions_yaml: str) -> Definitions:
    """New definitions that move many subjects: SQL is now 'sales accepted'."""
    return load_definitions(definitions_yaml.replace('version: "b2b-2024"', 'version: "v2"')
                            .replace("salesqualifiedlead: sql", "salesqualifiedlead: sal"))


@pytest.fixture
def loaded(store_url: str, definitions_yaml: str) -> str:
    with Ledger(store_url) as ledger:
        ledger.publish(load_definitions(definitions_yaml))
        import_rows(ledger, lambda: read_jsonl((DATA / "demo_facts.jsonl").open("rb")))
    return store_url


def _stages(url: str, *args: str) -> dict:
    result = CliRunner().invoke(main, ["--db", url, *args, "report", "stages", "--as-of",
                                       AS_OF, "--format", "json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def _publish_only(url: str, definitions: Definitions) -> None:
    """A backfill killed after it published, before its swap."""
    with Ledger(url) as ledger:
        ledger.catch_up = lambda *args, **kwargs: 0  # type: ignore[method-assign]
        ledger.publish(definitions)


def test_after_a_backfill_killed_before_its_swap_reports_say_the_old_version(
        loaded: str, definitions_yaml: str) -> None:
    before = _stages(loaded)
    assert before["definitions_version"] == "b2b-2024"
    assert before == _stages(loaded, "--read-only")
    v2 = _v2(definitions_yaml)
    _publish_only(loaded, v2)
    # Writable or read-only, fast path or not: the views' own version and numbers.
    assert _stages(loaded) == before
    assert _stages(loaded, "--read-only") == before
    with Ledger(loaded) as ledger:  # the full path, as the Python API takes it
        document = run_report(ledger, "stages", None, None, as_of=parse_instant(AS_OF),
                              level="person")
        assert document["definitions_version"] == "b2b-2024"
        assert document["stages"] == before["stages"]
        assert ledger.active_definitions().definitions.version == "v2"
    # Re-running the backfill finishes it: the new version with its own numbers.
    with Ledger(loaded) as ledger:
        backfill(ledger, v2)
    after = _stages(loaded)
    assert after["definitions_version"] == "v2"
    assert after["stages"] != before["stages"]
    assert after == _stages(loaded, "--read-only")


def test_a_report_overtaken_by_a_swap_is_read_again(loaded: str,
                                                    definitions_yaml: str) -> None:
    with Ledger(loaded) as ledger:
        old_view = ledger.view()
        assert old_view.definitions.version == "b2b-2024"
        backfill(ledger, _v2(definitions_yaml))
        # The old view refuses to read the swapped tables under its old label...
        with pytest.raises(ViewChanged):
            stages(old_view, parse_instant(AS_OF))
        # ...and a report run on the ledger reads again, from the new views.
        document = run_report(ledger, "stages", None, None, as_of=parse_instant(AS_OF),
                              level="person")
        assert document["definitions_version"] == "v2"


def test_views_of_an_earlier_release_are_refused_read_only(loaded: str) -> None:
    from sqlalchemy import update

    from projections import schema, tables

    with Ledger(loaded) as ledger, ledger.engine.begin() as conn:
        conn.execute(update(tables.positions).values(definitions_version=schema.STALE))
    result = CliRunner().invoke(main, ["--db", loaded, "--read-only", "report", "stamps"])
    assert result.exit_code == 1
    assert "must be replayed first: run `lifecycle rebuild`" in result.output
    assert _stages(loaded)["definitions_version"] == "b2b-2024"  # a writer replays them


def test_every_report_reads_the_views_through_the_view() -> None:
    """`View.connect` is what checks the label: no report reads `view.engine` itself."""
    offenders = [f"{path.name}: {line.strip()}"
                 for path in sorted((ROOT / "lifecycle" / "reports").glob("*.py"))
                 for line in path.read_text("utf-8").splitlines()
                 if re.search(r"\bview\.engine\b", line)]
    assert offenders == []
