"""Every command of docs/tutorial.md runs, in order, in a fresh directory with a fresh
store, and prints what the page says it prints (conventions: tests/docs/docs_console.py)."""

from __future__ import annotations

import difflib
from pathlib import Path

from docs_console import ROOT, Session, fresh_home, mask, matches, parse

PAGE = ROOT / "docs" / "tutorial.md"


def run_page(page: Path, home: Path) -> list[str]:
    """Run every ```console command of `page`; a description of each mismatch."""
    commands = parse(page.read_text("utf-8"))
    assert commands, f"{page.name} has no ```console commands"
    session = Session(fresh_home(home))
    problems = []
    for command in commands:
        status, output = session.run(command.text)
        where = f"{page.relative_to(ROOT)}:{command.line}: $ {command}"
        if status != 0:
            problems.append(f"{where}\nexit status {status}:\n" + "\n".join(output))
        elif not matches(command.expected, output):
            diff = difflib.unified_diff(command.expected, mask(output), "page says",
                                        "it printed", lineterm="")
            problems.append(f"{where}\n" + "\n".join(diff))
    return problems


def test_tutorial_runs_as_written(tmp_path: Path) -> None:
    problems = run_page(PAGE, tmp_path)
    assert not problems, "\n\n".join(problems)


def test_tutorial_starts_from_a_fresh_store() -> None:
    """The first commands name the tutorial's own store and create it."""
    commands = [c.text for c in parse(PAGE.read_text("utf-8"))]
    assert commands[:2] == ["export LIFECYCLE_DB=sqlite:///tutorial.db",
                            "lifecycle init --definitions hubspot-default"]
