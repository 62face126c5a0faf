"""No way in: secrets stay out of output, YAML is loaded safely, input is never evaluated.

- A password in the `--db` URL (or LIFECYCLE_DB) never appears in anything the program
  prints: connection failures, bad URLs, usage errors, help, normal output.
- Definitions YAML is read with a safe loader: `!!python/...` tags are a clear error and
  run nothing.
- Text from files and options (SQL, shell, template and Python snippets, rich markup) is
  stored and printed as text, never run, expanded or interpreted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from .conftest import load
from .harness import ROOT
from .strategies import SQLISH, fuzz_settings, invoke

SECRET = "s3cret"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if k != "LIFECYCLE_DB"} | (env or {})
    return subprocess.run([sys.executable, "-c", "from cli import main; main()", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=full_env, check=False)


@pytest.mark.parametrize("url", [
    f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/x",           # nothing listens there
    f"postgresql://u:{SECRET}@127.0.0.1:1/x",
    f"postgresql+psycopg://u:{SECRET}@no-such-host.invalid/x",
    f"postgresql+psycopg://u@127.0.0.1:1/x?password={SECRET}",   # libpq's query form
    f"postgresql://u@127.0.0.1:1/x?sslmode=disable&PassWord={SECRET}",
    f"mysql://u:{SECRET}@127.0.0.1/x",                          # unsupported database
    f"postgresql+psycopg://u:{SECRET}@[::1/x",                  # unreadable URL
    f"u:{SECRET}@127.0.0.1/x",                                  # not a URL at all
    f"sqlite:///{SECRET}/nowhere/x.db",                          # a path, no password:
])
def test_a_failing_store_url_never_shows_its_password(url: str) -> None:
    for args in (["verify"], ["report", "stages", "--as-of", "now"],
                 ["init", "--definitions", "b2b-2024"]):
        done = _run("--db", url, *args)
        output = done.stdout + done.stderr
        assert done.returncode == 1, output
        assert "Traceback" not in output, output
        assert output.startswith("Error: ") or "\nError: " in output, output
        if not url.startswith("sqlite"):
            assert SECRET not in output, output


def test_password_from_the_environment_stays_hidden() -> None:
    env = {"LIFECYCLE_DB": f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/x"}
    for args in (["verify"], ["--help"], ["report", "--help"], ["report", "stages"]):
        done = _run(*args, env=env)
        assert SECRET not in done.stdout + done.stderr
        assert "Traceback" not in done.stderr


def test_a_working_url_with_a_password_is_shown_redacted(pg_url: str, tmp_path: Path) -> None:
    """The test server trusts local connections, so a password is accepted and ignored;
    every message that names the store shows it as ***."""
    url = make_url(pg_url).set(password=SECRET).render_as_string(hide_password=False)
    url = f"{url}?password={SECRET}"  # and in the query, as libpq also takes it
    facts = tmp_path / "f.jsonl"
    facts.write_text(json.dumps({"type": "status_changed", "person_id": "p", "value": "lead",
                                 "occurred_at": "2024-01-01T00:00:00Z"}) + "\n{bad\n", "utf-8")
    outputs = []
    for args in (["init", "--definitions", "b2b-2024"], ["init", "--definitions", "b2b-2024"],
                 ["import", str(facts)], ["import", str(tmp_path / "missing.jsonl")],
                 ["backfill", "--dry-run", "b2b-2024"], ["definitions", "log"],
                 ["report", "stages", "--as-of", "now", "--definitions", "nope"],
                 ["verify"], ["audit", "person", "nobody"]):
        result = invoke(["--db", url, *args])
        outputs.append(result.output)
    text = "\n".join(outputs)
    assert SECRET not in text
    assert "***" in text  # `init` names the store it published to


@fuzz_settings(0.4)
@given(password=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                        min_size=1, max_size=20).map(lambda s: f"Pw-{s}-9z"))
def test_any_password_is_hidden_from_errors(password: str) -> None:
    from urllib.parse import quote

    for url in (f"postgresql+psycopg://u:{quote(password, safe='')}@127.0.0.1:1/x",
                f"postgresql+psycopg://u:{password}@127.0.0.1:1/x",
                f"mysql://u:{quote(password, safe='')}@h/x",
                # libpq's query form (issue 19, point 6), alone and among other parameters
                f"postgresql+psycopg://u@127.0.0.1:1/x?password={quote(password, safe='')}",
                f"postgresql://u@127.0.0.1:1/x?sslmode=disable&password="
                f"{quote(password, safe='')}&application_name=x"):
        result = invoke(["--db", url, "verify"])
        assert result.exit_code == 1
        assert password not in result.output and quote(password, safe="") not in result.output


# ---- YAML ----------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [
    "!!python/object/apply:os.system ['touch pwned']",
    "!!python/object/apply:subprocess.check_output [['touch', 'pwned']]",
    "!!python/object/new:os.system ['touch pwned']",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:pathlib.Path {}",
])
@pytest.mark.parametrize("command", [["definitions", "validate"], ["init", "--definitions"],
                                     ["backfill"], ["backfill", "--dry-run"]])
def test_yaml_python_tags_are_a_clear_error(sqlite_url: str, tmp_path: Path, payload: str,
                                            command: list[str]) -> None:
    load(sqlite_url, tmp_path, lines=[])
    path = tmp_path / "evil.yaml"
    path.write_text(f"version: {payload}\nstages:\n  - {{key: a, kind: path, rank: 1}}\n",
                    "utf-8")
    result = invoke(["--db", sqlite_url, *command, str(path)])
    assert result.exit_code == 1, result.output
    assert "Error:" in result.output and "not valid YAML" in result.output, result.output
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


# ---- input is data, never code ---------------------------------------------------------------

PAYLOADS = list(dict.fromkeys([
    *SQLISH, "$(touch pwned)", "`touch pwned`", "${HOME}", "%(HOME)s", "{0.__class__}",
    "{{ 7*7 }}", "#{7*7}", "__import__('os').system('touch pwned')",
    "[bold red]markup[/bold red]", "[link=file:///etc/passwd]x[/link]", "\x1b[31mred",
    "=cmd|' /C calc'!A0", "@SUM(1+1)", "eval('1+1')"]))


def test_payloads_are_stored_and_printed_as_text(store_url: str, tmp_path: Path) -> None:
    load(store_url, tmp_path, lines=[])
    facts = [{"type": "status_changed", "person_id": payload, "value": "lead",
              "occurred_at": "2024-01-01T00:00:00Z", "actor": payload, "campaign": payload,
              "source": "x", "source_id": payload} for payload in PAYLOADS]
    path = tmp_path / "payloads.jsonl"
    path.write_text("".join(json.dumps(f) + "\n" for f in facts), "utf-8")
    result = invoke(["--db", store_url, "import", str(path)])
    assert result.exit_code == 0, result.output
    assert f"stored {len(PAYLOADS)}," in result.output

    stamps = json.loads(invoke(["--db", store_url, "report", "stamps", "--snapshot",
                                "--format", "json"]).stdout)
    by_id = {row["subject_id"]: row for row in stamps}
    for payload in PAYLOADS:
        assert by_id[payload]["actor"] == payload
        assert by_id[payload]["campaign"] == payload
        table = invoke(["--db", store_url, "audit", "person", "--", payload]).stdout
        if "\x1b" not in payload:
            assert payload.split("\n")[0] in table, (payload, table)
    assert not Path("pwned").exists() and not (tmp_path / "pwned").exists()
    assert invoke(["--db", store_url, "verify"]).exit_code == 0  # every table still there


def test_columns_constants_are_not_evaluated(sqlite_url: str, tmp_path: Path) -> None:
    load(sqlite_url, tmp_path, lines=[])
    path = tmp_path / "export.csv"
    path.write_text("Lead Id,Changed On,New Status\nL1,2024-01-01T00:00:00Z,lead\n", "utf-8")
    result = invoke(["--db", sqlite_url, "import", str(path), "--format", "csv",
                     "--columns", "person_id=Lead Id,occurred_at=Changed On,value=New Status",
                     "--columns", "type=status_changed,actor=$(touch pwned),campaign={{7*7}}"])
    assert result.exit_code == 0, result.output
    audit = json.loads(invoke(["--db", sqlite_url, "audit", "--format", "json", "person",
                               "L1"]).stdout)
    assert audit["facts"][0]["actor"] == "$(touch pwned)"
    assert audit["facts"][0]["campaign"] == "{{7*7}}"
    assert not Path("pwned").exists()
