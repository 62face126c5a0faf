"""The definitions loader on random and adversarial YAML: valid definitions or a
`DefinitionsError` naming what is wrong, never another exception; through the CLI, a
clear `Error:` and exit 1, never a traceback."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from lifecycle.domain.definitions import Definitions, DefinitionsError, load_definitions
from lifecycle.domain.starters import DATA

from .strategies import fuzz_settings, invoke, json_values, odd_text

BASE = yaml.safe_load((DATA / "b2b-2024.yaml").read_text("utf-8"))
SCALARS = ["2024-13-45", "2024-02-30 10:00:00", "!!timestamp x", "!!int 0x", "!!binary @@",
           "!!float x", "!!python/name:os.system", "!!python/object/apply:os.system [id]",
           "*undefined", "&a [*a]", ".nan", ".inf", "-.inf", "0o99", "0x", "1e400", "~", "null",
           "yes", "no", "on", "off", "'", '"', "[", "{", "}", ": :", "- -", "%TAG", "---",
           "...", "@x", "`x`", "|", ">", "!x y", "!!str", "''", '""', "1_0", "+1", "-0"]


def check(text: str) -> Definitions | None:
    try:
        return load_definitions(text)
    except DefinitionsError as exc:
        assert str(exc), "an empty message"
        assert "Traceback" not in str(exc)
        return None


@fuzz_settings(2)
@given(text=st.one_of(st.text(max_size=300), odd_text(max_size=100),
                      st.lists(st.sampled_from(SCALARS + ["\n", "  ", "- ", ": ", "key"]),
                               max_size=20).map("".join)))
def test_random_text(text: str) -> None:
    check(text)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: Any) -> str:
    """The starter document with a few nodes replaced, removed or given odd keys."""
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data)))
        if not path:
            continue
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "remove", "add", "scalar"]))
        if action == "remove":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(odd_text(max_size=12))] = draw(json_values(6))
        elif action == "scalar":
            parent[path[-1]] = draw(st.sampled_from(SCALARS))
        else:
            parent[path[-1]] = draw(st.one_of(json_values(8), odd_text(max_size=30),
                                              st.integers(-10**30, 10**30)))
    text = yaml.safe_dump(data, allow_unicode=draw(st.booleans()), sort_keys=False)
    if draw(st.booleans()):  # some scalars as raw YAML (tags, dates, aliases)
        text = text.replace("'", "") if draw(st.booleans()) else text
    return text


@fuzz_settings(3)
@given(text=mutated())
def test_mutated_starter(text: str) -> None:
    loaded = check(text)
    if loaded is not None:  # what validates also round-trips through its own YAML
        assert load_definitions(loaded.to_yaml()) == loaded


def test_deep_and_odd_documents() -> None:
    for text in ["[" * 100_000, "{a: " * 5_000 + "1" + "}" * 5_000, "- " * 5_000 + "x",
                 "version: 2024-13-45", "version: !!timestamp x", "version: !!int 0x",
                 "version: \"\\0\"\nstages: [{key: \"a\\0\", kind: path, rank: 1}]",
                 "a: &a [" + ", ".join(["x"] * 50) + "]\nb: &b [" + ", ".join(["*a"] * 50)
                 + "]\nc: [" + ", ".join(["*b"] * 50) + "]",
                 "\ufeffversion: v", "version: v\n" * 1000, "\x00", "\x85", "\u2028"]:
        assert check(text) is None, text[:60]


@fuzz_settings()
@given(content=st.one_of(st.binary(max_size=500), mutated().map(str.encode)),
       command=st.sampled_from(["validate", "init", "backfill"]))
def test_cli_on_random_definition_files(tmp_path_factory: Any, content: bytes,
                                        command: str) -> None:
    folder: Path = tmp_path_factory.mktemp("defs")
    path = folder / "definitions.yaml"
    path.write_bytes(content)
    url = f"sqlite:///{folder / 'defs.db'}"
    args = {"validate": ["definitions", "validate", str(path)],
            "init": ["init", "--definitions", str(path)],
            "backfill": ["backfill", "--dry-run", str(path)]}[command]
    invoke(["--db", url, *args])


STARTER_LINES = (DATA / "b2b-2024.yaml").read_text("utf-8").splitlines(keepends=True)
KEYED = [i for i, line in enumerate(STARTER_LINES)
         if ":" in line and not line.lstrip().startswith(("#", "-"))]


@fuzz_settings()
@given(index=st.sampled_from(KEYED), value=st.sampled_from(["x", "mql", "{}", "[]", "1"]))
def test_a_key_given_twice_is_named(index: int, value: str) -> None:
    """Any `key: value` line of the starter repeated below itself (with another value) is a
    duplicate key, named with its line; PyYAML alone would keep the last silently."""
    line = STARTER_LINES[index]
    indent = line[:len(line) - len(line.lstrip())]
    key = line.strip().split(":", 1)[0]
    text = "".join(STARTER_LINES[:index + 1]) + f"{indent}{key}: {value}\n" + "".join(
        STARTER_LINES[index + 1:])
    try:
        load_definitions(text)
    except DefinitionsError as exc:
        assert "duplicate key" in str(exc) or "not valid YAML" in str(exc), str(exc)
        if "duplicate key" in str(exc):
            assert f"at line {index + 2}, column {len(indent) + 1}" in str(exc), str(exc)
    else:
        raise AssertionError(f"line {index + 1} ({key}) given twice was accepted")
