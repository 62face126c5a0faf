"""Backfills (issue 4): new definitions re-derive the history, dry runs change nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select

from lifecycle.application.backfill import backfill, dry_run
from lifecycle.application.importing import import_rows
from lifecycle.application.ledger import Ledger
from lifecycle.domain.definitions import Definitions, load_definitions
from lifecycle.domain.starters import DATA
from lifecycle.importers.canonical import read_jsonl
from projections import tables

DEMO = DATA / "demo_facts.jsonl"


def _new_definitions(old: str) -> Definitions:
    """A realistic redefinition: SQL is now 'sales accepted', demo requests need high fit,
    and nurture is where cleared leads go."""
    text = (old.replace('version: "b2b-2024"', 'version: "b2b-2025"')
            .replace("salesqualifiedlead: sql", "salesqualifiedlead: sal")
            .replace("min_fit: medium", "min_fit: high"))
    return load_definitions(text)


def _views(ledger: Ledger) -> dict[str, list[tuple]]:
    with ledger.engine.connect() as conn:
        return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=str)
                for t in tables.VIEW_TABLES}


def _import(ledger: Ledger, path: Path) -> None:
    import_rows(ledger, lambda: read_jsonl(path.open("rb")))


def test_backfill_equals_a_fresh_store_under_the_new_definitions(
        store_url: str, tmp_path: Path, definitions_yaml: str) -> None:
    new = _new_definitions(definitions_yaml)
    with Ledger(store_url) as ledger:
        ledger.publish(load_definitions(definitions_yaml))
        _import(ledger, DEMO)
        before = _views(ledger)
        result = backfill(ledger, new)
        assert result["published"] and result["version"] == "b2b-2025"
        after = _views(ledger)
        assert ledger.active_definitions().definitions.version == "b2b-2025"
    assert after != before  # the redefinition moved somebody
    fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with Ledger(fresh_url) as fresh:
        fresh.publish(new)
        _import(fresh, DEMO)
        assert _views(fresh) == after


def test_a_dry_run_changes_nothing_to_the_file(tmp_path: Path, definitions_yaml: str) -> None:
    path = tmp_path / "ledger.db"
    url = f"sqlite:///{path}"
    with Ledger(url) as ledger:
        ledger.publish(load_definitions(definitions_yaml))
        _import(ledger, DEMO)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with Ledger(url) as ledger:
        diff = dry_run(ledger, _new_definitions(definitions_yaml))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    moved = {(c["level"], c["from"], c["to"]): c["count"]
             for c in diff["current_stage_changes"]}
    assert moved, "the redefinition should move some subjects"
    assert diff["from_version"] == "b2b-2024" and diff["to_version"] == "b2b-2025"
    assert any("salesqualifiedlead" in change for change in diff["definition_changes"])


def test_dry_run_predicts_what_the_backfill_does(sqlite_url: str,
                                                 definitions_yaml: str) -> None:
    new = _new_definitions(definitions_yaml)
    with Ledger(sqlite_url) as ledger:
        ledger.publish(load_definitions(definitions_yaml))
        _import(ledger, DEMO)
        predicted = dry_run(ledger, new)
        with ledger.engine.connect() as conn:
            before = dict(((r[0], r[1]), r[2]) for r in conn.execute(
                select(tables.current.c.subject_type, tables.current.c.subject_id,
                       tables.current.c.stage)))
        backfill(ledger, new)
        with ledger.engine.connect() as conn:
            after = dict(((r[0], r[1]), r[2]) for r in conn.execute(
                select(tables.current.c.subject_type, tables.current.c.subject_id,
                       tables.current.c.stage)))
    changed = sum(1 for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert changed == sum(c["count"] for c in predicted["current_stage_changes"])


def test_backfilling_an_old_version_label_again_is_refused(sqlite_url: str,
                                                          definitions_yaml: str) -> None:
    import pytest

    from lifecycle.domain.errors import LedgerError

    with Ledger(sqlite_url) as ledger:
        ledger.publish(load_definitions(definitions_yaml))
        backfill(ledger, _new_definitions(definitions_yaml))
        with pytest.raises(LedgerError, match="published before"):
            backfill(ledger, load_definitions(definitions_yaml))


def test_a_stagename_remapping_rederives_opportunities_accounts_and_people(
        store_url: str, tmp_path: Path, definitions_yaml: str) -> None:
    """Issue 14: Proposal/Price Quote no longer counts as late stage, and a lost deal now
    disqualifies. The backfill equals a fresh store, and the change reaches the
    opportunities, the accounts they roll up into and the people holding roles on them."""
    new = load_definitions(
        definitions_yaml.replace('version: "b2b-2024"', 'version: "b2b-2024-pipeline"')
        .replace('"Proposal/Price Quote": late_stage', '"Proposal/Price Quote": sql')
        .replace('"Closed Lost": nurture', '"Closed Lost": disqualified'))

    def late_and_lost(ledger: Ledger) -> dict[str, tuple[int, int]]:
        found: dict[str, list[int]] = {}
        with ledger.engine.connect() as conn:
            for kind, stage in conn.execute(select(tables.stamps.c.subject_type,
                                                   tables.stamps.c.stage)):
                counts = found.setdefault(kind, [0, 0])
                counts[0] += stage == "late_stage"
                counts[1] += stage == "disqualified"
        return {kind: (late, lost) for kind, (late, lost) in found.items()}

    with Ledger(store_url) as ledger:
        ledger.publish(load_definitions(definitions_yaml))
        _import(ledger, DEMO)
        before = late_and_lost(ledger)
        backfill(ledger, new)
        after_views, after = _views(ledger), late_and_lost(ledger)
    for kind in ("opportunity", "account", "person"):
        assert after[kind] != before[kind], kind
    assert after["opportunity"][1] > before["opportunity"][1] == 0  # lost deals now exit
    fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with Ledger(fresh_url) as fresh:
        fresh.publish(new)
        _import(fresh, DEMO)
        assert _views(fresh) == after_views
