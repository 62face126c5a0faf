"""A rejects file's `raw` is the rejected row exactly as in the file (CSV quoting, line
breaks inside quotes, bytes in the file's encoding), so that fixing the rejected rows and
importing them again, alone or in the fixed file, stores exactly the facts that were missing.

The export is a Salesforce Contact report as Data Export writes it (every cell quoted, CRLF
line ends, Windows-1252), its MailingAddress cells holding commas and line breaks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.import_support import Run, facts_of

DEFINITIONS = Path(__file__).parent.parent / "data" / "importers_definitions.yaml"

HEADER = '"Id","LastModifiedDate","Lifecycle_Stage__c","MailingAddress"'
ROWS = [
    '"0038c00002AbC01AAF","2024-01-08T15:02:11.000Z","MQL","Austin, TX 78767 USA"',
    # no offset: rejected unless --assume-tz
    '"0038c00002AbC02AAF","2024-01-09 6:30:00","SQL","Calle de Alcalá 1,\r\nMadrid"',
    '"0038c00002AbC03AAF","2024-01-10T09:00:00.000Z","Customer","Zürich, ""Bahnhofstr."""',
    # no id: rejected
    '"","2024-01-11T09:00:00.000Z","Lead","São Paulo, SP"',
    '"0038c00002AbC05AAF","2024-01-12T09:00:00.000Z","Lead",""',
]
COLUMNS = ("person_id=Id,occurred_at=LastModifiedDate,value=Lifecycle_Stage__c,"
           "field='Lifecycle_Stage__c',type=status_changed,attributes.address=MailingAddress")
FIXES = {3: ("2024-01-09 6:30:00", "2024-01-09T06:30:00Z"), 6: ('""', '"0038c00002AbC04AAF"')}


@pytest.fixture
def db(run: Run, store_url: str) -> str:
    assert run("--db", store_url, "init", "--definitions", DEFINITIONS).exit_code == 0
    return store_url


def export(rows: list[str]) -> bytes:
    return "".join(line + "\r\n" for line in [HEADER, *rows]).encode("cp1252")


def read_rejects(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.mark.parametrize("again", ["the rejected rows", "the fixed file"])
def test_fixed_rejects_store_exactly_the_missing_facts(run: Run, db: str, tmp_path: Path,
                                                       again: str) -> None:
    original = tmp_path / "Contact.csv"
    original.write_bytes(export(ROWS))
    first = run("--db", db, "import", original, "--columns", COLUMNS, "--encoding", "cp1252",
                "--rejects", "rejects.jsonl")
    assert first.exit_code == 3
    assert first.stdout.endswith("Contact.csv: read 5, stored 3, duplicate 0, rejected 2\n")
    bad = read_rejects(tmp_path / "rejects.jsonl")
    assert [(r["line"], r["field"]) for r in bad] == [(3, "LastModifiedDate"), (6, "Id")]
    # Byte for byte: quoting, the line break inside quotes and the cp1252 bytes are kept.
    assert [r["raw"] for r in bad] == [ROWS[1], ROWS[3]]
    assert [r["raw"].encode("cp1252") for r in bad] == [
        ROWS[1].encode("cp1252"), ROWS[3].encode("cp1252")]
    assert bad[0]["raw"].encode("cp1252") in original.read_bytes()

    fixed = {r["line"]: r["raw"].replace(*FIXES[r["line"]]) for r in bad}
    if again == "the rejected rows":
        retry = tmp_path / "retry.csv"
        retry.write_bytes(export(list(fixed.values())))
        expected = "retry.csv: read 2, stored 2, duplicate 0, rejected 0\n"
    else:
        retry = tmp_path / "Contact-fixed.csv"
        retry.write_bytes(export([fixed.get(line, row) for line, row in zip(
            [2, 3, 4, 6, 7], ROWS, strict=True)]))
        expected = "Contact-fixed.csv: read 5, stored 2, duplicate 3, rejected 0\n"
    second = run("--db", db, "import", retry, "--columns", COLUMNS, "--encoding", "cp1252")
    assert (second.exit_code, second.stdout.splitlines()[-1] + "\n") == (0, expected)

    facts = facts_of(db)
    assert facts["person:0038c00002AbC02AAF"] == [{
        "type": "status_changed", "person_id": "0038c00002AbC02AAF",
        "field": "Lifecycle_Stage__c", "value": "SQL", "occurred_at": "2024-01-09T06:30:00Z",
        "attributes": {"address": "Calle de Alcalá 1,\r\nMadrid"}}]
    assert facts["person:0038c00002AbC04AAF"] == [{
        "type": "status_changed", "person_id": "0038c00002AbC04AAF",
        "field": "Lifecycle_Stage__c", "value": "Lead", "occurred_at": "2024-01-11T09:00:00Z",
        "attributes": {"address": "São Paulo, SP"}}]
    assert facts["person:0038c00002AbC03AAF"][0]["attributes"] == {
        "address": 'Zürich, "Bahnhofstr."'}
    assert sum(len(f) for f in facts.values()) == 5
    assert run("--db", db, "verify").exit_code == 0


def test_json_lines_rejects_keep_the_line(run: Run, db: str, tmp_path: Path) -> None:
    good = {"type": "status_changed", "person_id": "p1", "value": "lead",
            "occurred_at": "2024-01-01T00:00:00Z"}
    broken = '  {"type": "status_changed", "person_id": "p2", "value": "lead",  '
    path = tmp_path / "facts.jsonl"
    path.write_bytes(json.dumps(good).encode() + b"\r\n" + broken.encode() + b"\r\n")
    result = run("--db", db, "import", path, "--rejects", "r.jsonl")
    assert result.exit_code == 3
    [bad] = read_rejects(tmp_path / "r.jsonl")
    assert (bad["line"], bad["raw"]) == (2, broken)
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text(bad["raw"].rstrip().rstrip(",") + ', "occurred_at": '
                     '"2024-01-02T00:00:00Z"}\n', encoding="utf-8")
    again = run("--db", db, "import", fixed)
    assert again.stdout == "fixed.jsonl: read 1, stored 1, duplicate 0, rejected 0\n"
    assert facts_of(db)["person:p2"][0]["occurred_at"] == "2024-01-02T00:00:00Z"
