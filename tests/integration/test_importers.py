"""CRM importers end to end: HubSpot, Salesforce and mapped CSV exports through
`lifecycle import` into a real store, asserted fact by fact, and the same journeys in three
renderings deriving the same stamps and moves (tests/data/make_exports.py writes them).
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle.importers.canonical import FileFormatError, read_csv, read_jsonl
from lifecycle.importers.hubspot import read_hubspot
from lifecycle.importers.mapped import ColumnMap, read_mapped
from lifecycle.importers.records import MAX_LINE
from lifecycle.importers.salesforce import read_salesforce
from tests.integration.import_support import Run, facts_of

SAMPLES = Path(__file__).parent.parent / "data" / "samples"  # ../shared/samples, verbatim
DATA = Path(__file__).parent.parent / "data"
DEFINITIONS = DATA / "importers_definitions.yaml"


@pytest.fixture
def db(run: Run, sqlite_url: str) -> str:
    result = run("--db", sqlite_url, "init", "--definitions", DEFINITIONS)
    assert result.exit_code == 0, result.stderr
    return sqlite_url


def count_facts(url: str) -> int:
    return sum(len(facts) for facts in facts_of(url).values())


def rejects(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def entry(value: str, ts: str, **extra: Any) -> dict[str, Any]:
    return {"value": value, "timestamp": ts, "sourceType": "CRM_UI", **extra}


def contact(cid: str, *entries: dict[str, Any], prop: str = "lifecyclestage",
            **extra: Any) -> dict[str, Any]:
    return {"id": cid, "propertiesWithHistory": {prop: list(entries)},
            "createdAt": "2024-01-01T00:00:00.000Z", **extra}


# ---- the shared samples, fact by fact ------------------------------------------------------

HUBSPOT_51 = [  # oldest first, as stored: (timestamp, value, actor, sourceType, sourceId)
    ("2024-01-08T15:02:11.412000Z", "lead", "form:3f1c2a7e", "FORM", "form:3f1c2a7e"),
    ("2024-01-22T08:00:03.650000Z", "marketingqualifiedlead", "1234567",
     "AUTOMATION_PLATFORM", "1234567"),
    ("2024-02-02T13:31:09.122000Z", "salesqualifiedlead", "31877001", "CRM_UI",
     "userId:31877001"),
    ("2024-02-19T10:05:44.870000Z", "opportunity", "sales-sync-job", "API", "sales-sync-job"),
    ("2024-03-28T17:40:02.001000Z", "customer", "1508169", "INTEGRATION", "1508169"),
    ("2024-06-03T09:14:21.503000Z", "", "28604240", "CRM_UI", "userId:28604240"),
    ("2024-06-03T09:14:39.990000Z", "lead", "28604240", "CRM_UI", "userId:28604240"),
]


def test_hubspot_sample_imports_every_history_entry(run: Run, db: str) -> None:
    sample = SAMPLES / "hubspot_contact_lifecycle_history.json"
    result = run("--db", db, "import", sample, "--format", "hubspot")
    assert (result.exit_code, result.stdout) == (0, f"{sample.name}: read 7, stored 7, "
                                                    "duplicate 0, rejected 0\n")
    facts = facts_of(db)
    assert list(facts) == ["person:51"]
    assert len(facts["person:51"]) == len(HUBSPOT_51)
    for fact, (ts, value, actor, source_type, source_id) in zip(
            facts["person:51"], HUBSPOT_51, strict=True):
        source_key = fact.pop("source_id")
        assert fact == {"type": "status_changed", "person_id": "51",
                        "field": "lifecyclestage", "value": value, "occurred_at": ts,
                        "source": "hubspot", "actor": actor,
                        "attributes": {"sourceType": source_type, "sourceId": source_id}}
        prefix = f"contact:51:lifecyclestage:{ts}:"
        assert source_key.startswith(prefix) and len(source_key) == len(prefix) + 12
    again = run("--db", db, "import", sample, "--format", "hubspot")
    assert again.stdout.endswith("read 7, stored 0, duplicate 7, rejected 0\n")


def test_salesforce_lead_history_sample(run: Run, db: str) -> None:
    sample = SAMPLES / "sf_leadhistory.csv"
    result = run("--db", db, "import", sample, "--format", "salesforce")
    assert (result.exit_code, result.stdout) == (
        0, "sf_leadhistory.csv: read 5, stored 5, duplicate 0, rejected 0, skipped 0\n")
    lead = "00Q8c00001XyZ9aEAF"

    def fact(sid: str, by: str, at: str, field: str, value: str, previous: str | None
             ) -> dict[str, Any]:
        data = {"type": "status_changed", "person_id": lead, "field": field, "value": value,
                "occurred_at": at, "source": "salesforce", "source_id": sid, "actor": by,
                "attributes": {"object": "Lead"}}
        if previous is not None:
            data["previous"] = previous
            data["attributes"]["DataType"] = "Picklist"
        return data

    qwe, abc = "0058c000009QwErAAK", "0058c00000AbCdEAAV"
    assert facts_of(db) == {f"person:{lead}": [
        fact("0178c00001AbC1aAAF", qwe, "2024-01-08T15:02:11Z", "created", "created", None),
        fact("0178c00001AbC2bAAF", qwe, "2024-01-22T08:00:03Z", "Status",
             "Working - Contacted", "Open - Not Contacted"),
        fact("0178c00001AbC3cAAF", abc, "2024-01-29T11:45:27Z", "Status",
             "Open - Not Contacted", "Working - Contacted"),
        fact("0178c00001AbC4dAAF", abc, "2024-02-02T13:31:09Z", "Status",
             "Closed - Converted", "Open - Not Contacted"),
        fact("0178c00001AbC5eAAF", abc, "2024-02-02T13:31:09Z", "leadConverted",
             "leadConverted", None),
    ]}
    again = run("--db", db, "import", sample, "--format", "salesforce")
    assert again.stdout.endswith("read 5, stored 0, duplicate 5, rejected 0, skipped 0\n")


# ---- three renderings of the same journeys ---------------------------------------------------

RENDERINGS: dict[str, list[list[str]]] = {
    "canonical": [["journeys.jsonl"]],
    "hubspot": [["journeys_hubspot_contacts.json", "--format", "hubspot"],
                ["journeys_hubspot_companies.jsonl", "--format", "hubspot",
                 "--object", "companies"]],
    "salesforce": [[f"journeys_sf_{name}.csv", "--format", "salesforce"]
                   for name in ("contacts", "leadhistory", "contacthistory",
                                "accounthistory")],
}


def _import_rendering(run: Run, url: str, name: str) -> list[str]:
    result = run("--db", url, "init", "--definitions", DEFINITIONS)
    assert result.exit_code == 0, result.stderr
    lines = []
    for file, *options in RENDERINGS[name]:
        result = run("--db", url, "import", DATA / file, *options)
        assert (result.exit_code, result.stderr) == (0, ""), result.stdout
        lines.append(result.stdout)
    return lines


def _projections(run: Run, url: str) -> tuple[str, str]:
    stamps = run("--db", url, "report", "stamps", "--format", "csv")
    moves = run("--db", url, "report", "moves", "--format", "csv")
    assert stamps.exit_code == moves.exit_code == 0
    # event ids differ between renderings (they are other facts): compare the moves only
    return stamps.stdout, "\n".join(line.rsplit(",", 1)[0] for line in
                                    moves.stdout.splitlines())


@pytest.mark.parametrize("rendering", ["hubspot", "salesforce"])
def test_renderings_derive_the_canonical_stamps_and_moves(
        run: Run, tmp_path: Path, store_url: str, rendering: str) -> None:
    canonical = f"sqlite:///{tmp_path / 'canonical.db'}"
    _import_rendering(run, canonical, "canonical")
    _import_rendering(run, store_url, rendering)
    stamps, moves = _projections(run, canonical)
    assert stamps.count("\n") == 43 and moves.count("\n") == 28  # the journeys are all there
    assert _projections(run, store_url) == (stamps, moves)
    assert run("--db", store_url, "verify").exit_code == 0


def test_salesforce_rendering_counts(run: Run, sqlite_url: str) -> None:
    assert _import_rendering(run, sqlite_url, "salesforce") == [
        "journeys_sf_contacts.csv: read 4, stored 3, duplicate 0, rejected 0, skipped 1\n",
        "journeys_sf_leadhistory.csv: read 10, stored 10, duplicate 0, rejected 0, skipped 0\n",
        "journeys_sf_contacthistory.csv: read 24, stored 20, duplicate 0, rejected 0, "
        "skipped 4\n",
        "journeys_sf_accounthistory.csv: read 6, stored 6, duplicate 0, rejected 0, "
        "skipped 0\n"]


def _all_files() -> Iterator[tuple[str, list[str]]]:
    for files in RENDERINGS.values():
        for file, *options in files:
            yield str(DATA / file), options
    yield str(SAMPLES / "hubspot_contact_lifecycle_history.json"), ["--format", "hubspot"]
    yield str(SAMPLES / "sf_leadhistory.csv"), ["--format", "salesforce"]


@pytest.mark.parametrize(("file", "options"), list(_all_files()),
                         ids=lambda v: Path(v).name if isinstance(v, str) else "")
def test_reimporting_stores_nothing(run: Run, db: str, file: str, options: list[str]) -> None:
    first = run("--db", db, "import", file, *options)
    assert first.exit_code == 0
    before = count_facts(db)
    again = run("--db", db, "import", file, *options)
    assert again.exit_code == 0
    assert ", stored 0, " in again.stdout and ", rejected 0" in again.stdout
    assert count_facts(db) == before


# ---- HubSpot -------------------------------------------------------------------------------

def _shapes() -> dict[str, bytes]:
    batch = json.loads((DATA / "journeys_hubspot_contacts.json").read_text("utf-8"))
    objects = batch["results"]
    return {
        "batch.json": json.dumps(batch, indent=2).encode(),
        "batch-one-line.json": json.dumps(batch).encode(),
        "list.json": json.dumps(objects, indent=1).encode(),
        "objects.jsonl": "".join(json.dumps(o) + "\n" for o in objects).encode(),
        "batches.jsonl": "".join(json.dumps({"results": objects[i:i + 2]}) + "\n"
                                 for i in range(0, len(objects), 2)).encode(),
    }


@pytest.mark.parametrize("shape", list(_shapes()))
def test_hubspot_export_shapes_give_the_same_facts(run: Run, db: str, tmp_path: Path,
                                                   shape: str) -> None:
    path = write(tmp_path / shape, _shapes()[shape])
    result = run("--db", db, "import", path, "--format", "hubspot")
    assert result.stdout == f"{shape}: read 26, stored 26, duplicate 0, rejected 0\n"
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    run("--db", reference, "init", "--definitions", DEFINITIONS)
    run("--db", reference, "import", DATA / "journeys_hubspot_contacts.json",
        "--format", "hubspot")
    assert facts_of(db) == facts_of(reference)


def test_hubspot_single_object_and_equal_timestamps(run: Run, db: str, tmp_path: Path) -> None:
    """Newest first; of two entries with the same timestamp the one listed later happened
    first, so it is recorded first (and ties are broken by recording order)."""
    obj = contact("7", entry("customer", "2024-03-01T00:00:00Z"),
                  entry("salesqualifiedlead", "2024-03-01T00:00:00Z"),
                  entry("marketingqualifiedlead", "2024-02-01T00:00:00.5Z"),
                  entry("lead", "2024-02-01T00:00:00.5Z"))
    path = write(tmp_path / "seven.json", json.dumps(obj, indent=2))
    assert run("--db", db, "import", path, "--format", "hubspot").exit_code == 0
    values = [f["value"] for f in facts_of(db)["person:7"]]
    assert values == ["lead", "marketingqualifiedlead", "salesqualifiedlead", "customer"]
    moves = run("--db", db, "report", "moves", "--format", "csv").stdout.splitlines()[1:]
    assert [m.split(",")[3:6] for m in moves] == [
        ["", "verified", "entry"], ["verified", "mql", "forward"], ["mql", "sql", "forward"],
        ["sql", "customer", "forward"]]


def test_hubspot_every_property_and_actor(run: Run, db: str, tmp_path: Path) -> None:
    obj = {"id": 8, "propertiesWithHistory": {
        "lifecyclestage": [entry("lead", "2024-01-02T00:00:00Z", sourceId="userId:5",
                                 updatedByUserId=5)],
        "hs_lead_status": [entry("OPEN", "2024-01-03T00:00:00Z", sourceType="IMPORT"),
                           entry("NEW", "2024-01-01T00:00:00Z")]}}
    path = write(tmp_path / "eight.jsonl", json.dumps(obj) + "\n")
    assert run("--db", db, "import", path, "--format", "hubspot").exit_code == 0
    facts = facts_of(db)["person:8"]
    assert [(f["field"], f["value"], f.get("actor"), f["attributes"]) for f in facts] == [
        ("hs_lead_status", "NEW", None, {"sourceType": "CRM_UI"}),
        ("lifecyclestage", "lead", "5", {"sourceType": "CRM_UI", "sourceId": "userId:5"}),
        ("hs_lead_status", "OPEN", None, {"sourceType": "IMPORT"})]


def test_hubspot_companies_are_accounts(run: Run, db: str, tmp_path: Path) -> None:
    obj = contact("900", entry("customer", "2024-05-01T00:00:00Z"),
                  associations={"contacts": {"results": [{"id": "1"}]}})
    path = write(tmp_path / "companies.json", json.dumps({"results": [obj]}))
    result = run("--db", db, "import", path, "--format", "hubspot", "--object", "companies")
    assert result.exit_code == 0
    assert facts_of(db) == {"account:900": [{
        "type": "status_changed", "account_id": "900", "field": "lifecyclestage",
        "value": "customer", "occurred_at": "2024-05-01T00:00:00Z", "source": "hubspot",
        "source_id": facts_of(db)["account:900"][0]["source_id"],
        "attributes": {"sourceType": "CRM_UI"}}]}
    assert facts_of(db)["account:900"][0]["source_id"].startswith(
        "company:900:lifecyclestage:2024-05-01T00:00:00Z:")


def test_hubspot_company_associations_link_from_creation(run: Run, db: str,
                                                         tmp_path: Path) -> None:
    linked = contact("1", entry("lead", "2024-01-05T00:00:00Z"),
                     associations={"companies": {"results": [
                         {"id": "77", "type": "contact_to_company"},
                         {"id": "88", "type": "contact_to_company_unlabeled"},
                         {"id": "77", "type": "contact_to_company_unlabeled"}]}})
    undated = {"id": "2", "propertiesWithHistory": {},
               "associations": {"companies": {"results": [{"id": "77"}]}}}
    dated_by_property = {"id": "3", "properties": {"createdate": "2024-01-09T00:00:00Z"},
                         "propertiesWithHistory": {},
                         "associations": {"companies": {"results": [{"id": 99}]}}}
    path = write(tmp_path / "linked.json", json.dumps([linked, undated, dated_by_property]))
    result = run("--db", db, "import", path, "--format", "hubspot", "--rejects", "bad.jsonl")
    assert result.exit_code == 3
    assert result.stdout == "linked.json: read 5, stored 4, duplicate 0, rejected 1\n"

    def link(pid: str, aid: str, at: str) -> dict[str, Any]:
        return {"type": "person_linked", "person_id": pid, "account_id": aid,
                "occurred_at": at, "source": "hubspot",
                "source_id": f"contact:{pid}:company:{aid}"}

    facts = facts_of(db)
    # the primary company last: it is the one the contact belongs to from its creation
    assert facts["person:1"][:2] == [link("1", "88", "2024-01-01T00:00:00Z"),
                                     link("1", "77", "2024-01-01T00:00:00Z")]
    assert facts["person:3"] == [link("3", "99", "2024-01-09T00:00:00Z")]
    [bad] = rejects(Path("bad.jsonl"))
    assert (bad["line"], bad["field"]) == (2, "createdAt")
    assert bad["reason"].startswith("record 2: ")
    assert "createdAt dates its company associations" in bad["reason"]


def test_hubspot_full_history_warns_that_older_history_may_be_lost(
        run: Run, db: str, tmp_path: Path) -> None:
    def history(n: int) -> list[dict[str, Any]]:
        return [entry(f"v{i}", f"2024-01-01T00:00:{i:02d}Z") for i in reversed(range(n))]

    objects = [{"id": "full", "propertiesWithHistory": {"lifecyclestage": history(45),
                                                        "hs_lead_status": history(3)}},
               {"id": "short", "propertiesWithHistory": {"lifecyclestage": history(44)}}]
    path = write(tmp_path / "contacts.json", json.dumps({"results": objects}))
    result = run("--db", db, "import", path, "--format", "hubspot")
    assert (result.exit_code, result.stdout) == (
        0, "contacts.json: read 92, stored 92, duplicate 0, rejected 0\n")
    # (the values v0, v1... map to no stage: the next line warns of that)
    assert result.stderr.splitlines()[0] == (
        "Warning: HubSpot keeps at most 45 revisions of a contact property: older history "
        "may be lost (1): contact full (lifecyclestage)")
    companies = [{"id": f"c{n}", "propertiesWithHistory": {"lifecyclestage": history(20)}}
                 for n in range(3)]
    path = write(tmp_path / "companies.jsonl", "".join(json.dumps(c) + "\n" for c in companies))
    result = run("--db", db, "import", path, "--format", "hubspot", "--object", "companies")
    assert result.stderr.splitlines()[0] == (
        "Warning: HubSpot keeps at most 20 revisions of a company property: older history "
        "may be lost (3): company c0 (lifecyclestage), company c1 (lifecyclestage), company "
        "c2 (lifecyclestage)")


def test_hubspot_later_export_adds_only_new_history(run: Run, db: str, tmp_path: Path) -> None:
    early = contact("5", entry("lead", "2024-01-02T00:00:00Z"),
                    entry("subscriber", "2024-01-01T00:00:00Z"))
    later = contact("5", entry("customer", "2024-02-02T00:00:00Z", updatedByUserId=9),
                    entry("", "2024-02-01T00:00:00Z"), *early["propertiesWithHistory"][
                        "lifecyclestage"])
    run("--db", db, "import", write(tmp_path / "a.json", json.dumps(early)), "--format",
        "hubspot")
    result = run("--db", db, "import", write(tmp_path / "b.json", json.dumps(later)),
                 "--format", "hubspot")
    assert result.stdout == "b.json: read 4, stored 2, duplicate 2, rejected 0\n"
    assert [f["value"] for f in facts_of(db)["person:5"]] == ["subscriber", "lead", "",
                                                             "customer"]


def test_hubspot_bad_entries_are_rejected_and_the_rest_stored(
        run: Run, db: str, tmp_path: Path) -> None:
    objects = [
        contact("1", entry("lead", "2024-01-01T00:00:00Z"), {"value": "x"}),   # no timestamp
        contact("2", entry("lead", "2024-01-01 10:00:00")),                   # naive
        {"propertiesWithHistory": {}},                                        # no id
        {"id": "4", "properties": {"lifecyclestage": "lead"}},                # no history
        contact("5", entry({"a": 1}, "2024-01-01T00:00:00Z"), "nonsense"),    # bad value
        "not an object",
        contact("7", entry("lead", "yesterday")),
        {"id": "8", "propertiesWithHistory": {"lifecyclestage": "lead"}},
    ]
    path = write(tmp_path / "bad.json", json.dumps(objects, indent=2))
    result = run("--db", db, "import", path, "--format", "hubspot", "--rejects", "r.jsonl")
    assert result.exit_code == 3
    assert result.stdout == "bad.json: read 10, stored 1, duplicate 0, rejected 9\n"
    assert [(r["line"], r["field"], r["reason"]) for r in rejects(Path("r.jsonl"))] == [
        (1, "propertiesWithHistory.lifecyclestage[1].timestamp",
         "record 1: required field is missing"),
        (2, "propertiesWithHistory.lifecyclestage[0].timestamp",
         "record 2: timestamp 2024-01-01T10:00:00 has no offset (add Z or +HH:MM, or pass "
         "--assume-tz)"),
        (3, "id", "record 3: a HubSpot contact needs an id"),
        (4, "propertiesWithHistory", "record 4: no propertiesWithHistory: read the objects "
         "with propertiesWithHistory=lifecyclestage,... (see docs/importing.md)"),
        (5, "propertiesWithHistory.lifecyclestage[1]",
         "record 5: expected a history entry object, found a string"),
        (5, "propertiesWithHistory.lifecyclestage[0].value", "record 5: expected a string"),
        (6, None, "record 6: expected a HubSpot object (with id and propertiesWithHistory), "
         "found a string"),
        (7, "propertiesWithHistory.lifecyclestage[0].timestamp",
         "record 7: not an ISO 8601 timestamp: 'yesterday'"),
        (8, "propertiesWithHistory.lifecyclestage",
         "record 8: expected a list of history entries, found a string"),
    ]
    assert list(facts_of(db)) == ["person:1"]
    with_tz = run("--db", db, "import", path, "--format", "hubspot", "--assume-tz",
                  "Europe/Berlin")
    assert with_tz.stdout == "bad.json: read 10, stored 1, duplicate 1, rejected 8\n"
    assert facts_of(db)["person:2"][0]["occurred_at"] == "2024-01-01T09:00:00Z"


def test_hubspot_strict_stores_nothing(run: Run, db: str, tmp_path: Path) -> None:
    objects = [contact("1", entry("lead", "2024-01-01T00:00:00Z")),
               contact("2", entry("lead", "2024-01-01T00:00:00"))]
    path = write(tmp_path / "strict.jsonl", "".join(json.dumps(o) + "\n" for o in objects))
    result = run("--db", db, "import", path, "--format", "hubspot", "--strict")
    assert result.exit_code == 1
    assert result.stderr.endswith("Error: " + str(path) + ": 1 bad row(s); nothing was stored "
                                  "(--strict)\n")
    assert count_facts(db) == 0


def test_hubspot_broken_json(run: Run, db: str, tmp_path: Path) -> None:
    good = [contact(str(n), entry("lead", "2024-01-01T00:00:00Z")) for n in range(3)]
    text = json.dumps({"results": good}, indent=2)
    cut = text[:text.index('"2"') + 20]   # the document breaks off in its third object
    result = run("--db", db, "import", write(tmp_path / "cut.json", cut), "--format",
                 "hubspot", "--rejects", "r.jsonl")
    assert result.exit_code == 3
    assert result.stdout == "cut.json: read 3, stored 2, duplicate 0, rejected 1\n"
    [bad] = rejects(Path("r.jsonl"))
    assert bad["line"] == 3
    assert bad["reason"] == ("record 3: not valid JSON: parse error: premature EOF; the rest "
                             "of the document was not read")
    lines = [json.dumps(good[0]), '{"id": "x", ', json.dumps(good[1])]
    result = run("--db", db, "import", write(tmp_path / "lines.jsonl", "\n".join(lines)),
                 "--format", "hubspot", "--rejects", "r.jsonl")
    assert result.stdout == "lines.jsonl: read 3, stored 0, duplicate 2, rejected 1\n"
    [bad] = rejects(Path("r.jsonl"))
    assert (bad["line"], bad["raw"]) == (2, '{"id": "x", ')  # byte for byte
    assert bad["reason"].startswith("not valid JSON: ")
    # a broken first line does not make the file one broken document
    lines = ['{"id": broken', json.dumps(good[2]), json.dumps(good[1])]
    result = run("--db", db, "import", write(tmp_path / "first.jsonl", "\n".join(lines)),
                 "--format", "hubspot")
    assert result.stdout == "first.jsonl: read 3, stored 1, duplicate 1, rejected 1\n"
    # ... while a document opened on its first line, one object per line, is a document
    text = '{"results": [\n' + ",\n".join(json.dumps(g) for g in good) + "\n]}\n"
    result = run("--db", db, "import", write(tmp_path / "doc.json", text), "--format",
                 "hubspot")
    assert result.stdout == "doc.json: read 3, stored 0, duplicate 3, rejected 0\n"


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("empty.json", b"", "read 0, stored 0, duplicate 0, rejected 0"),
    ("blank.json", b"\n  \n", "read 0, stored 0, duplicate 0, rejected 0"),
    ("empty-batch.json", b'{"results": []}', "read 0, stored 0, duplicate 0, rejected 0"),
    ("empty-list.json", b"[\n]\n", "read 0, stored 0, duplicate 0, rejected 0"),
    ("bom.json", b'\xef\xbb\xbf[{"id": "1", "propertiesWithHistory": {"p": '
                 b'[{"value": "a", "timestamp": 1704067200000}]}}]',
     "read 1, stored 1, duplicate 0, rejected 0"),
    ("utf8.json", b'[{"id": "1", "propertiesWithHistory": {"p": [{"value": "\xff", '
                  b'"timestamp": "2024-01-01T00:00:00Z"}]}}]',
     "read 1, stored 0, duplicate 0, rejected 1"),
    ("utf8.jsonl", b'{"id": "1", "propertiesWithHistory": {}}\n{"id": "\xff"}\n',
     "read 1, stored 0, duplicate 0, rejected 1"),
    ("deep.json", b"[" + b"[" * 100_000, "read 1, stored 0, duplicate 0, rejected 1"),
    ("deep-item.json", b"[" + b"[" * 200 + b"]" * 200 + b', {"id": "1", '
     b'"propertiesWithHistory": {"p": [{"value": "a", "timestamp": "2024-01-01T00:00:00Z"}]}}]',
     "read 2, stored 1, duplicate 0, rejected 1"),
    ("scalar.json", b"42", "read 1, stored 0, duplicate 0, rejected 1"),
    ("trailing.json", b'[]\n{"a": 1}', "read 1, stored 0, duplicate 0, rejected 1"),
])
def test_hubspot_odd_files_never_crash(run: Run, db: str, tmp_path: Path, name: str,
                                       content: bytes, expected: str) -> None:
    # Read as UTF-8 (not detected as another encoding): a byte that is not is a bad record.
    utf8 = ["--encoding", "utf-8"] if name.startswith("utf8") else []
    result = run("--db", db, "import", write(tmp_path / name, content), "--format", "hubspot",
                 *utf8)
    assert result.stdout == f"{name}: {expected}\n"
    assert result.exit_code == (3 if "rejected 0" not in expected else 0)


def test_hubspot_huge_line_is_rejected_without_reading_it_whole(
        run: Run, db: str, tmp_path: Path) -> None:
    good = json.dumps(contact("1", entry("lead", "2024-01-01T00:00:00Z")))
    huge = json.dumps(contact("2", entry("x" * (MAX_LINE + 10), "2024-01-01T00:00:00Z")))
    path = write(tmp_path / "huge.jsonl", "\n".join([good, huge, good]) + "\n")
    result = run("--db", db, "import", path, "--format", "hubspot", "--rejects", "r.jsonl")
    assert result.stdout == "huge.jsonl: read 3, stored 1, duplicate 1, rejected 1\n"
    assert rejects(Path("r.jsonl")) == [{"line": 2, "field": None, "raw": None,
                                         "reason": f"line is longer than {MAX_LINE} bytes"}]


# ---- Salesforce ----------------------------------------------------------------------------

HEADER = '"Id","IsDeleted","LeadId","CreatedById","CreatedDate","Field","DataType","OldValue",' \
         '"NewValue"\n'


def test_salesforce_rows_skipped_rejected_and_timestamps(run: Run, db: str,
                                                        tmp_path: Path) -> None:
    rows = [
        '"h1","false","L1","U1","2024-01-08T15:02:11.000Z","created","","",""',
        '"h2","true","L1","U1","2024-01-08T15:02:12.000Z","Status","Picklist","","Gone"',
        '"h3","false","L1","U1","2024-01-08T15:02:13.000+0000","Status","Picklist","","Open"',
        '"h4","false","","U1","2024-01-08T15:02:13.000Z","Status","Picklist","","Open"',
        '"h5","false","L1","U1","2024-01-08 15:02:14","Status","Picklist","Open","Working"',
        '"h6","false","L1","U1","2024-01-08T15:02:15.000Z","Status","Picklist"',
        '"h7","false","L1","","2024-01-08T15:02:16.000-0500","Status","Picklist","Open",""',
        '"h8","TRUE","L1","U1","garbage","Status","Picklist","",""',
        '"h9","false","L1","U1","2024-01-08T15:02:17.000Z","Description","TextArea","",""',
    ]
    path = write(tmp_path / "LeadHistory.csv", HEADER + "\n".join(rows) + "\n")
    result = run("--db", db, "import", path, "--format", "salesforce", "--rejects", "r.jsonl")
    assert result.exit_code == 3
    assert result.stdout == ("LeadHistory.csv: read 9, stored 4, duplicate 0, rejected 3, "
                             "skipped 2\n")
    assert [(r["line"], r["field"], r["reason"]) for r in rejects(Path("r.jsonl"))] == [
        (5, "LeadId",
         "exactly one of person_id, account_id or opportunity_id must name the subject"),
        (6, "CreatedDate", "timestamp 2024-01-08T15:02:14 has no offset (add Z or +HH:MM, "
                           "or pass --assume-tz)"),
        (7, None, "expected 9 cells, found 7"),
    ]
    facts = facts_of(db)["person:L1"]
    assert [(f["source_id"], f["field"], f["value"], f.get("previous"), f["occurred_at"],
             f.get("actor")) for f in facts] == [
        ("h1", "created", "created", None, "2024-01-08T15:02:11Z", "U1"),
        ("h3", "Status", "Open", None, "2024-01-08T15:02:13Z", "U1"),
        ("h7", "Status", "", "Open", "2024-01-08T20:02:16Z", None),
        ("h9", "Description", "", None, "2024-01-08T15:02:17Z", "U1")]


def test_salesforce_created_and_converted_rows_can_be_mapped(run: Run, sqlite_url: str,
                                                             tmp_path: Path) -> None:
    definitions = write(tmp_path / "d.yaml", """
