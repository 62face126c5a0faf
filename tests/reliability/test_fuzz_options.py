"""Every command's options and arguments get random and adversarial values.

The commands are found by walking the click app, so a command added later is fuzzed
too. Each example runs one command with a random subset of its options, each given a
value of its kind (valid, out of range, wrong type, odd text, invalid zones, dates out of
range, paths that are missing, directories or random bytes) on a small SQLite store.
The program must end cleanly (exit 0-3, `Error:` on failure, no traceback), and after all
the examples `lifecycle verify` still passes: whatever was accepted left a correct store.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli import main
from lifecycle.console import options

from .conftest import demo_lines, load
from .harness import alt_definitions_yaml
from .strategies import fuzz_settings, invoke, odd_ids, odd_text, timestamps, zones

#: Not fuzzed: `demo` imports and reports a whole sample in a throwaway store (slow, and
#: it takes no store); `--help` is click's own.
SKIPPED = {("demo",)}
FILE_PARAMS = {"file", "definitions_file", "rejects", "output", "keep"}


def commands() -> list[tuple[tuple[str, ...], click.Command]]:
    found = []

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(command, click.Group):
            for name, sub in sorted(command.commands.items()):
                walk(sub, (*path, name))
        elif path not in SKIPPED:
            found.append((path, command))

    walk(main, ())
    return found


COMMANDS = commands()


@pytest.fixture(scope="module")
def options_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("options")
    # The demo's facts, and hostile ones every command then meets: escape codes in ids and
    # values, instants at the calendar's ends (issue 19, points 4 and 8).
    hostile = [{"type": "status_changed", "person_id": "a\x1b[31mred", "value": "lead",
                "occurred_at": "9999-12-31T00:00:00Z", "actor": "\x1b]0;owned\x07"},
               {"type": "person_linked", "person_id": "a\x1b[31mred",
                "account_id": "\u202eevil", "occurred_at": "0001-01-01T00:00:00Z"},
               {"type": "status_changed", "account_id": "\u202eevil", "value": "customer",
                "occurred_at": "9999-12-31T23:59:59.999999Z"}]
    url = load(f"sqlite:///{folder / 'options.db'}", folder,
               demo_lines() + [json.dumps(f) for f in hostile])
    for kind, subject, count in (("person", "a\x1b[31mred", 2), ("account", "\u202eevil", 1)):
        audit = invoke(["--db", url, "audit", "--format", "json", kind, "--", subject])
        assert len(json.loads(audit.stdout)["facts"]) == count, audit.output  # all stored
    (folder / "random.bin").write_bytes(bytes(range(256)) * 4)
    (folder / "facts.jsonl").write_text(
        '{"type": "status_changed", "person_id": "opt-1", "value": "lead", '
        '"occurred_at": "2024-05-01T00:00:00Z"}\n', "utf-8")
    (folder / "alt.yaml").write_text(alt_definitions_yaml(), "utf-8")
    (folder / "evil.yaml").write_text(
        "version: !!python/object/apply:os.system ['echo pwned > pwned.txt']\nstages: []\n",
        "utf-8")
    (folder / "dir").mkdir()
    return url, folder


def files(folder: Path) -> st.SearchStrategy[str]:
    names = ["random.bin", "facts.jsonl", "alt.yaml", "evil.yaml", "dir", "missing.txt"]
    return st.one_of(
        st.sampled_from([str(folder / n) for n in names] + ["-", "", ".", "b2b-2024"]),
        odd_text(min_size=1, max_size=20).filter(lambda s: not s.startswith(("/", "~"))),
    )


def numbers() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True).map(str),
        st.sampled_from(["0", "-1", "1e309", "-inf", "nan", "99999999999999999999", "0x10",
                         "1_000", " 3 ", "³"]),
        odd_text(max_size=8))


def value_for(param: click.Parameter, folder: Path, event_ids: list[str]
              ) -> st.SearchStrategy[str]:
    kind = param.type
    if param.name in FILE_PARAMS or isinstance(kind, click.Path | click.File):
        return files(folder)
    if isinstance(kind, click.Choice):
        return st.one_of(st.sampled_from([str(c) for c in kind.choices]), odd_text(max_size=12))
    if isinstance(kind, options.Instant) or param.name in ("occurred_at",):
        return timestamps()
    if param.name == "assume_tz":
        return zones()
    if isinstance(kind, click.types.IntParamType | click.types.FloatParamType):
        return numbers()
    if isinstance(kind, click.types.UUIDParameterType):
        return st.one_of(st.sampled_from(event_ids), st.uuids().map(str), odd_text(max_size=40))
    if isinstance(kind, options.PartitionType):
        return st.one_of(st.sampled_from(["0/2", "1/2", "2/2", "-1/2", "0/0", "1/1", "0/3",
                                          "a/b", "0/2/3", "1e9/2"]), odd_text(max_size=6))
    if param.name in ("person_id", "account_id", "subject_id"):
        return st.one_of(odd_ids(), st.sampled_from(["p1", "opt-1"]))
    if param.name in ("value", "stage", "entry_stage", "from_stage", "to_stage"):
        return st.one_of(st.sampled_from(["lead", "customer", "mql", "sql", "verified"]),
                         odd_text(max_size=20))
    if param.name in ("definitions_version", "before_definitions", "after_definitions"):
        return st.one_of(st.sampled_from(["b2b-2024", "b2b-crash-alt"]), odd_text(max_size=20))
    return odd_text(max_size=30)


@st.composite
def command_lines(draw: Any, folder: Path, event_ids: list[str]) -> list[str]:
    path, command = draw(st.sampled_from(COMMANDS))
    options: list[str] = []
    positional: list[str] = []
    for param in command.params:
        if isinstance(param, click.Argument):
            if draw(st.integers(0, 9)):  # now and then, a missing argument
                positional.append(draw(value_for(param, folder, event_ids)))
            continue
        assert isinstance(param, click.Option)
        if param.is_flag:
            if draw(st.booleans()):
                options.append(param.opts[0])
            continue
        if not (param.required or draw(st.booleans())):
            continue
        for _ in range(draw(st.integers(1, 2)) if param.multiple else 1):
            options += [param.opts[-1], draw(value_for(param, folder, event_ids))]
    if path == ("project",) and "--follow" in options:
        options += ["--max-seconds", "0.3"]  # a bounded follow
    args = [*path, *options, "--", *positional] if positional else [*path, *options]
    return [arg.replace("\x00", "") for arg in args]  # an argv cannot carry NUL


def test_every_command_with_random_options(options_store: tuple[str, Path]) -> None:
    url, folder = options_store
    from lifecycle.application.ledger import Ledger

    with Ledger(url) as ledger:
        event_ids = [str(f.event_id) for _, facts in ledger.iter_subjects() for f in facts][:5]

    @fuzz_settings(6)
    @given(args=command_lines(folder, event_ids))
    def one(args: list[str]) -> None:
        invoke(["--db", url, *args])

    one()
    assert not (folder / "pwned.txt").exists() and not Path("pwned.txt").exists()
    result = invoke(["--db", url, "verify"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args", [
    ["project", "--follow", "--interval", "-1", "--max-seconds", "0.2"],
    ["project", "--follow", "--interval", "nan", "--max-seconds", "0.2"],
    ["project", "--follow", "--interval", "0", "--max-seconds", "-5"],
    ["project", "--follow", "--interval", "1e300", "--max-seconds", "0.2"],
    ["project", "--follow", "--interval", "3600", "--max-seconds", "0.2"],  # returns soon
    ["backfill", "--examples", "-3", "--dry-run", "b2b-2024"],
    ["report", "stages", "--as-of", "9999-12-31T23:59:59-23:59"],
    ["report", "stages", "--as-of", "0001-01-01T00:00:00+01:00"],
    ["report", "moves", "--since", "9999-12-31", "--until", "0001-01-01"],
    ["record", "status_changed", "--person", "p", "--value", "lead", "--at",
     "2024-01-01T00:00:00", "--assume-tz", "../../etc/passwd"],
    ["record", "status_changed", "--person", "p", "--value", "lead", "--at",
     "2024-01-01T00:00:00", "--assume-tz", "Europe/Berlin\x00"],
    ["record", "status_changed", "--person", "p", "--value", "lead", "--at",
     "0001-01-01T00:00:00", "--assume-tz", "Asia/Tokyo"],
    ["import", "--assume-tz", "A" * 5000, "-"],
    ["retract", "not-a-uuid"],
    ["retract", "00000000-0000-0000-0000-000000000000"],
    ["audit", "person", "--", "'; DROP TABLE stored_events; --"],
])
def test_edge_options(options_store: tuple[str, Path], args: list[str]) -> None:
    url, _ = options_store
    began = time.monotonic()
    invoke(["--db", url, *args])
    assert time.monotonic() - began < 30, "--max-seconds bounds a follow, sleeps included"
    assert invoke(["--db", url, "verify"]).exit_code == 0
