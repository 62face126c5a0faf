"""The lifecycle ledger: an event-sourced ledger of lead and account lifecycle stages.

For notebooks: `lifecycle.open(url)` returns a `Lifecycle` whose methods are the CLI's
reports (see `lifecycle.api`). Loaded on first use, so importing a submodule stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Lifecycle", "Rows", "Step", "open"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from lifecycle import api

        return getattr(api, name)
    raise AttributeError(f"module 'lifecycle' has no attribute {name!r}")