version: "sf-events"
stages:
  - {key: new, kind: path, rank: 1}
  - {key: sql, kind: path, rank: 2}
map:
  status:
    created: {created: new}
    leadConverted: {leadConverted: sql}
""")
    run("--db", sqlite_url, "init", "--definitions", definitions)
    run("--db", sqlite_url, "import", SAMPLES / "sf_leadhistory.csv", "--format", "salesforce")
    stamps = run("--db", sqlite_url, "report", "stamps", "--format", "csv").stdout
    assert stamps.splitlines()[1:] == [
        "person,00Q8c00001XyZ9aEAF,new,2024-01-08T15:02:11Z,2024-01-08T15:02:11Z,1,false",
        "person,00Q8c00001XyZ9aEAF,sql,2024-02-02T13:31:09Z,2024-02-02T13:31:09Z,1,false"]


def test_salesforce_same_second_rows_keep_file_order(run: Run, db: str, tmp_path: Path) -> None:
    rows = [f'"h{n}","false","L1","U1","2024-01-08T15:02:11.000Z","Status","Picklist","",'
            f'"{value}"' for n, value in enumerate(
                ["Closed - Converted", "Open - Not Contacted", "Working - Contacted"])]
    path = write(tmp_path / "LeadHistory.csv", HEADER + "\n".join(rows))
    run("--db", db, "import", path, "--format", "salesforce")
    assert [f["value"] for f in facts_of(db)["person:L1"]] == [
        "Closed - Converted", "Open - Not Contacted", "Working - Contacted"]
    stamps = run("--db", db, "report", "stamps", "--format", "csv").stdout
    assert stamps.splitlines()[-1].split(",")[2:] == [
        "sql", "2024-01-08T15:02:11Z", "2024-01-08T15:02:11Z", "1", "false"]
    moves = run("--db", db, "report", "moves", "--format", "csv").stdout.splitlines()[1:]
    assert [m.split(",")[3:6] for m in moves] == [
        ["", "sql", "entry"], ["sql", "verified", "backward"], ["verified", "mql", "forward"]]


def test_salesforce_account_history_and_contact_exports(run: Run, db: str,
                                                        tmp_path: Path) -> None:
    account = write(tmp_path / "AccountHistory.csv", HEADER.replace("LeadId", "AccountId") +
                    '"a1","false","0018c0A","U1","2024-01-08T15:02:11.000Z","Type","Picklist",'
                    '"","Prospect"\n')
    contacts = write(tmp_path / "Contact.csv", "Id,AccountId\n0038c0P,0018c0A\n0038c0Q,\n")
    assert run("--db", db, "import", account, "--format", "salesforce").exit_code == 0
    result = run("--db", db, "import", contacts, "--format", "salesforce")
    assert result.stdout == ("Contact.csv: read 2, stored 1, duplicate 0, rejected 0, "
                             "skipped 1\n")
    facts = facts_of(db)
    assert facts["account:0018c0A"][0]["attributes"] == {"object": "Account",
                                                        "DataType": "Picklist"}
    assert facts["person:0038c0P"] == [{
        "type": "person_linked", "person_id": "0038c0P", "account_id": "0018c0A",
        "occurred_at": "1970-01-01T00:00:00Z", "source": "salesforce",
        "source_id": "contact:0038c0P:account:0018c0A"}]


@pytest.mark.parametrize(("content", "message"), [
    ("Id,AccountId\n0018c000001,0018c000002\n",
     "Error: x.csv: line 2: Id '0018c000001' is the id of an Account, not of a Contact"),
    ("Id,Name\n1,x\n",
     "Error: x.csv: line 1: a CSV with the columns Id, Name cannot be imported"),
    ('"Id","LeadId","Field"\n1,2,3\n', "Error: x.csv: line 1: a LeadHistory export needs "
                                        "the column(s) createddate, newvalue"),
    ('"Id,"LeadId\n', "Error: x.csv: line 1: an export with the parent column Id,LeadId"),
])
def test_salesforce_file_errors(run: Run, db: str, tmp_path: Path, content: str,
                                message: str) -> None:
    result = run("--db", db, "import", write(tmp_path / "x.csv", content), "--format",
                 "salesforce")
    assert result.exit_code == 1
    assert result.stderr.startswith(message)
    assert count_facts(db) == 0


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "read 0, stored 0, duplicate 0, rejected 0, skipped 0"),
    (HEADER.encode(), "read 0, stored 0, duplicate 0, rejected 0, skipped 0"),
    (HEADER.encode() + b'"h1","false","L\xff","U","2024-01-01T00:00:00Z","S","","","x"\n',
     "read 1, stored 0, duplicate 0, rejected 1, skipped 0"),
    (HEADER.encode() + b'"h1","false","L1","U","2024-01-01T00:00:00Z","S","","","'
     + b"x" * (MAX_LINE + 5) + b'"\n"h2","false","L1","U","2024-01-01T00:00:00Z","S","","",'
     b'"y"\r\n', "read 2, stored 1, duplicate 0, rejected 1, skipped 0"),
    # a quote left open at the end of the file closes there (as Python's csv reads it)
    (HEADER.encode() + b'"h1","false","L1","U","2024-01-01T00:00:00Z","S","","","x\n',
     "read 1, stored 1, duplicate 0, rejected 0, skipped 0"),
])
def test_salesforce_odd_files_never_crash(run: Run, db: str, tmp_path: Path, content: bytes,
                                          expected: str) -> None:
    result = run("--db", db, "import", write(tmp_path / "h.csv", content), "--format",
                 "salesforce", "--encoding", "utf-8")  # read as UTF-8, not detected
    assert result.stdout == f"h.csv: {expected}\n"
    assert result.exit_code == (3 if "rejected 0" not in expected else 0)


# ---- any CSV, mapped -------------------------------------------------------------------------

MARKETO = """Lead Id,Changed On,Old Status,New Status,Changed By
1001,2024-01-08T15:02:11Z,,lead,system
1001,2024-01-09T09:00:00+01:00,lead,marketingqualifiedlead,jane
1002,2024-01-10T00:00:00Z,lead,,jane
"""


def test_mapped_csv(run: Run, db: str, tmp_path: Path) -> None:
    path = write(tmp_path / "marketo.csv", MARKETO)
    result = run("--db", db, "import", path, "--format", "csv", "--columns",
                 'person_id="Lead Id",occurred_at="Changed On",value="New Status",'
                 "type=status_changed,source=marketo", "--columns",
                 "field=lifecycle_stage,previous=old status,actor=Changed By,"
                 "attributes.changed_by=Changed By")
    assert (result.exit_code, result.stdout) == (0, "\n".join([
        "Column mapping:",
        "  person_id    <- column 'Lead Id'",
        "  occurred_at  <- column 'Changed On'",
        "  value        <- column 'New Status'",
        "  previous     <- column 'Old Status'",
        "  actor        <- column 'Changed By'",
        "  attributes.changed_by <- column 'Changed By'",
        "  type         =  'status_changed' (constant)",
        "  source       =  'marketo' (constant)",
        "  field        =  'lifecycle_stage' (constant)",
        "marketo.csv: read 3, stored 3, duplicate 0, rejected 0", ""]))
    facts = facts_of(db)
    assert facts["person:1001"][1] == {
        "type": "status_changed", "person_id": "1001", "field": "lifecycle_stage",
        "value": "marketingqualifiedlead", "previous": "lead",
        "occurred_at": "2024-01-09T08:00:00Z", "source": "marketo", "actor": "jane",
        "attributes": {"changed_by": "jane"}}
    assert facts["person:1002"][0]["value"] == ""  # an empty cell: cleared
    again = run("--db", db, "import", path, "--columns", "person_id=Lead Id,"
                "occurred_at=Changed On,value=New Status,type=status_changed,source=marketo,"
                "field=lifecycle_stage,previous=Old Status,actor=Changed By,"
                "attributes.changed_by=Changed By")
    assert again.stdout.endswith("marketo.csv: read 3, stored 0, duplicate 3, rejected 0\n")


def test_mapped_csv_bad_rows(run: Run, db: str, tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", "Who,Org,When,What\n"
                 "p1,,2024-01-01T00:00:00Z,demo_request\n"
                 ",a1,2024-01-01T00:00:00Z,demo_request\n"
                 "p3,,2024-01-01T00:00:00,demo_request\n"
                 "p4,,2024-01-01T00:00:00Z\n")
    result = run("--db", db, "import", path, "--columns", "person_id=Who,account_id=Org,"
                 "occurred_at=When,kind=What,type=hand_raised", "--rejects", "r.jsonl")
    assert result.exit_code == 3
    assert result.stdout.endswith("x.csv: read 4, stored 1, duplicate 0, rejected 3\n")
    assert [(r["line"], r["field"], r["reason"]) for r in rejects(Path("r.jsonl"))] == [
        (3, "Org", "a hand_raised fact is about a person, not an account"),
        (4, "When", "timestamp 2024-01-01T00:00:00 has no offset (add Z or +HH:MM, or pass "
                    "--assume-tz)"),
        (5, None, "expected 4 cells, found 3")]
    unknown = run("--db", db, "import", path, "--columns", "person_id=Who,occurred_at=When,"
                  "type=What", "--rejects", "r.jsonl")
    assert unknown.stdout.endswith("read 4, stored 0, duplicate 0, rejected 4\n")
    assert rejects(Path("r.jsonl"))[0]["reason"].startswith(
        "unknown fact type 'demo_request' (expected one of: status_changed")


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--columns", "person_id=Who,occurred_at=When"], 2, "map the fact type"),
    (["--columns", "colour=Who"], 2, "'colour' is not a fact field"),
    (["--columns", 'person_id="Who'], 2, "unbalanced double quote"),
    (["--columns", "type=x,type=y"], 2, "'type' is mapped twice"),
    (["--columns", "person_id"], 2, "'person_id' is not FIELD=COLUMN"),
    (["--format", "hubspot", "--columns", "type=x"], 2,
     "--columns goes with --format csv or jsonl"),
    (["--columns", "person_id=Lead,occurred_at=When,type=hand_raised"], 1,
     "Error: x.csv: line 1: person_id='Lead' is not a column of the file (columns: Who, Org, "
     "When, What)"),
    (["--columns", "person_id=Who,occurred_at=Whenn,type=hand_raised"], 1,
     "Error: x.csv: line 1: occurred_at='Whenn' is neither a column of the file (columns: "
     "Who, Org, When, What) nor a timestamp"),
])
def test_mapped_csv_usage(run: Run, db: str, tmp_path: Path, args: list[str], code: int,
                          message: str) -> None:
    path = write(tmp_path / "x.csv", "Who,Org,When,What\np1,,2024-01-01T00:00:00Z,x\n")
    result = run("--db", db, "import", path, *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert count_facts(db) == 0


def test_mapped_csv_empty_file_and_stdin(run: Run, db: str, tmp_path: Path) -> None:
    columns = "person_id=Who,occurred_at=When,type=status_changed,value=What"
    empty = run("--db", db, "import", write(tmp_path / "e.csv", b""), "--columns", columns)
    assert (empty.exit_code, empty.stdout) == (0, "e.csv: read 0, stored 0, duplicate 0, "
                                                  "rejected 0\n")
    piped = run("--db", db, "import", "-", "--columns", columns, "--strict",
                input="Who,When,What\np1,2024-01-01T00:00:00Z,lead\n")
    assert piped.exit_code == 0
    assert piped.stdout.endswith("-: read 1, stored 1, duplicate 0, rejected 0\n")


def test_strict_import_from_standard_input_stores_the_facts(run: Run, db: str) -> None:
    """--strict reads its input twice (check, then store): standard input is kept."""
    line = json.dumps({"type": "status_changed", "person_id": "p", "value": "lead",
                       "occurred_at": "2024-01-01T00:00:00Z"})
    result = run("--db", db, "import", "-", "--format", "jsonl", "--strict", input=line)
    assert result.stdout == "-: read 1, stored 1, duplicate 0, rejected 0\n"
    assert count_facts(db) == 1


# ---- whatever the bytes: rows or a file error, never an exception -------------------------

READERS: dict[str, Callable[[io.BytesIO], Iterator[Any]]] = {
    "hubspot": lambda s: read_hubspot(s),
    "hubspot-companies": lambda s: read_hubspot(s, object_type="companies"),
    "salesforce": lambda s: read_salesforce(s),
    "mapped": lambda s: read_mapped(s, mapping=ColumnMap.parse(
        "person_id=a,occurred_at=b,type=status_changed,value=c")),
    "jsonl": lambda s: read_jsonl(s),
    "csv": lambda s: read_csv(s),
}
PIECES = [b"{", b"}", b"[", b"]", b'"id"', b":", b",", b'"results"', b'"propertiesWithHistory"',
          b'"value"', b'"timestamp"', b'"2024-01-01T00:00:00Z"', b"\n", b"\xff", b"\xef\xbb\xbf",
          b'"', b"1", b"null", b"Id,IsDeleted,LeadId,CreatedDate,Field,NewValue", b"a,b,c",
          b"\r\n", b"\x00", b"true", b"-1e999", b'"\\ud800"']


@pytest.mark.parametrize("reader", list(READERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=300),
                      st.lists(st.sampled_from(PIECES), max_size=40).map(b"".join)))
def test_readers_never_raise(reader: str, data: bytes) -> None:
    try:
        rows = list(READERS[reader](io.BytesIO(data)))
    except FileFormatError:
        return
    for row in rows:
        assert (row.candidate is None) != (row.rejection is None) or row.skipped


def test_random_bytes_through_the_command(run: Run, db: str, tmp_path: Path) -> None:
    rng = random.Random(20240108)
    sample = (SAMPLES / "hubspot_contact_lifecycle_history.json").read_bytes()
    lead = (SAMPLES / "sf_leadhistory.csv").read_bytes()
    for n in range(12):
        for fmt, base in (("hubspot", sample), ("salesforce", lead)):
            data = bytearray(base)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            path = write(tmp_path / f"mangled{n}.{fmt}", bytes(data))
            result = run("--db", db, "import", path, "--format", fmt)
            assert result.exit_code in (0, 1, 3), result.output
            assert "Traceback" not in result.stderr
