"""The ```console blocks of README.md and of every page in docs/ marked `<!-- runnable -->`
run as written (tests/docs/test_tutorial.py runs the tutorial's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_console import ROOT, parse, runnable
from test_tutorial import PAGE as TUTORIAL
from test_tutorial import run_page

PAGES = [page for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
         if page != TUTORIAL and runnable(page.read_text("utf-8"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_console_blocks_run_as_written(page: Path, tmp_path: Path) -> None:
    problems = run_page(page, tmp_path)
    assert not problems, "\n\n".join(problems)


def test_readme_and_tutorial_are_runnable() -> None:
    """The README's taste of the output is checked like the tutorial."""
    assert ROOT / "README.md" in PAGES
    assert runnable(TUTORIAL.read_text("utf-8"))
    assert parse((ROOT / "README.md").read_text("utf-8"))


def test_parse_reads_commands_outputs_and_continuations() -> None:
    page = "\n".join([
        "```console", "$ echo a \\", "  b", "a b", "$ true", "```",
        "```sh", "$ not run", "```"])
    commands = parse(page)
    assert [(c.text, c.expected) for c in commands] == [
        ("echo a \\\n  b", ["a b"]), ("true", [])]
