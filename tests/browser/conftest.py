"""A real headless Chromium for the HTML report, driven by Playwright.

The browser tests skip only when Chromium is genuinely absent and CI is not set; on CI a
missing Chromium (or Playwright) fails them. Install it with
`apt-get update && apt-get install -y chromium` (Debian), or point LIFECYCLE_CHROMIUM at one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
INSTALL = "apt-get update && apt-get install -y chromium"


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def chromium_path() -> str | None:
    candidates = [os.environ.get("LIFECYCLE_CHROMIUM"), "/usr/bin/chromium",
                  shutil.which("chromium"), shutil.which("chromium-browser")]
    return next((c for c in candidates if c and Path(c).is_file()), None)


def _missing(what: str) -> None:
    if on_ci():
        pytest.fail(f"{what}; CI is set, so the browser tests must run ({INSTALL})",
                    pytrace=False)
    pytest.skip(f"{what} ({INSTALL})")


@pytest.fixture(scope="session")
def browser_context() -> Iterator[Any]:
    """One headless Chromium with a throwaway profile, for the whole session."""
    executable = chromium_path()
    if executable is None:
        _missing("chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    profile = tempfile.mkdtemp(prefix="lifecycle-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=executable, headless=True, args=FLAGS,
                viewport={"width": 1280, "height": 900}, offline=True)
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
