"""The layout rules that import-linter cannot see (docs/architecture.md, "The rules"):
cli.py only wires the console's commands, no module grows past about 400 lines, and the
architecture page lists every module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lifecycle", "projections")
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_cli_py_imports_only_click_and_the_console() -> None:
    tree = ast.parse((ROOT / "cli.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    allowed = {"__future__", "click"}
    assert {m for m in imported
            if m not in allowed and not m.startswith("lifecycle.console")} == set()


def test_no_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in [*_modules(), ROOT / "cli.py"]
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_architecture_page_lists_every_module() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [str(p.relative_to(ROOT)) for p in _modules()
               if p.name != "__init__.py" and f"`{p.relative_to(ROOT)}`" not in page]
    assert missing == []
