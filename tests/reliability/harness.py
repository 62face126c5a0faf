"""Crash-safety harness: run a `lifecycle` command in a process of its own, SIGKILL it at a
seeded random moment, run it again, and check that the store is what a clean run gives.

Used by `tests/reliability/test_crash.py` (a few runs per command and store, for CI) and by
`bench/crash_harness.py` (the long run). Commands covered:

- ``import FILE``    on a store with definitions only;
- ``project``        on a store whose log is ahead of its projections (facts appended
                     without catch-up), so the catch-up has real work to do;
- ``rebuild``        on a loaded store (the kill lands in the replay or the swap);
- ``rebuild-parallel`` the same with ``--workers 2`` and partitions of 200 events, so the
                     kill lands while the log is spilled, while worker processes derive and
                     write partitions, or in the swap;
- ``backfill FILE``  on a loaded store, with other definitions (publish, then replay).

Each (command, store) starts from a template database prepared once and copied for every
run (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL). After the kill
(sometimes two kills in a row) and the re-run, a run is checked for:

- every expected fact present exactly once (event ids against the input file and against
  a clean, unkilled run), the fact index holding one row per stored event;
- the projections at the end of the log without anybody catching up, equal row for row
  to the clean run's, and ``lifecycle verify`` exiting 0 (hash chains and replay);
- no shadow tables left behind by an interrupted rebuild, no traceback in any output;
- for ``backfill``, readers after every kill: ``report stages`` (``--read-only``, and on
  odd-numbered runs a writable reader, which may catch up) prints, label and numbers
  together, exactly what the old definitions said or what the new ones say (issue 19,
  point 3: never the new label over the old numbers).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ("import", "project", "rebuild", "rebuild-parallel", "backfill")
#: Environment a command runs with besides the tests' own.
COMMAND_ENV = {"rebuild-parallel": {"LIFECYCLE_PARTITION_EVENTS": "200"}}
STORES = ("sqlite", "postgres")
BASE_VERSION = "b2b-2024"
ALT_VERSION = "b2b-crash-alt"
#: Facts per generated person, roughly (lifecycle.sample's journeys).
FACTS_PER_PERSON = 5.9
#: Start-up seconds of the program, per store kind (measured once).
_STARTUP: dict[str, float] = {}


# ---- the stores ----------------------------------------------------------------------------

class Databases:
    """Where a run's databases live: files in a folder, or databases on a PostgreSQL
    server (created from templates, dropped by `close`)."""

    def __init__(self, kind: str, folder: Path, pg_url: str | None = None):
        if kind not in STORES:
            raise ValueError(f"unknown store {kind!r}")
        if kind == "postgres" and not pg_url:
            raise ValueError("a PostgreSQL URL is needed to make PostgreSQL databases")
        self.kind = kind
        self.folder = folder
        self.prefix = f"lc_crash_{os.getpid()}_{uuid.uuid4().hex[:6]}_"
        self.created: list[str] = []
        if pg_url:
            from sqlalchemy.engine import make_url

            parsed = make_url(pg_url)
            self.pg = parsed.set(drivername="postgresql+psycopg")
            self.admin_dsn = parsed.set(drivername="postgresql").render_as_string(
                hide_password=False)

    def url(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.folder / (name + '.db')}"
        return self.pg.set(database=self.prefix + name).render_as_string(hide_password=False)

    @contextmanager
    def _admin(self) -> Iterator[Any]:
        import psycopg

        with psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=10) as conn:
            yield conn

    def create(self, name: str) -> str:
        """An empty database called `name` (replacing one of that name)."""
        self.drop(name)
        if self.kind == "postgres":
            with self._admin() as conn:
                conn.execute(f'CREATE DATABASE "{self.prefix + name}"')
            self.created.append(name)
        return self.url(name)

    def copy(self, source: str, name: str) -> str:
        """A copy of database `source` called `name`; nothing may be connected to it."""
        self.drop(name)
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                src = self.folder / f"{source}.db{suffix}"
                if src.exists():
                    shutil.copyfile(src, self.folder / f"{name}.db{suffix}")
        else:
            with self._admin() as conn:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = %s", [self.prefix + source])
                conn.execute(f'CREATE DATABASE "{self.prefix + name}" '
                             f'TEMPLATE "{self.prefix + source}"')
            self.created.append(name)
        return self.url(name)

    def settle(self, name: str, timeout: float = 30) -> None:
        """Wait until the server sessions of a killed client have ended.

        A SIGKILLed client's session ends when its server process notices the closed
        connection, which is after the statement it was running: for a moment that
        statement still runs. A process started in that moment that creates tables can
        fail with "tuple concurrently updated" (a clear error, exit 1; running it again
        works). Re-runs in real life come later than a harness's next instant."""
        if self.kind != "postgres":
            return
        deadline = time.monotonic() + timeout
        with self._admin() as conn:
            while time.monotonic() < deadline:
                row = conn.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s",
                                   [self.prefix + name]).fetchone()
                if not row or not row[0]:
                    return
                time.sleep(0.05)

    def drop(self, name: str) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                (self.folder / f"{name}.db{suffix}").unlink(missing_ok=True)
        else:
            with self._admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.prefix + name}" WITH (FORCE)')
            if name in self.created:
                self.created.remove(name)

    def close(self) -> None:
        for name in list(self.created):
            self.drop(name)


