"""Input that used to be resolved silently, printed raw or read without end, and what each
gives now: duplicate YAML keys and CSV columns are errors naming the file, the line and
the key; a local time that does not exist is an error naming the zone's gap; a
definitions file is read up to a size; terminal escape codes in ids and values are shown
escaped in tables and messages; CSV output can defuse spreadsheet formulas; a password
in a URL's query is never printed; dates at the calendar's end are reported, not crashed
on.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from lifecycle.console.render import printable, to_csv
from lifecycle.store.settings import redact, scrub

from .conftest import load
from .stores import events
from .strategies import invoke


@pytest.fixture
def db(sqlite_url: str, tmp_path: Path) -> str:
    return load(sqlite_url, tmp_path, lines=[])


# ---- duplicate keys and columns -------------------------------------------------------------

B2B = (Path(__file__).parents[2] / "lifecycle" / "data" / "b2b-2024.yaml").read_text("utf-8")


@pytest.mark.parametrize(("text", "where"), [
    ("version: a\nversion: b\nstages: []\n", "line 2, column 1: duplicate key 'version' "
                                             "(first at line 1)"),
    (B2B.replace("  disqualified: disqualified\n",
                 "  disqualified: disqualified\n  disqualified: nurture\n"),
     "duplicate key 'disqualified'"),
    (B2B.replace("lifecycle_stage: {", "lifecycle_stage: {lead: mql, "),
     "duplicate key 'lead'"),
])
@pytest.mark.parametrize("command", [["definitions", "validate"], ["init", "--definitions"],
                                     ["backfill"], ["backfill", "--dry-run"]])
def test_a_key_given_twice_is_an_error(db: str, tmp_path: Path, text: str, where: str,
                                       command: list[str]) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text(text, "utf-8")
    before = events(db)
    result = invoke(["--db", db, *command, str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: not valid YAML at line "), result.stderr
    assert where in result.stderr
    assert events(db) == before


def test_merge_keys_may_still_override() -> None:
    from lifecycle.domain.definitions import DefinitionsError, load_definitions

    text = B2B.replace("stages:\n", "base: &b {kind: path}\nstages:\n", 1)
    with pytest.raises(DefinitionsError, match="base: unknown key"):  # not a duplicate key
        load_definitions(text)


CANONICAL = "type,person_id,value,occurred_at,{extra}\n" \
            "status_changed,p1,lead,2024-01-01T00:00:00Z,{cell}\n"


@pytest.mark.parametrize(("content", "args", "message"), [
    ("type,person_id,value,occurred_at,value\nstatus_changed,p1,lead,2024-01-01T00:00:00Z,"
     "mql\n", [], "column 'value' appears 2 times in the header (columns 3 and 5)"),
    ("type,person_id,type,value,occurred_at,type\n", [],
     "column 'type' appears 3 times in the header (columns 1, 3 and 6)"),
    ("Who,When,Who\np1,2024-01-01T00:00:00Z,p2\n",
     ["--columns", "person_id=Who,occurred_at=When,type=status_changed,value=lead"],
     "column 'Who' appears 2 times in the header (columns 1 and 3)"),
    ("Who,When,who \np1,2024-01-01T00:00:00Z,p2\n",
     ["--columns", "person_id=WHO,occurred_at=When,type=status_changed,value=lead"],
     "column 'Who' appears 2 times in the header (columns 1 and 3)"),
    ("Id,LeadId,CreatedDate,Field,NewValue,field\n1,2,2024-01-01T00:00:00Z,Status,x,y\n",
     ["--format", "salesforce"], "column 'Field' appears 2 times in the header "
                                 "(columns 4 and 6)"),
])
def test_a_column_given_twice_is_an_error(db: str, tmp_path: Path, content: str,
                                          args: list[str], message: str) -> None:
    path = tmp_path / "twice.csv"
    path.write_text(content, "utf-8")
    result = invoke(["--db", db, "import", str(path), *args])
    assert (result.exit_code, result.stderr) == (1, f"Error: twice.csv: line 1: {message}\n")
    assert events(db) == 1


def test_a_repeated_column_that_is_not_read_is_fine(db: str, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Who,Notes,When,Notes\np1,a,2024-01-01T00:00:00Z,b\n", "utf-8")
    result = invoke(["--db", db, "import", str(path), "--columns",
                     "person_id=Who,occurred_at=When,type=status_changed,value=lead"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("export.csv: read 1, stored 1, duplicate 0, rejected 0\n")


# ---- local times that do not exist ----------------------------------------------------------

GAP = ("2024-03-10T02:30:00 does not exist in America/New_York: the clocks went from 02:00 to "
       "03:00 on 2024-03-10 (UTC-05:00 to UTC-04:00); give the time with its offset")


def test_a_time_in_a_spring_forward_gap_is_an_error(db: str, tmp_path: Path) -> None:
    path = tmp_path / "local.csv"
    path.write_text("type,person_id,value,occurred_at\n"
                    "status_changed,p1,lead,2024-03-10T02:30:00\n"
                    "status_changed,p2,lead,2024-03-10T03:30:00\n"
                    "status_changed,p3,lead,2024-11-03T01:30:00\n", "utf-8")
    result = invoke(["--db", db, "import", str(path), "--assume-tz", "America/New_York",
                     "--rejects", str(tmp_path / "r.jsonl")])
    assert result.exit_code == 3
    assert result.stderr == f"  {path}:2: occurred_at: {GAP}\n"
    reject = json.loads((tmp_path / "r.jsonl").read_text("utf-8"))
    assert (reject["line"], reject["field"], reject["reason"]) == (2, "occurred_at", GAP)
    moves = json.loads(invoke(["--db", db, "report", "moves", "--format", "json"]).stdout)
    # an hour that happens twice (autumn) is its first occurrence, as Python reads it
    assert {m["subject_id"]: m["occurred_at"] for m in moves} == {
        "p2": "2024-03-10T07:30:00Z", "p3": "2024-11-03T05:30:00Z"}
    recorded = invoke(["--db", db, "record", "status_changed", "--person", "p4", "--value",
                       "lead", "--at", "2024-03-10T02:30:00", "--assume-tz",
                       "America/New_York"])
    assert (recorded.exit_code, recorded.stderr) == (1, f"Error: occurred_at: {GAP}\n")


# ---- files that never end -------------------------------------------------------------------

@pytest.mark.parametrize("command", [["definitions", "validate"], ["init", "--definitions"],
                                     ["backfill", "--dry-run"]])
def test_a_definitions_file_is_read_up_to_a_size(db: str, tmp_path: Path,
                                                 command: list[str]) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 1_100_000 + "\n" + B2B, "utf-8")
    for path in ("/dev/zero", str(big)):
        result = invoke(["--db", db, *command, path])
        assert (result.exit_code, result.stderr) == (
            1, f"Error: {path}: larger than 1,000,000 bytes; a definitions file is a few "
               "kilobytes of YAML\n")


# ---- terminal escape codes ------------------------------------------------------------------

def test_printable_escapes_what_a_terminal_would_act_on() -> None:
    assert printable("a\x1b[31mred\x07\r\n\t\x7f\x9b\u202eevil\u2066") == \
        "a\\x1b[31mred\\x07\\r\\n\\t\\x7f\\x9b\\u202eevil\\u2066"
    assert printable("שלום ü 🙂 [b]x") == "שלום ü 🙂 [b]x"


def test_tables_and_messages_show_escape_codes_escaped(db: str, tmp_path: Path) -> None:
    hostile = "a\x1b[31mred\x1b]0;owned\x07"
    fact = {"type": "status_changed", "person_id": hostile, "value": "lead",
            "occurred_at": "2024-01-01T00:00:00Z", "actor": "x\x1b[2J"}
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps(fact) + "\n" + json.dumps({**fact, "value": 7}) + "\n", "utf-8")
    imported = invoke(["--db", db, "import", str(path)])
    shown = "a\\x1b[31mred\\x1b]0;owned\\x07"
    outputs = [imported.output,
               invoke(["--db", db, "report", "stamps"]).output,
               invoke(["--db", db, "report", "moves"]).output,
               invoke(["--db", db, "audit", "person", "--", hostile]).output,
               invoke(["--db", db, "report", "stamps", "--stage", "\x1b[5mblink"]).output]
    for output in outputs:
        assert "\x1b" not in output and "\x07" not in output, output
    assert shown in outputs[1] and shown in outputs[2] and shown in outputs[3]
    assert "x\\x1b[2J" in outputs[3]
    assert "unknown stage '\\x1b[5mblink'" in outputs[4]
    rows = json.loads(invoke(["--db", db, "report", "stamps", "--format", "json"]).stdout)
    assert {r["subject_id"] for r in rows} == {hostile}  # JSON keeps the id exact
    csv_rows = list(csv.DictReader(io.StringIO(
        invoke(["--db", db, "report", "stamps", "--format", "csv"]).stdout, newline="")))
    assert {r["subject_id"] for r in csv_rows} == {hostile}


@pytest.mark.parametrize("args", [
    ["definitions", "validate", "--", "\u202eevil\u202c.yaml"],
    ["init", "--definitions", "a\x1b[31mred.yaml"],
    ["backfill", "--dry-run", "--", "\x1b]0;owned\x07"],
    ["report", "stamps", "--stage", "\x9b2J"],
])
def test_error_messages_show_escape_codes_escaped(db: str, args: list[str]) -> None:
    """A file name or value in an `Error:` line, whoever raised it (a command, the library,
    click), is shown escaped: the fuzz walk over every command found a missing definitions
    file's name printed raw."""
    result = invoke(["--db", db, *args])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and result.stderr.endswith("\n")
    assert printable(args[-1]) in result.stderr
    assert printable(result.stderr[:-1]) == result.stderr[:-1]  # nothing left to escape


