"""Every importer gets random and adversarial files: the answer is a clear error or a
correct store, never a traceback, a wrong count, or a partial write under --strict.

Formats: jsonl, csv (canonical and `--columns`), hubspot (contacts/companies, JSON and
JSON Lines) and salesforce (field history and Contact exports). Each example imports one
file into a shared SQLite store and checks:

- the program ends cleanly (exit 0-3; `Error:` on 1 and 2; no traceback, no exception);
- on exit 0/3 the summary adds up (read = stored + duplicate + rejected + skipped), the
  store grew by exactly `stored` events, exit 3 iff rows were rejected, and the rejects
  file has one JSON object per rejected row with its line, field, reason and raw text;
- with --strict, a failed import stored nothing at all.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from .strategies import (
    csv_text,
    fact_like,
    fuzz_settings,
    invoke,
    json_values,
    jsonl_lines,
    nested,
    odd_ids,
    odd_text,
    timestamps,
    valid_fact,
    valid_facts,
    zones,
)

SUMMARY = re.compile(r": read (\d+), stored (\d+), duplicate (\d+), rejected (\d+)"
                     r"(?:, skipped (\d+))?\n")
CANONICAL = ["type", "person_id", "account_id", "occurred_at", "source", "source_id", "actor",
             "campaign", "field", "value", "previous", "kind", "fit", "reason", "flag",
             "state", "target_event_id"]


def _events(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])


def import_and_check(url: str, folder: Path, name: str, content: bytes, options: list[str],
                     strict: bool) -> Any:
    path = folder / name
    path.write_bytes(content)
    rejects = folder / "rejects.jsonl"
    rejects.unlink(missing_ok=True)
    args = ["--db", url, "import", str(path), "--rejects", str(rejects), *options]
    if strict:
        args.append("--strict")
    before = _events(url)
    result = invoke(args)
    after = _events(url)
    match = SUMMARY.search(result.output)
    if result.exit_code in (0, 3):
        assert match, result.output
        read, stored, duplicate, rejected = (int(g) for g in match.groups()[:4])
        skipped = int(match.group(5) or 0)
        assert read == stored + duplicate + rejected + skipped, result.output
        assert after - before == stored, (before, after, result.output)
        assert (result.exit_code == 3) == (rejected > 0), result.output
        # JSON Lines are split on "\n" only (a raw U+2028 or U+0085 may sit in a string).
        entries = [json.loads(line) for line in rejects.read_text("utf-8").split("\n") if line]
        assert len(entries) == rejected
        for entry in entries:
            assert set(entry) == {"line", "field", "reason", "raw"}, entry
            assert isinstance(entry["line"], int) and entry["line"] >= 1, entry
            assert isinstance(entry["reason"], str) and entry["reason"], entry
        if strict:
            assert rejected == 0, result.output
    elif strict or result.exit_code == 2:
        assert after == before, f"a failed --strict import stored {after - before} facts"
    return result


# ---- JSON Lines ----------------------------------------------------------------------------

@fuzz_settings()
@given(lines=jsonl_lines(), strict=st.booleans(), tz=st.none() | zones(),
       junk=st.none() | st.binary(max_size=200))
def test_jsonl(fuzz_store: str, fuzz_folder: Path, lines: list[str], strict: bool,
               tz: str | None, junk: bytes | None) -> None:
    content = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    if junk is not None:
        content += junk
    options = ["--format", "jsonl"] + (["--assume-tz", tz] if tz is not None else [])
    import_and_check(fuzz_store, fuzz_folder, "facts.jsonl", content, options, strict)


@fuzz_settings()
@given(content=st.binary(max_size=2_000), fmt=st.sampled_from(
    ["jsonl", "csv", "hubspot", "salesforce"]), strict=st.booleans())
def test_random_bytes_in_every_format(fuzz_store: str, fuzz_folder: Path, content: bytes,
                                      fmt: str, strict: bool) -> None:
    import_and_check(fuzz_store, fuzz_folder, "random.dat", content, ["--format", fmt], strict)


def test_huge_and_deep_lines(fuzz_store: str, fuzz_folder: Path) -> None:
    """A 2 MB line, a value nested 100 000 deep, a 10 001-character id: rejected rows."""
    fact = {"type": "status_changed", "person_id": "p", "value": "lead",
            "occurred_at": "2024-01-01T00:00:00Z"}
    lines = [json.dumps({**fact, "value": "x" * 2_000_000}), nested(100_000),
             json.dumps({**fact, "person_id": "p" * 10_001}),
             json.dumps({**fact, "attributes": {"k": "v" * 20_000}}),
             "{" + '"a":' * 50_000 + "1" + "}" * 50_000]
    for strict in (True, False):
        result = import_and_check(fuzz_store, fuzz_folder, "huge.jsonl",
                                  ("\n".join(lines) + "\n").encode(), [], strict)
        assert result.exit_code == (1 if strict else 3), result.output
    for fmt in ("hubspot", "jsonl"):
        for text in ('{"results": [' + nested(100_000) + "]}", nested(100_000),
                     '{"results": [{"id": "1", "propertiesWithHistory": {"lifecyclestage": '
                     '[{"value": ' + nested(100_000) + ', "timestamp": "2024"}]}}]}'):
            import_and_check(fuzz_store, fuzz_folder, "deep.json", text.encode(),
                             ["--format", fmt], strict=False)


HUGE = 1_500_000  # bytes: more than a value may hold in a HubSpot document (MAX_VALUE)


def test_huge_values_in_hubspot_documents(fuzz_store: str, fuzz_folder: Path) -> None:
    """One value (a string, escaped quotes, a number, a key, a stretch of blanks) too long to
    hold: that record is rejected naming its field, the rest of the document is not read,
    what came before is stored; never a traceback, never the whole value in memory."""
    head = ('{"results": [{"id": "h1", "propertiesWithHistory": {"lifecyclestage": '
            '[{"value": "lead", "timestamp": "2024-01-01T00:00:00Z"}]}}, {"id": "h2", '
            '"properties": {"notes": ')
    tail = '}}, {"id": "h3"}]}'
    for middle, field in (('"' + "x" * HUGE + '"', "notes"), ('"' + '\\"' * HUGE + '"', "notes"),
                          ("1" * HUGE, "notes"), ('{"' + "k" * HUGE + '": 1}', "notes"),
                          ("1" + " " * HUGE, "notes")):
        text = head + middle + tail
        for strict in (False, True):
            result = import_and_check(fuzz_store, fuzz_folder, "huge.json", text.encode(),
                                      ["--format", "hubspot"], strict)
            assert result.exit_code == (1 if strict else 3), result.output
            assert f"record 2: field {field}: a value longer than 1,000,000 bytes; the rest " \
                   "of the document was not read" in result.output


# ---- CSV -----------------------------------------------------------------------------------

def cell_values() -> st.SearchStrategy[str]:
    return st.one_of(odd_text(max_size=30), timestamps(), st.sampled_from(
        ["status_changed", "hand_raised", "person_linked", "retracted", "lead", "p1", "acme",
         "raised", "renewal", "high", "", "00000000-0000-0000-0000-000000000000"]))


@st.composite
def csv_files(draw: Any) -> bytes:
    header = draw(st.lists(st.sampled_from(CANONICAL), min_size=1, max_size=8, unique=True))
    if draw(st.booleans()) and "type" not in header:
        header.insert(0, "type")
    if draw(st.integers(0, 9)) == 0:
        header.append(draw(odd_text(max_size=10)))
    if draw(st.integers(0, 7)) == 0:  # a column given twice: an error naming it
        header.insert(draw(st.integers(0, len(header))), draw(st.sampled_from(header)))
    rows = draw(st.lists(st.lists(cell_values(), min_size=len(header) - 1,
                                  max_size=len(header) + 1), max_size=10))
    text = csv_text(header, rows)
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text.encode("utf-8", "surrogatepass")


@fuzz_settings()
@given(content=csv_files(), strict=st.booleans(), tz=st.none() | zones())
def test_csv(fuzz_store: str, fuzz_folder: Path, content: bytes, strict: bool,
             tz: str | None) -> None:
    options = ["--format", "csv"] + (["--assume-tz", tz] if tz is not None else [])
    import_and_check(fuzz_store, fuzz_folder, "facts.csv", content, options, strict)


@fuzz_settings()
@given(columns=st.lists(st.one_of(
    odd_text(max_size=40),
    st.builds(lambda f, c: f"{f}={c}", st.sampled_from(CANONICAL + ["bogus"]),
              st.sampled_from(["Lead Id", "Changed On", "New Status", "x", "", "a=b", "'q'"]))),
    min_size=1, max_size=4), strict=st.booleans())
def test_csv_columns_option(fuzz_store: str, fuzz_folder: Path, columns: list[str],
                            strict: bool) -> None:
    content = csv_text(["Lead Id", "Changed On", "New Status", "x"], [
        ["L1", "2024-01-01T00:00:00Z", "lead", "1"],
        ["L2", "2024-01-02T00:00:00", "customer", "2"],
        ["'; DROP TABLE fact_index; --", "2024-01-03T00:00:00Z", "mql", "3"]]).encode()
    options = ["--format", "csv"] + [arg for c in columns for arg in ("--columns", c)]
    import_and_check(fuzz_store, fuzz_folder, "mapped.csv", content, options, strict)


# ---- HubSpot ---------------------------------------------------------------------------------

@st.composite
def hubspot_objects(draw: Any) -> Any:
    def entry() -> Any:
        return draw(st.one_of(
            st.fixed_dictionaries(
                {"value": st.one_of(odd_text(max_size=20), json_values(4)),
                 "timestamp": st.one_of(timestamps(), st.integers(), json_values(3))},
                optional={"sourceType": odd_text(max_size=10), "sourceId": odd_text(max_size=10),
                          "updatedByUserId": st.one_of(st.integers(), odd_text(max_size=8))}),
            json_values(4)))

    obj: dict[str, Any] = {"id": draw(st.one_of(odd_ids(), st.integers(), json_values(3)))}
    history = {draw(st.sampled_from(["lifecyclestage", "hs_lead_status"]) | odd_text(max_size=12)):
               [entry() for _ in range(draw(st.integers(0, 4)))]
               for _ in range(draw(st.integers(0, 3)))}
    if draw(st.integers(0, 5)):
        obj["propertiesWithHistory"] = history
    else:
        obj["propertiesWithHistory"] = draw(json_values(5))
    if draw(st.booleans()):
        obj["associations"] = {"companies": {"results": [
            {"id": draw(st.one_of(odd_ids(), json_values(2))), "type": "contact_to_company"}
            for _ in range(draw(st.integers(0, 2)))]}}
    if draw(st.booleans()):
        obj["createdAt"] = draw(timestamps())
    for key in draw(st.lists(odd_text(max_size=8), max_size=2)):
        obj[key] = draw(json_values(3))
    return obj


@st.composite
def hubspot_files(draw: Any) -> bytes:
    objects = draw(st.lists(hubspot_objects(), max_size=4))
    shape = draw(st.sampled_from(["results", "list", "single", "jsonl", "broken", "deep"]))
    if shape == "results":
        text = json.dumps({"status": "COMPLETE", "results": objects}, ensure_ascii=False)
    elif shape == "list":
        text = json.dumps(objects, ensure_ascii=False)
    elif shape == "single":
        text = json.dumps(objects[0] if objects else {}, ensure_ascii=False)
    elif shape == "jsonl":
        text = "\n".join(json.dumps(o, ensure_ascii=False) for o in objects)
    elif shape == "deep":
        text = '{"results": [' + nested(draw(st.integers(50, 2_000))) + "]}"
    else:
        full = json.dumps({"results": objects}, ensure_ascii=False)
        text = full[:draw(st.integers(0, len(full)))]
    return text.encode("utf-8", "surrogatepass")


@fuzz_settings()
@given(content=hubspot_files(), strict=st.booleans(),
       obj=st.sampled_from([None, "contacts", "companies"]), tz=st.none() | zones())
def test_hubspot(fuzz_store: str, fuzz_folder: Path, content: bytes, strict: bool,
                 obj: str | None, tz: str | None) -> None:
    options = ["--format", "hubspot"] + (["--object", obj] if obj else []) + (
        ["--assume-tz", tz] if tz is not None else [])
    import_and_check(fuzz_store, fuzz_folder, "hubspot.json", content, options, strict)


# ---- Salesforce ------------------------------------------------------------------------------

HISTORY = ["Id", "IsDeleted", "LeadId", "CreatedById", "CreatedDate", "Field", "DataType",
           "OldValue", "NewValue"]


@st.composite
def salesforce_files(draw: Any) -> bytes:
    kind = draw(st.sampled_from(["lead", "contact", "account", "contacts", "odd"]))
    if kind == "contacts":
        header = ["Id", "AccountId", "CreatedDate", "LastName"]
    elif kind == "odd":
        header = draw(st.lists(odd_text(max_size=12), min_size=1, max_size=6))
    else:
        parent = {"lead": "LeadId", "contact": "ContactId", "account": "AccountId"}[kind]
        header = [parent if h == "LeadId" else h for h in HISTORY]
    if draw(st.booleans()):
        header = [h.upper() for h in header]

    def cell(name: str) -> str:
        lower = name.lower()
        if lower == "isdeleted":
            return draw(st.sampled_from(["false", "true", "TRUE", "", "maybe"])
                        | odd_text(max_size=5))
        if lower == "createddate":
            return draw(timestamps() | st.sampled_from(["2024-01-08T15:02:16.000+0000"]))
        if lower == "field":
            return draw(st.sampled_from(["Status", "created", "leadConverted", "Owner"])
                        | odd_text(max_size=12))
        return draw(cell_values())

    rows = [[cell(h) for h in header] for _ in range(draw(st.integers(0, 8)))]
    if rows and draw(st.booleans()):
        rows[0] = rows[0][:-1]  # a short row
    return csv_text(header, rows).encode("utf-8", "surrogatepass")


@fuzz_settings()
@given(content=salesforce_files(), strict=st.booleans(), tz=st.none() | zones())
def test_salesforce(fuzz_store: str, fuzz_folder: Path, content: bytes, strict: bool,
                    tz: str | None) -> None:
    options = ["--format", "salesforce"] + (["--assume-tz", tz] if tz is not None else [])
    import_and_check(fuzz_store, fuzz_folder, "History.csv", content, options, strict)


# ---- strict imports of files with one bad row -------------------------------------------------

@fuzz_settings(0.5)
@given(facts=st.lists(valid_facts(st.sampled_from(["s1", "s2"])), min_size=1, max_size=30),
       bad=fact_like(), where=st.integers(min_value=0))
def test_strict_import_with_a_bad_row_stores_nothing(
        fuzz_store: str, fuzz_folder: Path, facts: list[dict], bad: dict, where: int) -> None:
    lines = [json.dumps(f) for f in facts]
    lines.insert(where % (len(lines) + 1), json.dumps(bad, ensure_ascii=False))
    result = import_and_check(fuzz_store, fuzz_folder, "strict.jsonl",
                              ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"), [],
                              strict=True)
    assert result.exit_code in (0, 1), result.output


def test_a_conflicting_source_id_late_in_a_strict_file_stores_nothing(
        fuzz_store: str, fuzz_folder: Path) -> None:
    """Rejected at append time (same source + source_id, other content), after batches of
    good rows were already written in the transaction: all of it is rolled back."""
    good = [{"type": "status_changed", "person_id": f"strict-{i}", "value": "lead",
             "occurred_at": "2024-01-01T00:00:00Z"} for i in range(4_500)]
    first = {"type": "status_changed", "person_id": "strict-x", "value": "lead",
             "occurred_at": "2024-01-01T00:00:00Z", "source": "s", "source_id": "1"}
    other = {**first, "value": "customer"}
    lines = [json.dumps(f) for f in [first, *good, other]]
    result = import_and_check(fuzz_store, fuzz_folder, "conflict.jsonl",
                              ("\n".join(lines) + "\n").encode(), [], strict=True)
    assert result.exit_code == 1, result.output
    assert "nothing was stored" in result.output


# ---- local times (--assume-tz) ---------------------------------------------------------------

DST_ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Apia",
             "America/Santiago", "Asia/Tehran", "Europe/London"]


def _changes(zone: str, year: int) -> list[tuple[datetime, int]]:
    """When the zone's offset changed in `year`: (the local time just before, the change in
    minutes), to the minute."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    while moment.year == year:
        following = moment + timedelta(days=1)
        if moment.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            low, high = moment, following
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if middle.astimezone(tz).utcoffset() == moment.astimezone(tz).utcoffset():
                    low = middle
                else:
                    high = middle
            before, after = low.astimezone(tz).utcoffset(), high.astimezone(tz).utcoffset()
            assert before is not None and after is not None
            found.append(((high + before).replace(tzinfo=None),
                          int((after - before).total_seconds() // 60)))
        moment = following
    return found


@st.composite
def local_times(draw: Any) -> tuple[str, datetime]:
    """A zone and a wall-clock time in it: anywhere, or within two hours of a change of
    offset (where gaps and repeated hours are)."""
    from datetime import timedelta

    zone = draw(st.sampled_from(DST_ZONES))
    year = draw(st.integers(1990, 2030))
    changes = _changes(zone, year)
    if changes and draw(st.booleans()):
        start, _ = draw(st.sampled_from(changes))
        return zone, start + timedelta(minutes=draw(st.integers(-120, 120)))
    day = draw(st.dates(min_value=date(year, 1, 1), max_value=date(year, 12, 31)))
    minute = draw(st.integers(0, 24 * 60 - 1))
    return zone, datetime(day.year, day.month, day.day, minute // 60, minute % 60)


@fuzz_settings()
@given(local=local_times())
def test_local_times_exist_or_are_rejected_naming_the_gap(fuzz_store: str, fuzz_folder: Path,
                                                          local: tuple[str, datetime]) -> None:
    """A wall-clock time with --assume-tz is stored as the instant it names there, or, if
    the clocks skipped it, rejected with the gap; never silently moved."""
    from zoneinfo import ZoneInfo

    zone, wall = local
    text = f"type,person_id,value,occurred_at\nstatus_changed,tz-{zone},lead,{wall.isoformat()}\n"
    result = import_and_check(fuzz_store, fuzz_folder, "local.csv", text.encode(),
                              ["--assume-tz", zone], strict=False)
    back = wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC).astimezone(ZoneInfo(zone))
    if back.replace(tzinfo=None) == wall:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 3, result.output
        assert f"{wall.isoformat()} does not exist in {zone}: the clocks went from " in \
            result.output


# ---- what the reports make of hostile facts --------------------------------------------------

#: Instants at the calendar's ends (issue 19, point 4: a fact at 9999-12-31 broke
#: `report timeline` and `report html`), and ordinary ones.
EDGE_INSTANTS = ["9999-12-31T00:00:00Z", "9999-12-31T23:59:59.999999Z", "9999-12-30T12:00:00Z",
                 "0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z", "2024-03-10T07:30:00Z",
                 "2024-06-01T00:00:00Z"]
ESCAPES = ["a\x1b[31mred", "\x1b]0;owned\x07", "x\x1b[2J", "\u202eevil", "\x9b31m", "c\rd"]


@st.composite
def hostile_facts(draw: Any) -> dict[str, Any]:
    """A valid fact whose ids carry terminal escapes (or other odd text), at an instant at
    the calendar's ends, and perhaps a huge actor."""
    ids = st.one_of(st.sampled_from(ESCAPES), odd_ids())
    fact = valid_fact(draw, ids)
    fact["occurred_at"] = draw(st.sampled_from(EDGE_INSTANTS))
    if draw(st.integers(0, 4)) == 0:
        fact["actor"] = draw(st.sampled_from(ESCAPES)) * draw(st.integers(1, 2000))
    return fact


REPORTS = [["report", "stages", "--as-of", "9999-12-31T23:59:59Z"],
           ["report", "stages", "--as-of", "9999-12-31T23:59:59Z", "--level", "account"],
           ["report", "stamps"], ["report", "moves"], ["report", "funnel"],
           ["report", "timeline"], ["report", "timeline", "--every", "week"],
           ["report", "aging", "--as-of", "9999-12-31T23:59:59Z"],
           ["report", "velocity"], ["report", "sla", "--as-of", "9999-12-31T23:59:59Z"],
           ["report", "signals"], ["report", "flags", "--as-of", "9999-12-31T23:59:59Z"],
           ["report", "html", "-o", "report.html"]]


@fuzz_settings(0.4)
@given(facts=st.lists(hostile_facts(), min_size=1, max_size=5))
def test_reports_on_hostile_facts(fuzz_store: str, fuzz_folder: Path,
                                  facts: list[dict[str, Any]]) -> None:
    """Facts with escape codes in their ids and values, at 0001-01-01 and 9999-12-31: the
    import stores them, and every report (tables, so what a person sees) ends cleanly and
    prints no control character raw (`invoke` checks both); audits find the subjects."""
    content = "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in facts).encode()
    result = import_and_check(fuzz_store, fuzz_folder, "hostile.jsonl", content, [], False)
    assert result.exit_code in (0, 3), result.output  # (a source_id may hold a NUL)
    for args in REPORTS:
        invoke(["--db", fuzz_store, *args])
    for fact in facts[:2] if result.exit_code == 0 else []:
        kind = "person" if "person_id" in fact else "account"
        audit = invoke(["--db", fuzz_store, "audit", kind, "--", fact[f"{kind}_id"]])
        assert audit.exit_code == 0, audit.output
