"""Exports in any encoding: `--encoding`, detection when a file is not UTF-8 (never a
half-imported file), UTF-8 with a BOM unchanged, for every format.

The fixtures follow Salesforce's weekly Data Export as an org with Spanish picklist values
writes it (every cell quoted, `IsDeleted` as 0/1, CreatedDate as `2024-01-08T15:02:11.000Z`,
Windows-1252 bytes): OpportunityHistory with the columns of the Salesforce field reference
(developer.salesforce.com, "OpportunityHistory": Id, OpportunityId, CreatedById, CreatedDate,
StageName, Amount, ExpectedRevenue, CloseDate, Probability, ForecastCategory,
SystemModstamp, IsDeleted, PrevAmount, PrevCloseDate) and LeadHistory (Id, IsDeleted,
LeadId, CreatedById, CreatedDate, Field, DataType, OldValue, NewValue).
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.import_support import Run, facts_of

DEFINITIONS = """\
version: "encodings-test"
stages:
  - {key: new,        kind: path, rank: 1}
  - {key: working,    kind: path, rank: 2}
  - {key: sql,        kind: path, rank: 3}
  - {key: late_stage, kind: path, rank: 4}
  - {key: customer,   kind: path, rank: 5}
  - {key: lost,       kind: exit}
map:
  status:
    Status: {"Abierto - No contactado": new, "En negociación": working,
             "Cerrado - Convertido": sql}
    StageName: {"Prospección": sql, "Negociación/Revisión": late_stage,
                "Cerrada ganada": customer, "Cerrada perdida": lost}
