"""The pages render as meant: every fenced block is closed, and every table row has the
cells its header has (the usual ways a Markdown page breaks silently)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_console import ROOT
from test_links import PAGES

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})(.*)$")


def _cells(row: str) -> int:
    """Cells of a table row: `|` outside backticks, not escaped, the outer ones dropped."""
    text = re.sub(r"`[^`]*`", "x", row.strip()).replace("\\|", "x")
    return len(text.strip("|").split("|"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fences_are_closed(page: Path) -> None:
    fence: tuple[str, int] | None = None
    for number, line in enumerate(page.read_text("utf-8").splitlines(), start=1):
        match = FENCE.match(line)
        if not match:
            continue
        if fence is None:
            fence = (match.group(1), number)
        elif match.group(1).startswith(fence[0]) and not match.group(2).strip():
            fence = None
    assert fence is None, f"{page.name}:{fence[1]}: this code block is never closed"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_table_rows_have_the_header_cells(page: Path) -> None:
    lines = page.read_text("utf-8").splitlines()
    in_code = False
    for number, line in enumerate(lines, start=1):
        if FENCE.match(line):
            in_code = not in_code
        if in_code or number >= len(lines):
            continue
        if line.lstrip().startswith("|") and re.fullmatch(r"\s*\|?[\s:|-]+\|?\s*",
                                                          lines[number]):
            width = _cells(line)
            for offset, row in enumerate(lines[number + 1:], start=number + 2):
                if not row.lstrip().startswith("|"):
                    break
                assert _cells(row) == width, (
                    f"{page.name}:{offset}: {_cells(row)} cells, the header has {width}")
