"""Odd ids (control characters, right-to-left marks, SQL look-alikes, 512 characters) are
stored and printed back verbatim, on SQLite and PostgreSQL: JSON and CSV output give the
exact id, and the audit finds the subject by it. An id with a NUL character, which
PostgreSQL cannot keep in text, is a rejected row on both stores, never a store error.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given

from .conftest import load
from .strategies import fuzz_settings, invoke, odd_ids


@pytest.fixture
def odd_store(store_url: str, tmp_path: Path) -> str:
    return load(store_url, tmp_path, lines=[])


def _csv_ids(text: str, column: str = "subject_id") -> list[str]:
    return [row[column] for row in csv.DictReader(io.StringIO(text, newline=""))]


@fuzz_settings(0.6)
@given(pid=odd_ids(), aid=odd_ids())
def test_odd_ids_round_trip(odd_store: str, pid: str, aid: str) -> None:
    db = ["--db", odd_store]
    for args in (
        ["record", "status_changed", f"--person={pid}", "--value=lead",
         "--at=2024-01-01T00:00:00Z"],
        ["record", "person_linked", f"--person={pid}", f"--account={aid}",
         "--at=2024-01-02T00:00:00Z"],
        ["record", "status_changed", f"--account={aid}", "--value=customer",
         "--at=2024-01-03T00:00:00Z", f"--source={aid}", f"--source-id={pid}"],
    ):
        result = invoke([*db, *args])
        assert result.exit_code == 0, result.output

    stamps = json.loads(invoke([*db, "report", "stamps", "--format", "json"]).stdout)
    assert pid in {r["subject_id"] for r in stamps if r["subject_type"] == "person"}
    assert aid in {r["subject_id"] for r in stamps if r["subject_type"] == "account"}
    for report in (["report", "stamps"], ["report", "moves"]):
        out = invoke([*db, *report, "--format", "csv"]).stdout
        ids = _csv_ids(out)
        assert pid in ids and aid in ids, (pid, aid)

    person = json.loads(invoke([*db, "audit", "--format", "json", "person", "--", pid]).stdout)
    assert person["subject_id"] == pid
    assert person["current_stage"] is not None
    account = json.loads(invoke([*db, "audit", "--format", "json", "account", "--", aid]
                                ).stdout)
    assert account["subject_id"] == aid
    assert any(f["source"] == aid and f["source_id"] == pid for f in account["facts"])


def test_nul_in_an_id_is_a_rejected_row_on_every_store(odd_store: str, tmp_path: Path
                                                       ) -> None:
    facts = [{"type": "status_changed", "person_id": "nul\x00id", "value": "lead",
              "occurred_at": "2024-01-01T00:00:00Z"},
             {"type": "status_changed", "person_id": "fine", "value": "lead",
              "occurred_at": "2024-01-01T00:00:00Z", "actor": "a\x00b"},
             {"type": "status_changed", "person_id": "ok-after-nul", "value": "lead",
              "occurred_at": "2024-01-01T00:00:00Z"}]
    path = tmp_path / "nul.jsonl"
    path.write_text("".join(json.dumps(f) + "\n" for f in facts), "utf-8")
    result = invoke(["--db", odd_store, "import", str(path)])
    assert result.exit_code == 3, result.output
    assert "read 3, stored 1, duplicate 0, rejected 2" in result.output
    assert "NUL" in result.output
