"""Starter definitions shipped with the package, usable by name: `--definitions b2b-2024`.

A name that is also an existing file's path means the file (`starter_text` returns None).
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parents[1] / "data"
#: name -> what it is for (docs and help list them from here).
STARTERS = {
    "b2b-2024": "the B2B stages most teams start from, with lifecycle_stage values and "
                "Salesforce's lead Status mapped onto them",
    "hubspot-default": "HubSpot's default lifecycle stages, on the property lifecyclestage",
    "salesforce-default": "Salesforce's default lead statuses, on the Lead field Status",
}


def starter_text(name: str) -> str | None:
    """The YAML of the bundled starter called `name`, or None (a file path, then)."""
    if name not in STARTERS or Path(name).exists():
        return None
    return (DATA / f"{name}.yaml").read_text("utf-8")
