"""The tutorial's example exports are what docs/examples/make_examples.py writes, and the
definitions shipped for the tutorial validate."""

from __future__ import annotations

import importlib.util

import pytest
from docs_console import ROOT

from lifecycle.domain.definitions import load_definitions

EXAMPLES = ROOT / "docs" / "examples"


def _make_examples():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(_make_examples().outputs()))
def test_example_export_is_current(name: str) -> None:
    expected = _make_examples().outputs()[name]
    assert (EXAMPLES / name).read_text("utf-8") == expected, (
        f"docs/examples/{name} is stale: run `python docs/examples/make_examples.py`")


def test_samples_are_kept_verbatim_in_the_exports() -> None:
    """The real-shaped samples are part of the exports unchanged."""
    lead_rows = (EXAMPLES / "samples" / "sf_leadhistory.csv").read_text("utf-8")
    assert (EXAMPLES / "sf_leadhistory.csv").read_text("utf-8").startswith(lead_rows)
    import json

    contact = json.loads((EXAMPLES / "samples" /
                          "hubspot_contact_lifecycle_history.json").read_text("utf-8"))
    first = json.loads((EXAMPLES / "hubspot_contacts.json").read_text("utf-8"))["results"][0]
    assert {k: v for k, v in first.items() if k != "associations"} == contact


def test_tutorial_definitions_validate() -> None:
    loaded = load_definitions((EXAMPLES / "acme-2025.yaml").read_text("utf-8"))
    assert loaded.version == "acme-2025"
