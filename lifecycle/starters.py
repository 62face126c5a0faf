"""Starter definitions shipped with the package, usable by name: `--definitions b2b-2024`."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"
STARTERS = ("b2b-2024",)


def starter_text(name: str) -> str | None:
    """The YAML of the bundled starter called `name`, or None (a file path, then)."""
    if name not in STARTERS or Path(name).exists():
        return None
    return (DATA / f"{name}.yaml").read_text("utf-8")
