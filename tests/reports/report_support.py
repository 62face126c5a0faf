"""Helpers for the analytics report tests: invoke the program, check exact JSON, load the
hand-worked ledger of `report_facts`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner, Result
from report_facts import FACTS, RETRACTION, write_jsonl

from cli import main
from lifecycle.domain.timeutil import utc_now

Run = Callable[..., Result]


def invoke(*args: str) -> Result:
    """The program as a user runs it, stdout and stderr apart, exceptions not caught."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def load(url: str, folder: Path) -> datetime:
    """Publish b2b-2024 and import the facts, then the retraction; returns a moment
    between the two imports (known at it, the retraction is not recorded yet)."""
    assert invoke("--db", url, "init", "--definitions", "b2b-2024").exit_code == 0
    result = invoke("--db", url, "import", str(write_jsonl(folder / "facts.jsonl", FACTS)))
    assert result.exit_code == 0, result.output
    between = utc_now()
    result = invoke("--db", url, "import",
                    str(write_jsonl(folder / "retraction.jsonl", [RETRACTION])))
    assert result.exit_code == 0, result.output
    return between


def assert_json(text: str, expected: object) -> None:
    """The exact document, printed the way every JSON report prints (indent 2)."""
    assert json.loads(text) == expected
    assert text == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"


def ok(result: Result) -> str:
    """stdout of a run that succeeded quietly."""
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return result.stdout
