"""Every test a page names as `file.py::test_name` exists: docs/reliability.md says which
test keeps each promise, and a renamed or deleted test must not leave the promise naming
nothing. A bare file name is looked up under tests/reliability/ (the page says so), a
path from the repository's root; `strategies.assert_terminal_safe` names a helper."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_console import ROOT

PAGES = [ROOT / "docs" / "reliability.md", ROOT / "docs" / "scaling.md"]
REFERENCE = re.compile(r"`((?:[\w./]+/)?test_\w+\.py)::(\w+)`")


def _references(page: Path) -> list[tuple[str, str]]:
    return REFERENCE.findall(page.read_text("utf-8"))


def test_the_reliability_page_names_tests() -> None:
    assert len(_references(PAGES[0])) >= 60


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_named_test_exists(page: Path) -> None:
    missing = []
    for file, name in _references(page):
        path = ROOT / file if "/" in file else ROOT / "tests" / "reliability" / file
        if not path.is_file():
            missing.append(f"{file} (no such file)")
        elif not re.search(rf"^def {name}\(", path.read_text("utf-8"), re.MULTILINE):
            missing.append(f"{file}::{name}")
    assert missing == [], f"{page.name} names tests that do not exist: {missing}"
