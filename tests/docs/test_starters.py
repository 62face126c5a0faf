"""The bundled starter definitions: each validates, is usable by name, and maps what its
CRM's importer records."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from lifecycle.domain.definitions import load_definitions, normalise
from lifecycle.domain.starters import DATA, STARTERS, starter_text

HUBSPOT_STAGES = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
                  "opportunity", "customer", "evangelist", "other"]
SALESFORCE_STATUSES = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                       "Closed - Not Converted"]


@pytest.mark.parametrize("name", sorted(STARTERS))
def test_starter_validates_and_is_named_by_its_version(name: str) -> None:
    text = starter_text(name)
    assert text is not None
    assert load_definitions(text).version == name
    assert (DATA / f"{name}.yaml").exists()


@pytest.mark.parametrize("name", sorted(STARTERS))
def test_cli_validates_and_inits_each_starter(name: str, tmp_path: Path) -> None:
    runner = CliRunner()
    checked = runner.invoke(main, ["definitions", "validate", name])
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith(f"{name}: valid ({name}, ")
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    init = runner.invoke(main, ["--db", url, "init", "--definitions", name])
    assert init.exit_code == 0, init.output
    assert init.output == f"Definitions {name} published in {url}\n"


def test_hubspot_default_maps_every_default_lifecycle_stage() -> None:
    definitions = load_definitions(starter_text("hubspot-default") or "")
    for field in ("lifecyclestage", "lifecycle_stage"):
        lookup = definitions.status_lookup[field]
        assert [lookup[normalise(value)] for value in HUBSPOT_STAGES] == HUBSPOT_STAGES
    path = [s.key for s in definitions.path_stages]
    assert path == HUBSPOT_STAGES[:-1]  # `other` is outside the funnel: an exit
    assert definitions.is_exit("other")
    assert definitions.status_lookup["hs_lead_status"] == {"unqualified": "unqualified"}


def test_salesforce_default_maps_every_default_lead_status() -> None:
    definitions = load_definitions(starter_text("salesforce-default") or "")
    lookup = definitions.status_lookup["Status"]
    stages = [lookup[normalise(value)] for value in SALESFORCE_STATUSES]
    assert stages == ["open", "working", "converted", "not_converted"]
    assert [definitions.rank(s) for s in stages] == [1, 2, 3, None]
    # LeadHistory has no Status row for a new lead's first value: `created` stands for it.
    assert definitions.status_lookup["created"] == {"created": "open"}


def test_a_file_named_like_a_starter_wins(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("hubspot-default").write_text("version: mine\n", "utf-8")
    assert starter_text("hubspot-default") is None
    assert starter_text("no-such-starter") is None