# ---- spreadsheet formulas in CSV ------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)",
            "\t=1", "plain", "a=b"]


def test_csv_keeps_data_verbatim_unless_asked_to_defuse_formulas(
        db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text("".join(json.dumps({"type": "status_changed", "person_id": p, "value":
                                        "lead", "occurred_at": "2024-01-01T00:00:00Z"}) + "\n"
                            for p in FORMULAS), "utf-8")
    assert invoke(["--db", db, "import", str(path)]).exit_code == 0

    def ids(*flags: str) -> set[str]:
        out = invoke(["--db", db, *flags, "report", "moves", "--format", "csv"]).stdout
        return {r["subject_id"] for r in csv.DictReader(io.StringIO(out, newline=""))}

    assert ids() == set(FORMULAS)
    safe = {"'" + p if p[0] in "=+-@\t" else p for p in FORMULAS}
    assert ids("--csv-safe") == safe
    monkeypatch.setenv("LIFECYCLE_CSV_SAFE", "1")
    assert ids() == safe
    monkeypatch.setenv("LIFECYCLE_CSV_SAFE", "0")
    assert ids() == set(FORMULAS)


def test_csv_safe_mode_leaves_numbers_alone() -> None:
    rows = [{"stage": "-x", "delta": -3, "share": -0.5}]
    assert to_csv(rows, ["stage", "delta", "share"], safe=True) == \
        "stage,delta,share\n'-x,-3,-0.5\n"


# ---- passwords in query parameters ----------------------------------------------------------

@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://u@h/db?password=s3cret", "postgresql+psycopg://u@h/db?password=***"),
    ("postgresql://u:pw1@h/db?sslmode=require&PASSWORD=s3cret",
     "postgresql://u:***@h/db?PASSWORD=***&sslmode=require"),
    ("postgresql://u@h/db?sslpassword=s3cret&application_name=x",
     "postgresql://u@h/db?application_name=x&sslpassword=***"),
])
def test_redact_hides_passwords_in_the_query_too(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert "s3cret" not in scrub(f"could not connect to {url}: password s3cret refused", url)


@pytest.mark.parametrize("args", [["verify"], ["init", "--definitions", "b2b-2024"],
                                  ["report", "stages", "--as-of", "now"]])
def test_a_query_password_never_shows_in_errors(args: list[str]) -> None:
    url = "postgresql+psycopg://u@127.0.0.1:1/x?password=s3cret"
    result = invoke(["--db", url, *args])
    assert result.exit_code == 1
    assert "s3cret" not in result.output and "password=***" in result.output


def test_a_working_url_with_a_query_password(pg_url: str) -> None:
    url = f"{pg_url}?password=s3cret"
    outputs = [invoke(["--db", url, *args]).output for args in (
        ["init", "--definitions", "b2b-2024"], ["--read-only", "rebuild"], ["verify"],
        ["report", "stages", "--as-of", "now", "--definitions", "nope"])]
    assert not any("s3cret" in output for output in outputs)
    assert outputs[0] == f"Definitions b2b-2024 published in {pg_url}?password=***\n"


# ---- the calendar's ends --------------------------------------------------------------------

def test_a_fact_in_the_year_9999(db: str, tmp_path: Path) -> None:
    """The last period ends at the last instant a date can hold; a window from now to then
    is too many periods to print, and says so."""
    def record(person: str, at: str) -> None:
        assert invoke(["--db", db, "record", "status_changed", "--person", person, "--value",
                       "lead", "--at", at]).exit_code == 0

    record("late", "9999-12-31T00:00:00Z")
    timeline = invoke(["--db", db, "report", "timeline", "--format", "csv"])
    assert timeline.stdout.splitlines()[1:] == [
        "9999-12,9999-12-01T00:00:00Z,9999-12-31T23:59:59.999999Z,1,0,1,0,0,0,0,0,0,0,0,0,0,0"]
    html = tmp_path / "r.html"
    assert invoke(["--db", db, "report", "html", "-o", str(html)]).stdout == (
        f"Wrote {html}: persons from 9999-12-27T00:00:00Z to 9999-12-31T23:59:59.999999Z, "
        "definitions b2b-2024.\n")
    assert invoke(["--db", db, "report", "timeline", "--every", "week"]).exit_code == 0

    record("now", "2024-01-01T00:00:00Z")
    too_long = ("Error: the transitions run from 2024-01-01T00:00:00Z to "
                "9999-12-31T23:59:59.999999Z, 95,712 months; a timeline has at most "
                "10,000 periods: give a narrower --from/--to\n")
    for args in (["timeline"], ["html", "-o", str(html)]):
        result = invoke(["--db", db, "report", *args])
        assert (result.exit_code, result.stderr) == (1, too_long)
    window = invoke(["--db", db, "report", "html", "-o", str(html), "--from", "2024-01-01",
                     "--to", "2025-01-01"])
    assert window.exit_code == 0


def test_a_timeline_over_the_whole_calendar_is_an_error(db: str) -> None:
    result = invoke(["--db", db, "report", "timeline", "--from", "0001-01-01", "--to",
                     "9999-12-31"])
    assert (result.exit_code, result.stderr) == (1, (
        "Error: the window from 0001-01-01T00:00:00Z to 9999-12-31T00:00:00Z holds 119,988 "
        "months; a timeline has at most 10,000 periods: give a narrower --from/--to\n"))
    weeks = invoke(["--db", db, "report", "timeline", "--every", "week", "--from",
                    "0001-01-01", "--to", "0002-01-01", "--format", "csv"])
    assert weeks.exit_code == 0
    assert weeks.stdout.splitlines()[1].startswith("0001-01-01,0001-01-01T00:00:00Z,")


def test_report_html_on_an_empty_store(db: str, tmp_path: Path) -> None:
    result = invoke(["--db", db, "report", "html", "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 0
    assert result.stdout == f"Wrote {tmp_path / 'r.html'}: persons (no transitions yet), " \
                            "definitions b2b-2024.\n"
