"""Replays in partitions (issue 17): a rebuild cut into partitions of linked subjects and
derived by worker processes writes exactly the rows of one process replaying the whole log
(on SQLite and PostgreSQL, with opportunities, contact-role cascades and merges in the
data); a killed parallel build leaves the old views serving and a re-run completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.application.importing import import_rows
from lifecycle.application.ledger import Ledger
from lifecycle.application.verify import verify
from lifecycle.domain.definitions import load_definitions
from lifecycle.domain.facts import ACCOUNT, OPPORTUNITY, PERSON, Subject
from lifecycle.domain.starters import DATA
from lifecycle.importers.canonical import read_jsonl
from lifecycle.store.base import Link
from projections import partitions, rebuild
from projections.queries.stages import table_rows

ROOT = Path(__file__).resolve().parents[2]
DEMO = DATA / "demo_facts.jsonl"
NEW = ('version: "b2b-2024"', 'version: "b2b-2025"')


def _loaded(url: str, definitions_yaml: str, workers: int = 1) -> Ledger:
    ledger = Ledger(url, workers=workers)
    ledger.publish(load_definitions(definitions_yaml))
    import_rows(ledger, lambda: read_jsonl(DEMO.open("rb")))
    return ledger


def _views(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    with ledger.engine.connect() as conn:
        return table_rows(conn)


def _spied(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The partition sizes of each spilled replay, as they happen."""
    seen: list[list[int]] = []

    def spill(*args: Any, **kwargs: Any) -> partitions.Spill:
        spilled = partitions.spill(*args, **kwargs)
        seen.append(list(spilled.sizes))
        return spilled

    monkeypatch.setattr(rebuild, "spill", spill)
    return seen


def test_the_demo_data_links_subjects_every_way(sqlite_url: str, definitions_yaml: str
                                               ) -> None:
    """What the equality tests below rely on: merges, roles and opportunities present."""
    with _loaded(sqlite_url, definitions_yaml) as ledger:
        kinds = {link.fact_type for link in ledger.log.recorder.all_links(
            list(partitions.JOINS))}
        views = _views(ledger)
        definitions = ledger.active_definitions().definitions
    assert kinds == set(partitions.JOINS)
    assert definitions.opportunity_cascade == "contact_roles"
    assert {row[0] for row in views["lc_current"]} == {PERSON, ACCOUNT, OPPORTUNITY}


@pytest.mark.parametrize("workers", [2, 1])
def test_a_partitioned_rebuild_equals_a_single_process_one(
        store_url: str, definitions_yaml: str, monkeypatch: pytest.MonkeyPatch,
        workers: int) -> None:
    with _loaded(store_url, definitions_yaml) as ledger:
        ledger.rebuild()  # 2,159 facts: one partition, in this process
        single = _views(ledger)
        stored = ledger.log.recorder.count_events() - 1  # less the definitions
        seen = _spied(monkeypatch)
        monkeypatch.setattr(partitions, "PARTITION_EVENTS", 200)
        ledger.workers = workers
        ledger.rebuild()
        parted = _views(ledger)
        report = verify(ledger)
    assert len(seen) == 2 and len(seen[0]) >= 10  # the rebuild, then verify's fresh replay
    assert sum(seen[0]) == stored  # every fact, each in one partition
    assert all(size > 0 for size in seen[0])
    assert sum(len(rows) for rows in single.values()) > 2_000
    for table, rows in single.items():
        assert parted[table] == rows, table
    assert report.ok, report.problems