# ---- the data ------------------------------------------------------------------------------

@dataclass
class Data:
    facts: Path
    alt_definitions: Path
    lines: list[str]
    #: Every distinct fact's event id (the file repeats a few facts on purpose).
    expected: frozenset[uuid.UUID]


def make_data(folder: Path, facts: int, seed: int) -> Data:
    """About `facts` facts from the demo generator, and alternative definitions."""
    from lifecycle.domain.facts import parse_fact
    from lifecycle.sample.journeys import generate_lines

    persons = max(10, round(facts / FACTS_PER_PERSON))
    lines = list(generate_lines(persons, max(2, persons // 10), "2023-01-01", seed=seed))
    path = folder / "facts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = frozenset(parse_fact(json.loads(line)).event_id() for line in lines)
    alt = folder / "alt-definitions.yaml"
    alt.write_text(alt_definitions_yaml(), encoding="utf-8")
    return Data(path, alt, lines, expected)


def alt_definitions_yaml() -> str:
    """The starter definitions with another label and other rules (a real backfill)."""
    from lifecycle.domain.definitions import load_definitions
    from lifecycle.domain.starters import DATA

    data = yaml.safe_load((DATA / f"{BASE_VERSION}.yaml").read_text("utf-8"))
    data["version"] = ALT_VERSION
    data["stamp_skipped"] = False
    data["map"]["hand_raised"]["min_fit"] = "high"
    data["map"]["status"]["lifecycle_stage"]["lead"] = "nurture"
    text = yaml.safe_dump(data, sort_keys=False)
    load_definitions(text)  # valid, or the harness itself is wrong
    return text


# ---- running the program -------------------------------------------------------------------

def argv(url: str, *args: str) -> list[str]:
    return [sys.executable, "-c", "from cli import main; main()", "--db", url, *args]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    killed: bool = False


def run(url: str, *args: str, timeout: float = 600, env: dict[str, str] | None = None
        ) -> Ran:
    began = time.monotonic()
    done = subprocess.run(argv(url, *args), cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False, env=_env(env))
    return Ran(done.returncode, done.stdout, done.stderr, time.monotonic() - began)


def run_and_kill(url: str, args: list[str], after: float, folder: Path,
                 env: dict[str, str] | None = None) -> Ran:
    """Start the command and SIGKILL it `after` seconds later (unless it finished)."""
    out, err = folder / "killed.out", folder / "killed.err"
    began = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(argv(url, *args), cwd=ROOT, stdout=stdout, stderr=stderr,
                                   env=_env(env))
        try:
            process.wait(timeout=after)
            killed = False
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            killed = True
    return Ran(process.returncode, out.read_text("utf-8", "replace"),
               err.read_text("utf-8", "replace"), time.monotonic() - began, killed)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ) | (extra or {})
    env.pop("LIFECYCLE_DB", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


#: The report readers run after a backfill's kill, and the label each read must carry.
READ = ["report", "stages", "--as-of", "2024-12-31T23:59:59Z", "--format", "json"]


def read_report(url: str, read_only: bool) -> tuple[int, str]:
    """`lifecycle report stages` as JSON, in this process (as `verify_cli`)."""
    from click.testing import CliRunner

    from cli import main

    flags = ["--read-only"] if read_only else []
    result = CliRunner().invoke(main, ["--db", url, *flags, *READ])
    text = result.stdout
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        text += "".join(traceback.format_exception(result.exception))
    return result.exit_code, text


def verify_cli(url: str) -> tuple[int, str]:
    """`lifecycle verify`, in this process (the same code path without the start-up)."""
    from click.testing import CliRunner

    from cli import main

    result = CliRunner().invoke(main, ["--db", url, "verify"])
    text = result.output  # stdout and stderr, interleaved
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        text += "".join(traceback.format_exception(result.exception))
    return result.exit_code, text


# ---- preparing and inspecting stores -------------------------------------------------------

def _ledger(url: str) -> Any:
    from lifecycle.application.ledger import Ledger

    return Ledger(url)


def prepare(command: str, url: str, data: Data, rng: random.Random) -> dict[str, Any]:
    """Bring a fresh store to where `command` starts from; returns what it needs."""
    from lifecycle.application.importing import import_rows
    from lifecycle.application.ledger import BATCH
    from lifecycle.domain.definitions import load_definitions
    from lifecycle.domain.starters import DATA
    from lifecycle.importers.canonical import read_jsonl

    info: dict[str, Any] = {}
    with _ledger(url) as ledger:
        ledger.publish(load_definitions((DATA / f"{BASE_VERSION}.yaml").read_text("utf-8")))
        if command == "import":
            return info
        if command == "project":
            # Part of the facts imported (projections current), the rest appended behind
            # the projections' back: the catch-up has between 30% and 70% of the log to do.
            # Above half, catch-up replays instead of applying pages (both paths covered).
            share = rng.uniform(0.3, 0.7)
            cut = int(len(data.lines) * (1 - share))
            first, rest = data.lines[:cut], data.lines[cut:]
            import_rows(ledger, lambda: read_jsonl(_stream(first)))
            for start in range(0, len(rest), BATCH):
                ledger.append([row.candidate for row in read_jsonl(
                    _stream(rest[start:start + BATCH])) if row.candidate is not None])
            info["behind"] = ledger.log.position() - ledger.position()
            return info
        import_rows(ledger, lambda: read_jsonl(_stream(data.lines)))
    return info


def _stream(lines: list[str]) -> Any:
    import io

    return io.BytesIO(("\n".join(lines) + "\n").encode("utf-8"))


def command_args(command: str, data: Data) -> list[str]:
    return {"import": ["import", str(data.facts)], "project": ["project"],
            "rebuild": ["rebuild"], "rebuild-parallel": ["rebuild", "--workers", "2"],
            "backfill": ["backfill", str(data.alt_definitions)]}[command]


@dataclass
class Snapshot:
    """What a store holds, read without changing it (no catch-up)."""

    fact_ids: Counter[uuid.UUID]
    definitions: list[str]
    index_rows: int
    events: int
    log_position: int
    projection_position: int
    projection_version: str | None
    shadow_tables: list[str]
    views: dict[str, list[tuple[Any, ...]]] | None = None


def snapshot(url: str, views: bool = False) -> Snapshot:
    from sqlalchemy import inspect

    from projections import positions
    from projections.queries.stages import table_rows

    with _ledger(url) as ledger:
        ids: Counter[uuid.UUID] = Counter()
        for _, facts in ledger.iter_subjects():
            ids.update(f.event_id for f in facts)
        definitions = [d.definitions.version for d in ledger.definitions_log()]
        with ledger.engine.connect() as conn:
            parts = positions.partitions(conn)
            names = [p.name for p in parts] or [positions.PROJECTION]
            positions = [positions.read_position(conn, name) for name in names]
            shadows = sorted(n for n in inspect(conn).get_table_names()
                             if n.startswith("lc_next_"))
            rows = table_rows(conn) if views else None
        least = min(positions, key=lambda p: p.position)
        return Snapshot(ids, definitions, ledger.log.recorder.count_index(),
                        ledger.log.recorder.count_events(), ledger.log.position(),
                        least.position, least.definitions_version, shadows, rows)


# ---- one (command, store): a clean run, then killed runs ------------------------------------

@dataclass
class Outcome:
    """One killed-and-re-run run, checked."""

    command: str
    store: str
    number: int
    kills: int = 0
    delays: list[float] = field(default_factory=list)
    #: The kill left the work half done (facts partly stored, projections partly moved,
    #: shadow tables in place, definitions published but not yet applied...).
    mid_work: bool = False
    lost: int = 0
    doubled: int = 0
    unexpected: int = 0
    tracebacks: int = 0
    #: Reports read (and checked) between a kill and the re-run.
    reads: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.unexpected or self.tracebacks
                    or self.problems)


@dataclass
class Clean:
    """The unkilled run: how long it takes and what it leaves."""

    seconds: float
    startup: float
    snapshot: Snapshot
    behind: int = 0
    #: `report stages` before the command and after its clean run (backfill only): the
    #: only two things a reader may ever see.
    reads: tuple[str, str] | None = None


class Campaign:
    """Killed runs of one command on one store, against one clean run."""

    def __init__(self, command: str, databases: Databases, data: Data, seed: int,
                 log: Callable[[str], None] | None = None):
        self.command = command
        self.db = databases
        self.data = data
        self.seed = seed
        self.log = log or (lambda _: None)
        self.template = f"{command}_template"
        self.clean: Clean | None = None
        self.before: Snapshot | None = None

    def setup(self) -> Clean:
        rng = random.Random(f"{self.seed}:{self.command}:{self.db.kind}:prepare")
        url = self.db.create(self.template)
        info = prepare(self.command, url, self.data, rng)
        clean_url = self.db.copy(self.template, f"{self.command}_clean")
        reads = None
        if self.command == "backfill":
            reads = (self._read_clean(clean_url), "")
        ran = run(clean_url, *command_args(self.command, self.data),
                  env=COMMAND_ENV.get(self.command))
        if ran.returncode != 0 or "Traceback" in ran.stderr:
            raise AssertionError(f"clean `{self.command}` failed: {ran.stdout}{ran.stderr}")
        if reads is not None:
            reads = (reads[0], self._read_clean(clean_url))
            labels = [json.loads(r)["definitions_version"] for r in reads]
            if labels != [BASE_VERSION, ALT_VERSION] or reads[0] == reads[1]:
                raise AssertionError(f"the backfill changed no numbers, or not the label: "
                                     f"{labels}")
        # Start-up: the interpreter, the imports and opening the store (read-only command),
        # measured once per store kind.
        startup = _STARTUP.get(self.db.kind)
        if startup is None:
            startup = _STARTUP[self.db.kind] = min(
                run(clean_url, "definitions", "show", "--format", "json").seconds
                for _ in range(3))
        snap = snapshot(clean_url, views=True)
        expected_definitions = [BASE_VERSION] + ([ALT_VERSION]
                                                 if self.command == "backfill" else [])
        problems = self._check(snap, snap, expected_definitions)
        if problems:
            raise AssertionError(f"clean `{self.command}` left a wrong store: {problems}")
        self.db.drop(f"{self.command}_clean")
        self.clean = Clean(ran.seconds, startup, snap, info.get("behind", 0), reads)
        self.before = snapshot(url)  # every run starts from the template
        self.log(f"{self.command}/{self.db.kind}: clean run {ran.seconds:.2f}s "
                 f"(start-up {startup:.2f}s), {len(snap.fact_ids)} facts")
        return self.clean

    def kill_moment(self, rng: random.Random) -> float:
        """Uniform over the clean run's work (after start-up) most of the time; one kill in
        seven lands during start-up (imports, opening the store, creating tables)."""
        assert self.clean is not None
        startup, seconds = self.clean.startup, self.clean.seconds
        if rng.random() < 1 / 7:
            return rng.uniform(0.3 * startup, startup)
        return rng.uniform(0.9 * startup, max(startup, 0.95 * seconds))

    def run_once(self, number: int) -> Outcome:
        try:
            return self._run_once(number)
        except Exception as exc:  # the harness's own trouble: reported, the run goes on
            import traceback

            outcome = Outcome(self.command, self.db.kind, number)
            outcome.problems.append("harness error: " + "".join(
                traceback.format_exception_only(exc)).strip())
            return outcome

    def _run_once(self, number: int) -> Outcome:
        assert self.clean is not None
        rng = random.Random(f"{self.seed}:{self.command}:{self.db.kind}:{number}")
        outcome = Outcome(self.command, self.db.kind, number)
        name = f"{self.command}_run"
        url = self.db.copy(self.template, name)
        args = command_args(self.command, self.data)
        before = self.before
        for _ in range(2 if rng.random() < 0.25 else 1):  # now and then, killed twice
            delay = self.kill_moment(rng)
            for attempt in range(3):
                ran = run_and_kill(url, args, delay, self.db.folder,
                                   COMMAND_ENV.get(self.command))
                self.db.settle(name)
                outcome.tracebacks += "Traceback" in ran.stderr + ran.stdout
                if not ran.killed and ran.returncode != 0:
                    outcome.problems.append(f"unkilled run exited {ran.returncode}: "
                                            f"{ran.stderr.strip()}")
                if ran.killed or outcome.kills or attempt == 2:
                    break
                # Finished before the kill (the machine is faster than during the clean
                # run): start again from the template, a little earlier.
                url = self.db.copy(self.template, name)
                delay *= 0.7
            outcome.delays.append(round(delay, 3))
            outcome.kills += ran.killed
            after = snapshot(url)
            assert before is not None
            outcome.mid_work |= ran.killed and self._half_done(before, after)
            if self.clean.reads is not None:
                self._check_readers(url, number, outcome)
        rerun = run(url, *args, env=COMMAND_ENV.get(self.command))
        outcome.tracebacks += "Traceback" in rerun.stderr + rerun.stdout
        if rerun.returncode != 0:
            outcome.problems.append(f"re-run exited {rerun.returncode}: {rerun.stderr.strip()}")
        snap = snapshot(url, views=True)
        expected_definitions = self.clean.snapshot.definitions
        outcome.problems += self._check(snap, self.clean.snapshot, expected_definitions)
        present = set(snap.fact_ids)
        outcome.lost = len(self.data.expected - present)
        outcome.unexpected = len(present - self.data.expected)
        outcome.doubled = sum(n - 1 for n in snap.fact_ids.values() if n > 1)
        code, text = verify_cli(url)
        outcome.tracebacks += "Traceback" in text
        if code != 0:
            outcome.problems.append(f"lifecycle verify exited {code}: {text.strip()[:2000]}")
        self.db.drop(name)
        return outcome

    def _read_clean(self, url: str) -> str:
        code, text = read_report(url, read_only=True)
        if code != 0:
            raise AssertionError(f"report stages failed on the clean store: {text}")
        return text

    def _check_readers(self, url: str, number: int, outcome: Outcome) -> None:
        """Readers of a store a backfill was killed in see the old definitions' report or
        the new one's, whole: the label goes with the numbers."""
        assert self.clean is not None and self.clean.reads is not None
        for read_only in (True, False) if number % 2 else (True,):
            code, text = read_report(url, read_only)
            outcome.tracebacks += "Traceback" in text
            who = "read-only reader" if read_only else "reader"
            if code != 0:
                outcome.problems.append(f"{who} exited {code}: {text.strip()[:500]}")
            elif text not in self.clean.reads:
                outcome.problems.append(f"{who} saw neither the old report nor the new one: "
                                        f"{text.strip()[:500]}")
            outcome.reads += 1

    def _half_done(self, before: Snapshot, after: Snapshot) -> bool:
        if self.command == "import":
            stored = len(after.fact_ids) - len(before.fact_ids)
            return 0 < stored < len(self.data.expected) or (
                stored > 0 and after.projection_position < after.log_position)
        if self.command == "project":
            return before.projection_position < after.projection_position \
                < after.log_position or bool(after.shadow_tables)
        if self.command in ("rebuild", "rebuild-parallel"):
            return bool(after.shadow_tables)
        # backfill: published, not yet applied everywhere
        return len(after.definitions) > len(before.definitions) and (
            after.projection_version != ALT_VERSION or bool(after.shadow_tables))

    def _check(self, snap: Snapshot, clean: Snapshot, definitions: list[str]) -> list[str]:
        problems = []
        if snap.definitions != definitions:
            problems.append(f"definitions published {snap.definitions}, expected {definitions}")
        if snap.events != sum(snap.fact_ids.values()) + len(snap.definitions):
            problems.append(f"{snap.events} events for {sum(snap.fact_ids.values())} facts "
                            f"and {len(snap.definitions)} definitions")
        if snap.index_rows != snap.events:
            problems.append(f"fact index has {snap.index_rows} rows for {snap.events} events")
        if snap.projection_position != snap.log_position:
            problems.append(f"projections at {snap.projection_position}, log at "
                            f"{snap.log_position} after the command completed")
        if snap.projection_version != definitions[-1]:
            problems.append(f"projections under {snap.projection_version}, "
                            f"not {definitions[-1]}")
        if snap.shadow_tables:
            problems.append(f"shadow tables left behind: {', '.join(snap.shadow_tables)}")
        if set(snap.fact_ids) != set(clean.fact_ids):
            problems.append("facts differ from the clean run's")
        if snap.views is not None and clean.views is not None and snap.views != clean.views:
            differing = [t for t in clean.views if snap.views.get(t) != clean.views[t]]
            problems.append(f"projection tables differ from the clean run's: {differing}")
        return problems


@dataclass
class Totals:
    runs: int = 0
    kills: int = 0
    mid_work: int = 0
    lost: int = 0
    doubled: int = 0
    unexpected: int = 0
    tracebacks: int = 0
    failed: int = 0
    reads: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.runs += 1
        self.reads += outcome.reads
        self.kills += outcome.kills
        self.mid_work += outcome.mid_work
        self.lost += outcome.lost
        self.doubled += outcome.doubled
        self.unexpected += outcome.unexpected
        self.tracebacks += outcome.tracebacks
        if not outcome.ok:
            self.failed += 1
            self.problems += [f"{outcome.command}/{outcome.store} run {outcome.number}: {p}"
                              for p in outcome.problems]
            if outcome.lost or outcome.doubled or outcome.unexpected:
                self.problems.append(
                    f"{outcome.command}/{outcome.store} run {outcome.number}: lost "
                    f"{outcome.lost}, doubled {outcome.doubled}, unexpected {outcome.unexpected}")
            if outcome.tracebacks:
                self.problems.append(
                    f"{outcome.command}/{outcome.store} run {outcome.number}: a traceback")

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.kills > 0
