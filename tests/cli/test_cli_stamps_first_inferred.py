"""`report stamps` as a table says when a stage was first reached by inference (skipped on
the way up) and really reached later, instead of `false`, which reads as a real first reach;
CSV and JSON keep the SPEC's `inferred` (false: the stamp has real reaches)."""

from __future__ import annotations

import json

from cli_support import Run, status, write_jsonl

JOURNEY = [
    status("p1", "subscriber", "2024-01-01T00:00:00Z"),              # new
    status("p1", "marketingqualifiedlead", "2024-01-02T00:00:00Z"),  # mql, verified inferred
    status("p1", "lead", "2024-01-05T00:00:00Z"),                    # verified, really
    status("p2", "marketingqualifiedlead", "2024-01-03T00:00:00Z"),  # entry: new, verified inferred
]
TABLE = """\

  subject_type   subject_id   stage      first_reached_at       last_reached_at        times_reached   inferred
 ───────────────────────────────────────────────────────────────────────────────────────────────────────────────
  person         p1           new        2024-01-01T00:00:00Z   2024-01-01T00:00:00Z               1   false
  person         p1           verified   2024-01-02T00:00:00Z   2024-01-05T00:00:00Z               1   at first
  person         p1           mql        2024-01-02T00:00:00Z   2024-01-02T00:00:00Z               1   false
  person         p2           new        2024-01-03T00:00:00Z                                      0   true
  person         p2           verified   2024-01-03T00:00:00Z                                      0   true
  person         p2           mql        2024-01-03T00:00:00Z   2024-01-03T00:00:00Z               1   false

inferred at first: the stage was skipped on the way up (first_reached_at is that inferred time) and really reached later (last_reached_at, times_reached).
"""  # noqa: E501


def test_table_says_at_first(run: Run, db: str) -> None:
    write_jsonl("journey.jsonl", *JOURNEY)
    assert run("--db", db, "import", "journey.jsonl").exit_code == 0
    table = run("--db", db, "report", "stamps")
    assert table.exit_code == 0
    assert [line.rstrip() for line in table.stdout.splitlines()] == TABLE.splitlines()
    as_csv = run("--db", db, "report", "stamps", "--format", "csv")
    assert as_csv.stdout.splitlines()[2] == ("person,p1,verified,2024-01-02T00:00:00Z,"
                                             "2024-01-05T00:00:00Z,1,false")
    as_json = json.loads(run("--db", db, "report", "stamps", "--format", "json").stdout)
    assert as_json[1]["inferred"] is False
    replayed = run("--db", db, "report", "stamps", "--known-at", "now")
    assert [line.rstrip() for line in replayed.stdout.splitlines()] == TABLE.splitlines()


def test_no_caption_without_such_stamps(run: Run, db: str) -> None:
    write_jsonl("journey.jsonl", *JOURNEY[3:])
    run("--db", db, "import", "journey.jsonl")
    table = run("--db", db, "report", "stamps")
    assert "at first" not in table.stdout
    assert table.stdout.splitlines()[-1].strip() == ""
