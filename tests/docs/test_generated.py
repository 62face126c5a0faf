"""The reference pages are generated from the code (docs/generate.py) and kept in step:
these fail when a checked-in page is stale. Fix: `python docs/generate.py`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from docs_console import ROOT


def _generate_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("docs_generate", module)
    spec.loader.exec_module(module)
    return module


generate = _generate_module()


@pytest.mark.parametrize("page", sorted(generate.PAGES))
def test_checked_in_page_is_current(page: str) -> None:
    path, render = generate.PAGES[page]
    assert path.exists(), f"{path.name} is missing: run `python docs/generate.py {page}`"
    assert path.read_text("utf-8") == render(), (
        f"docs/{path.name} is stale: run `python docs/generate.py {page}` and commit it")


def test_every_definitions_key_is_documented() -> None:
    """A key added to the model without a line in docs/generate.py FIELDS fails here."""
    documented = set(generate.FIELDS)
    for cls, _, _ in generate.SECTIONS:
        for key in cls.model_fields:
            assert f"{cls.__name__}.{key}" in documented, (
                f"{cls.__name__}.{key} has no entry in docs/generate.py FIELDS")


def test_every_model_nested_in_definitions_has_a_section() -> None:
    """A new nested model (a new mapping under `map`, say) needs a section of its own."""
    from pydantic import BaseModel

    covered = {cls for cls, _, _ in generate.SECTIONS}

    def nested(annotation: object) -> set[type]:
        import typing

        found: set[type] = set()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.add(annotation)
            for field in annotation.model_fields.values():
                found |= nested(field.annotation)
        for arg in typing.get_args(annotation):
            found |= nested(arg)
        return found

    from lifecycle.domain.definitions import Definitions

    missing = {cls.__name__ for cls in nested(Definitions)} - {c.__name__ for c in covered}
    assert not missing, f"no section in docs/generate.py SECTIONS for {sorted(missing)}"


def test_every_command_is_in_the_cli_reference() -> None:
    text = (ROOT / "docs" / "cli.md").read_text("utf-8")
    for name, _, _ in generate.commands():
        assert f"\n## {name}\n" in text, f"`{name}` is not in docs/cli.md"


def test_every_command_help_has_an_example() -> None:
    """Every command and group documents itself with an `Example:` block (STYLE.md)."""
    missing = [name for name, command, ctx in generate.commands()
               if "Example:" not in generate.help_text(command, ctx)]
    assert not missing, f"no `Example:` in the --help of: {', '.join(missing)}"


def test_check_mode_reports_a_stale_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    stale = ROOT / "docs" / "definitions.md"
    monkeypatch.setitem(generate.PAGES, "definitions",
                        (tmp_path / "definitions.md", generate.PAGES["definitions"][1]))
    (tmp_path / "definitions.md").write_text("old\n", "utf-8")
    assert generate.main(["--check", "definitions"]) == 1
    assert "stale" in capsys.readouterr().err
    assert stale.exists()