def test_a_parallel_backfill_and_known_at_replay_equal_one_process(
        store_url: str, definitions_yaml: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The backfill's rebuild and a scratch replay (a temporary file the workers write)
    partitioned, against the same in one process."""
    from lifecycle.application.backfill import backfill

    new = load_definitions(definitions_yaml.replace(*NEW)
                           .replace("salesqualifiedlead: sql", "salesqualifiedlead: sal"))
    with _loaded(store_url, definitions_yaml) as ledger:
        single_scratch = ledger.scratch(new)
        with single_scratch.connect() as conn:
            expected = table_rows(conn)
        single_scratch.dispose()
        seen = _spied(monkeypatch)
        monkeypatch.setattr(partitions, "PARTITION_EVENTS", 300)
        ledger.workers = 2
        scratch = ledger.scratch(new)
        with scratch.connect() as conn:
            replayed = table_rows(conn)
        assert scratch.url.database and not Path(scratch.url.database).exists()
        scratch.dispose()
        backfill(ledger, new)
        backfilled = _views(ledger)
        assert ledger.views_version() == "b2b-2025"
    assert len(seen) == 2 and all(len(sizes) >= 7 for sizes in seen)
    assert replayed == expected
    assert backfilled == expected


# ---- the groups a partition keeps whole ------------------------------------------------------

class _Links:
    """A recorder that only knows links (what `partition_of_streams` asks for)."""

    def __init__(self, links: list[Link]):
        self.links = links

    def all_links(self, fact_types: list[str]) -> list[Link]:
        return [link for link in self.links if link.fact_type in fact_types]


_IDS = st.sampled_from(["a", "b", "c", "d", "e", "f", "g"])
_LINK = st.one_of(
    st.builds(lambda p, a: Link("person_linked", PERSON, p, a), _IDS, _IDS),
    st.builds(lambda o, a: Link("opportunity_linked", OPPORTUNITY, o, a), _IDS, _IDS),
    st.builds(lambda o, p: Link("contact_role", OPPORTUNITY, o, p), _IDS, _IDS),
    st.builds(lambda k, s, a: Link("merged", k, s, a),
              st.sampled_from([PERSON, ACCOUNT, OPPORTUNITY]), _IDS, _IDS))


@given(st.lists(_LINK, max_size=30), st.integers(1, 9))
@settings(max_examples=200, deadline=None)
def test_linked_subjects_always_share_a_partition(links: list[Link], count: int) -> None:
    joined = partitions.partition_of_streams(_Links(links), count)  # type: ignore[arg-type]

    def where(kind: str, subject_id: str) -> int:
        stream = Subject(kind, subject_id).stream_id.int
        return partitions.stream_partition(stream, joined, count)

    for link in links:
        other = partitions.JOINS[link.fact_type] or link.subject_type
        assert where(link.subject_type, link.subject_id) == where(other, link.linked_id)
        assert 0 <= where(link.subject_type, link.subject_id) < count


# ---- killed mid-way --------------------------------------------------------------------------

BACKFILL = textwrap.dedent("""
    import sys
    from projections import partitions
    partitions.PARTITION_EVENTS = 150
    from lifecycle.application.backfill import backfill
    from lifecycle.application.ledger import Ledger
    from lifecycle.domain.definitions import load_definitions

    class Say:
        def phase(self, name, total=None, unit="facts"):
            print(name, flush=True)
        def advance(self, done=1, facts=None):
            pass

    url, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as file:
        new = load_definitions(file.read())
    with Ledger(url, workers=2, progress=Say()) as ledger:
        backfill(ledger, new)
    print("done", flush=True)
""")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat[1]) == pid and b"spawn_main" in cmdline:
                found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the workers through /proc")
def test_a_killed_parallel_backfill_leaves_the_old_views_serving_and_a_rerun_completes(
        store_url: str, definitions_yaml: str, tmp_path: Path) -> None:
    new_yaml = tmp_path / "b2b-2025.yaml"
    new_yaml.write_text(definitions_yaml.replace(*NEW)
                        .replace("min_fit: medium", "min_fit: high"), "utf-8")
    with _loaded(store_url, definitions_yaml) as ledger:
        before = _views(ledger)
    script = [sys.executable, "-c", BACKFILL, store_url, str(new_yaml)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(script, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    phases = []
    for line in process.stdout:  # kill it once its workers derive the partitions
        phases.append(line.strip())
        if line.strip() == "deriving histories":
            break
    workers = []
    for _ in range(100):
        workers = _children(process.pid)
        if len(workers) == 2:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert phases == ["reading the log", "deriving histories"], phases
    assert len(workers) == 2
    deadline = time.monotonic() + 60
    while not all(map(_gone, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(map(_gone, workers)), "the workers outlived their killed build"
    with Ledger(store_url, read_only=True) as reader:
        assert reader.views_version() == "b2b-2024"  # published, not applied: old views
        assert reader.active_definitions().definitions.version == "b2b-2025"
        assert _views(reader) == before
    rerun = subprocess.run(script, cwd=ROOT, capture_output=True, text=True, env=env,
                           timeout=600, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.splitlines()[-1] == "done"
    with Ledger(store_url, workers=1) as ledger:
        assert ledger.views_version() == "b2b-2025"
        after = _views(ledger)
        report = verify(ledger)  # every row against a fresh replay in one process
        with ledger.engine.connect() as conn:
            shadows = [n for n in conn.dialect.get_table_names(conn) if n.startswith("lc_next_")]
    assert report.ok, report.problems
    assert after != before
    assert shadows == []