"""

OPPORTUNITY_HISTORY = (
    '"Id","OpportunityId","CreatedById","CreatedDate","StageName","Amount","ExpectedRevenue",'
    '"CloseDate","Probability","ForecastCategory","SystemModstamp","IsDeleted","PrevAmount",'
    '"PrevCloseDate"\r\n'
    '"0088c00000AbCd1AAF","0068c00000XyZ01AAB","0058c000009QwErAAK","2024-01-08T15:02:11.000Z",'
    '"Prospección","12000.00","1200.00","2024-03-29","10","Pipeline",'
    '"2024-01-08T15:02:11.000Z","0","",""\r\n'
    '"0088c00000AbCd2AAF","0068c00000XyZ01AAB","0058c000009QwErAAK","2024-02-01T09:30:00.000Z",'
    '"Negociación/Revisión","15000.00","13500.00","2024-03-29","90","Commit",'
    '"2024-02-01T09:30:00.000Z","0","12000.00","2024-03-29"\r\n'
    '"0088c00000AbCd3AAF","0068c00000XyZ02AAB","0058c000009QwErAAK","2024-01-15T11:00:00.000Z",'
    '"Prospección","8000.00","800.00","2024-04-30","10","Pipeline",'
    '"2024-01-15T11:00:00.000Z","1","",""\r\n'
    '"0088c00000AbCd4AAF","0068c00000XyZ01AAB","0058c000009QwErAAK","2024-03-28T17:45:09.000Z",'
    '"Cerrada ganada","15000.00","15000.00","2024-03-28","100","Closed",'
    '"2024-03-28T17:45:09.000Z","0","15000.00","2024-03-29"\r\n')
#: The StageName constant is quoted: the file has a StageName column too.
OPPORTUNITY_COLUMNS = ("opportunity_id=OpportunityId,occurred_at=CreatedDate,value=StageName,"
                       "field='StageName',type=status_changed,source=salesforce,source_id=Id,"
                       "actor=CreatedById,where=IsDeleted!=1")

LEAD_HISTORY = (
    '"Id","IsDeleted","LeadId","CreatedById","CreatedDate","Field","DataType","OldValue",'
    '"NewValue"\r\n'
    '"0178c00001LhA01AAF","0","00Q8c00000LeS01AAF","0058c000009QwErAAK",'
    '"2024-01-08T15:02:11.000Z","Status","Picklist","","Abierto - No contactado"\r\n'
    '"0178c00001LhA02AAF","0","00Q8c00000LeS01AAF","0058c000009QwErAAK",'
    '"2024-01-09T10:00:00.000Z","Status","Picklist","Abierto - No contactado",'
    '"En negociación"\r\n'
    '"0178c00001LhA03AAF","1","00Q8c00000LeS01AAF","0058c000009QwErAAK",'
    '"2024-01-09T10:05:00.000Z","Status","Picklist","En negociación","Cerrado - Convertido"\r\n')


@pytest.fixture
def db(run: Run, store_url: str, tmp_path: Path) -> str:
    (tmp_path / "definitions.yaml").write_text(DEFINITIONS, encoding="utf-8")
    result = run("--db", store_url, "init", "--definitions", tmp_path / "definitions.yaml")
    assert result.exit_code == 0, result.stderr
    return store_url


def opportunity_facts() -> dict[str, list[dict[str, Any]]]:
    def stage(source_id: str, value: str, when: str) -> dict[str, Any]:
        return {"type": "status_changed", "opportunity_id": "0068c00000XyZ01AAB",
                "field": "StageName", "value": value, "occurred_at": when,
                "source": "salesforce", "source_id": source_id,
                "actor": "0058c000009QwErAAK"}
    return {"opportunity:0068c00000XyZ01AAB": [
        stage("0088c00000AbCd1AAF", "Prospección", "2024-01-08T15:02:11Z"),
        stage("0088c00000AbCd2AAF", "Negociación/Revisión", "2024-02-01T09:30:00Z"),
        stage("0088c00000AbCd4AAF", "Cerrada ganada", "2024-03-28T17:45:09Z")]}


def stamps(run: Run, db: str) -> list[tuple[str, str, str]]:
    result = run("--db", db, "report", "stamps", "--level", "opportunity", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return [(s["subject_id"], s["stage"], s["first_reached_at"])
            for s in json.loads(result.stdout) if not s["inferred"]]


MAPPING = "\n".join([
    "Column mapping:",
    "  opportunity_id <- column 'OpportunityId'",
    "  occurred_at    <- column 'CreatedDate'",
    "  value          <- column 'StageName'",
    "  source_id      <- column 'Id'",
    "  actor          <- column 'CreatedById'",
    "  field          =  'StageName' (constant)",
    "  type           =  'status_changed' (constant)",
    "  source         =  'salesforce' (constant)",
    "  only rows where 'IsDeleted' != '1'",
    "  not imported: 'Amount', 'ExpectedRevenue', 'CloseDate', 'Probability', "
    "'ForecastCategory', 'SystemModstamp', 'PrevAmount', 'PrevCloseDate'"])


def test_cp1252_with_encoding_imports_every_row(run: Run, db: str, tmp_path: Path) -> None:
    path = tmp_path / "OpportunityHistory.csv"
    path.write_bytes(OPPORTUNITY_HISTORY.encode("cp1252"))
    result = run("--db", db, "import", path, "--columns", OPPORTUNITY_COLUMNS,
                 "--encoding", "cp1252")
    assert (result.exit_code, result.stdout) == (0, MAPPING + "\nOpportunityHistory.csv: "
                                                 "read 4, stored 3, duplicate 0, rejected 0, "
                                                 "skipped 1\n")
    assert result.stderr == ""
    assert facts_of(db) == opportunity_facts()
    assert stamps(run, db) == [
        ("0068c00000XyZ01AAB", "sql", "2024-01-08T15:02:11Z"),
        ("0068c00000XyZ01AAB", "late_stage", "2024-02-01T09:30:00Z"),
        ("0068c00000XyZ01AAB", "customer", "2024-03-28T17:45:09Z")]
    again = run("--db", db, "import", path, "--columns", OPPORTUNITY_COLUMNS,
                "--encoding", "windows-1252")
    assert again.stdout.endswith("read 4, stored 0, duplicate 3, rejected 0, skipped 1\n")
    assert run("--db", db, "verify").exit_code == 0


def test_cp1252_without_encoding_is_detected_and_says_so(run: Run, db: str,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "OpportunityHistory.csv"
    path.write_bytes(OPPORTUNITY_HISTORY.encode("cp1252"))
    result = run("--db", db, "import", path, "--columns", OPPORTUNITY_COLUMNS)
    assert (result.exit_code, result.stdout) == (0, "\n".join([
        "Encoding: cp1252 (line 2 is not valid UTF-8; pass --encoding NAME to read it "
        "otherwise)", MAPPING,
        "OpportunityHistory.csv: read 4, stored 3, duplicate 0, rejected 0, skipped 1", ""]))
    assert facts_of(db) == opportunity_facts()


def test_salesforce_format_in_cp1252(run: Run, db: str, tmp_path: Path) -> None:
    path = tmp_path / "LeadHistory.csv"
    path.write_bytes(LEAD_HISTORY.encode("cp1252"))
    result = run("--db", db, "import", path, "--format", "salesforce")
    assert (result.exit_code, result.stdout) == (0, "\n".join([
        "Encoding: cp1252 (line 3 is not valid UTF-8; pass --encoding NAME to read it "
        "otherwise)",
        "LeadHistory.csv: read 3, stored 2, duplicate 0, rejected 0, skipped 1", ""]))
    lead = facts_of(db)["person:00Q8c00000LeS01AAF"]
    assert [(f["value"], f.get("previous"), f["occurred_at"]) for f in lead] == [
        ("Abierto - No contactado", None, "2024-01-08T15:02:11Z"),
        ("En negociación", "Abierto - No contactado", "2024-01-09T10:00:00Z")]
    explicit = run("--db", db, "import", path, "--format", "salesforce", "--encoding",
                   "cp1252")
    assert explicit.stdout == ("LeadHistory.csv: read 3, stored 0, duplicate 2, rejected 0, "
                               "skipped 1\n")
    assert run("--db", db, "verify").exit_code == 0


def test_latin1_when_a_byte_is_undefined_in_cp1252(run: Run, db: str, tmp_path: Path) -> None:
    # 0x81 is not a cp1252 character; ISO-8859-1 reads every byte (here as a C1 control).
    path = tmp_path / "LeadHistory.csv"
    path.write_bytes(LEAD_HISTORY.encode("cp1252").replace(b"No contactado",
                                                            b"No contactado\x81"))
    result = run("--db", db, "import", path, "--format", "salesforce")
    assert result.stdout.startswith("Encoding: iso8859-1 (line 2 is not valid UTF-8;")
    assert facts_of(db)["person:00Q8c00000LeS01AAF"][1]["value"] == "En negociación"


def test_utf8_with_bom_imports_unchanged(run: Run, db: str, tmp_path: Path) -> None:
    plain, bom = tmp_path / "plain.csv", tmp_path / "bom.csv"
    plain.write_bytes(OPPORTUNITY_HISTORY.encode("utf-8"))
    bom.write_bytes(codecs.BOM_UTF8 + OPPORTUNITY_HISTORY.encode("utf-8"))
    result = run("--db", db, "import", bom, "--columns", OPPORTUNITY_COLUMNS)
    assert result.stdout == MAPPING + ("\nbom.csv: read 4, stored 3, duplicate 0, rejected 0, "
                                       "skipped 1\n")
    assert facts_of(db) == opportunity_facts()
    same = run("--db", db, "import", plain, "--columns", OPPORTUNITY_COLUMNS)
    assert same.stdout.endswith("plain.csv: read 4, stored 0, duplicate 3, rejected 0, "
                                "skipped 1\n")
    lead = tmp_path / "LeadHistory.csv"
    lead.write_bytes(codecs.BOM_UTF8 + LEAD_HISTORY.encode("utf-8"))
    sf = run("--db", db, "import", lead, "--format", "salesforce")
    assert sf.stdout == "LeadHistory.csv: read 3, stored 2, duplicate 0, rejected 0, skipped 1\n"


def canonical_lines() -> list[dict[str, Any]]:
    return [{"type": "status_changed", "person_id": "p1", "field": "Status",
             "value": "En negociación", "occurred_at": "2024-01-09T10:00:00Z"},
            {"type": "status_changed", "person_id": "p2", "field": "Status",
             "value": "Abierto - No contactado", "occurred_at": "2024-01-08T15:02:11Z"}]


@pytest.mark.parametrize(("encoding", "bom", "given", "notice"), [
    ("cp1252", b"", None, "Encoding: cp1252 (line 1 is not valid UTF-8; pass --encoding "
                          "NAME to read it otherwise)\n"),
    ("cp1252", b"", "cp1252", ""),
    ("utf-16-le", codecs.BOM_UTF16_LE, None, "Encoding: utf-16 (the file starts with its "
                                             "byte order mark; pass --encoding NAME to read "
                                             "it otherwise)\n"),
    ("utf-8", codecs.BOM_UTF8, None, ""),
])
def test_json_lines_in_any_encoding(run: Run, db: str, tmp_path: Path, encoding: str,
                                    bom: bytes, given: str | None, notice: str) -> None:
    text = "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in canonical_lines())
    path = tmp_path / "facts.jsonl"
    path.write_bytes(bom + text.encode(encoding))
    result = run("--db", db, "import", path, *(["--encoding", given] if given else []))
    assert (result.exit_code, result.stdout) == (
        0, notice + "facts.jsonl: read 2, stored 2, duplicate 0, rejected 0\n")
    facts = facts_of(db)
    assert [facts["person:p1"], facts["person:p2"]] == [[f] for f in canonical_lines()]


def test_hubspot_in_cp1252(run: Run, db: str, tmp_path: Path) -> None:
    contact = {"id": "51", "propertiesWithHistory": {"Status": [
        {"value": "En negociación", "timestamp": "2024-01-09T10:00:00Z",
         "sourceType": "CRM_UI"}]}}
    path = tmp_path / "contacts.json"
    path.write_bytes(json.dumps({"results": [contact]}, ensure_ascii=False).encode("cp1252"))
    result = run("--db", db, "import", path, "--format", "hubspot", "--encoding", "cp1252")
    assert result.stdout == "contacts.json: read 1, stored 1, duplicate 0, rejected 0\n"
    assert facts_of(db)["person:51"][0]["value"] == "En negociación"


def test_hubspot_table_in_cp1252_is_still_read_as_a_table(run: Run, db: str,
                                                          tmp_path: Path) -> None:
    """A Fivetran property-history table (its columns as in tests/data/hubspot_tables, which
    follow Fivetran's HubSpot schema) saved in cp1252: detected, transcoded, and still
    recognised as a table by its header (the importer peeks at the transcoded start; a
    stream that cannot seek used to raise AttributeError here)."""
    table = ("contact_id,timestamp,_fivetran_synced,source,name,value,source_id\n"
             "77,2024-01-09 10:00:00.000,2024-01-10 00:00:00.000,CRM_UI,lifecyclestage,lead,"
             "userId:Jos\u00e9\n")
    utf8, cp1252 = tmp_path / "utf8.csv", tmp_path / "cp1252.csv"
    utf8.write_bytes(table.encode("utf-8"))
    cp1252.write_bytes(table.encode("cp1252"))
    first = run("--db", db, "import", utf8, "--format", "hubspot", "--assume-tz", "UTC")
    assert first.stdout == "utf8.csv: read 1, stored 1, duplicate 0, rejected 0\n", first.output
    again = run("--db", db, "import", cp1252, "--format", "hubspot", "--assume-tz", "UTC")
    assert again.stdout == ("Encoding: cp1252 (line 2 is not valid UTF-8; pass --encoding NAME "
                            "to read it otherwise)\n"
                            "cp1252.csv: read 1, stored 0, duplicate 1, rejected 0\n")  # same


def test_a_file_mixing_encodings_is_refused_whole(run: Run, db: str, tmp_path: Path) -> None:
    utf8, cp1252 = canonical_lines()
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(json.dumps(utf8, ensure_ascii=False).encode("utf-8") + b"\n"
                     + json.dumps(cp1252, ensure_ascii=False).encode("utf-8") + b"\n"
                     + json.dumps({**utf8, "person_id": "p3"}, ensure_ascii=False)
                     .encode("cp1252") + b"\n")
    result = run("--db", db, "import", path)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: mixed.jsonl: line 3 is not valid UTF-8 but line 1 is: the file mixes "
        "encodings; pass --encoding (utf-8 rejects the lines that are not UTF-8; cp1252 reads "
        "every line, the UTF-8 ones garbled)\n")
    assert facts_of(db) == {}
    chosen = run("--db", db, "import", path, "--encoding", "utf-8", "--rejects", "r.jsonl")
    assert chosen.exit_code == 3
    assert chosen.stdout == "mixed.jsonl: read 3, stored 2, duplicate 0, rejected 1\n"
    [bad] = [json.loads(line) for line in Path("r.jsonl").read_text("utf-8").splitlines()]
    third = path.read_bytes().splitlines()[2]
    where = third.index("ó".encode("cp1252")) + 1
    assert bad["reason"] == f"not valid UTF-8 (byte {where})"
    # The raw line keeps the byte it could not read, and gives it back exactly.
    assert bad["raw"].encode("utf-8", "surrogateescape") == third


@pytest.mark.parametrize(("args", "message"), [
    (["--encoding", "klingon"], "Invalid value for --encoding: unknown encoding 'klingon' "
                                "(e.g. utf-8, cp1252, iso-8859-1, utf-16)"),
    (["--encoding", "rot13"], "Invalid value for --encoding: 'rot13' is not a text encoding"),
])
def test_unknown_encoding_is_a_usage_error(run: Run, db: str, tmp_path: Path,
                                           args: list[str], message: str) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_text(json.dumps(canonical_lines()[0]) + "\n", encoding="utf-8")
    result = run("--db", db, "import", path, *args)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"Error: {message}"
    assert facts_of(db) == {}
