"""`lifecycle definitions show/validate/log`."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import yaml
from cli_support import Run

from lifecycle.domain.definitions import load_definitions
from lifecycle.store.codec import definitions_event_id

STAGES_CSV = """key,label,kind,rank
new,New/Unverified,path,1
verified,Verified,path,2
nurture,Nurture/Recycle,off_path,2
mql,Marketing Qualified,path,3
sal,Sales Accepted/Working,path,4
meeting_set,Meeting Set,path,5
sql,Sales Qualified,path,6
late_stage,Late Stage Opportunity,path,7
customer,Customer,path,8
churned,Churned,exit,
disqualified,Disqualified,exit,
not_a_target,Not a Target,exit,
inactive,No Longer at Company/Inactive,exit,
"""


def test_show(run: Run, db: str, definitions_yaml: str) -> None:
    published = load_definitions(definitions_yaml)
    as_yaml = run("--db", db, "definitions", "show")
    assert (as_yaml.exit_code, as_yaml.stderr) == (0, "")
    assert load_definitions(as_yaml.stdout) == published
    as_json = run("--db", db, "definitions", "show", "--format", "json")
    assert json.loads(as_json.stdout) == published.model_dump(mode="json")
    assert yaml.safe_load(as_yaml.stdout) == json.loads(as_json.stdout)
    as_csv = run("--db", db, "definitions", "show", "--format", "csv")
    assert as_csv.stdout == STAGES_CSV


def test_validate(run: Run, definitions_yaml: str) -> None:
    Path("good.yaml").write_text(definitions_yaml, "utf-8")
    good = run("definitions", "validate", "good.yaml")
    assert (good.exit_code, good.stdout, good.stderr) == (
        0, "good.yaml: valid (b2b-2024, 13 stages)\n", "")
    starter = run("definitions", "validate", "b2b-2024")
    assert starter.stdout == "b2b-2024: valid (b2b-2024, 13 stages)\n"
    Path("bad.yaml").write_text(definitions_yaml.replace("to: mql", "to: mqll"), "utf-8")
    bad = run("definitions", "validate", "bad.yaml")
    assert (bad.exit_code, bad.stdout) == (1, "")
    assert bad.stderr == "Error: bad.yaml: map.hand_raised.to: unknown stage 'mqll'\n"
    Path("sla.yaml").write_text(definitions_yaml.replace("within: 24h", "within: 24"), "utf-8")
    sla = run("definitions", "validate", "sla.yaml")
    assert sla.exit_code == 1
    assert sla.stderr.startswith("Error: sla.yaml: sla[0].within: ")
    assert not Path("lifecycle.db").exists()


def test_log(run: Run, db: str, definitions_yaml: str) -> None:
    Path("v2.yaml").write_text(definitions_yaml.replace('version: "b2b-2024"',
                                                        'version: "b2b-2024.2"'), "utf-8")
    refused = run("--db", db, "init", "--definitions", "v2.yaml")
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"Error: {db} is already initialised with definitions "
                                     "b2b-2024")
    assert run("--db", db, "backfill", "v2.yaml").exit_code == 0
    log = run("--db", db, "definitions", "log", "--format", "csv")
    assert (log.exit_code, log.stderr) == (0, "")
    rows = list(csv.DictReader(io.StringIO(log.stdout)))
    assert [(r["version"], r["stages"], r["event_id"]) for r in rows] == [
        ("b2b-2024", "13", str(definitions_event_id("b2b-2024"))),
        ("b2b-2024.2", "13", str(definitions_event_id("b2b-2024.2")))]
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z"
    assert all(re.fullmatch(stamp, r["published_at"]) for r in rows)
    assert rows[0]["published_at"] <= rows[1]["published_at"]
    as_json = json.loads(run("--db", db, "definitions", "log", "--format", "json").stdout)
    assert [(d["version"], d["stages"], d["event_id"]) for d in as_json] == [
        ("b2b-2024", 13, str(definitions_event_id("b2b-2024"))),
        ("b2b-2024.2", 13, str(definitions_event_id("b2b-2024.2")))]
    active = run("--db", db, "definitions", "show", "--format", "json")
    assert json.loads(active.stdout)["version"] == "b2b-2024.2"
