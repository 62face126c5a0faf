"""Progress on a terminal (issue 20): every long command draws its named phases with their
totals on a terminal, prints exactly the same output either way, and draws nothing in
pipes, under CI or with --quiet."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import FACTS, Run, status, write_jsonl
from click.testing import Result
from rich.console import Console

from lifecycle.console import progress
from lifecycle.console.progress import TerminalProgress, duration, terminal_console
from projections.tables import VIEW_TABLES

REBUILD = ["Deriving histories", "Reading the log", "Building indexes", "Swapping in"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: What a phase's count column says: `7/7 facts`, `120/120 bytes, 7 facts`.
COUNT = r"[\d,.]+/[\d,.]+ [a-zA-Z]+(?:, [\d,]+ facts)?"
#: Facts of the module's store (FACTS of cli_support, plus one more person): 7 facts of
#: 3 persons and 1 account, so 4 subjects.
MORE = status("p3", "lead", "2024-03-01T00:00:00Z")


class Terminal:
    """What the commands drew on a (pretend) terminal."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.on = True

    def console(self) -> Console | None:
        """stderr as `terminal_console` gives it: a terminal, or None (a pipe) when off."""
        if not self.on:
            return None
        return Console(file=self.buffer, force_terminal=True, width=200, color_system=None)

    def clear(self) -> None:
        self.buffer.seek(0)
        self.buffer.truncate()

    @property
    def text(self) -> str:
        return ANSI.sub("", self.buffer.getvalue())

    def finished(self, label: str) -> str:
        """What the finished phase `label` counted (its row's column after the name), as
        last drawn: `7/7 facts`."""
        found = re.findall(rf"✓ {re.escape(label)} +({COUNT})", self.text)
        assert found, f"no finished phase {label!r} was drawn:\n{self.text}"
        return str(found[-1])

    def began(self, label: str) -> str:
        """What the running phase `label` showed on its bar's line when it began."""
        found = re.findall(rf"{re.escape(label)}(?:: 0 facts)?\n +\S* +0% ({COUNT})",
                           self.text)
        assert found, f"phase {label!r} was not drawn running:\n{self.text}"
        return str(found[0])


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    """stderr is a terminal: the commands' progress is drawn into `terminal.buffer`."""
    screen = Terminal()
    monkeypatch.setattr(progress, "terminal_console", screen.console)
    return screen


@pytest.fixture
def ledger_db(run: Run, db: str, tmp_path: Path) -> str:
    """The b2b-2024 store with FACTS and MORE imported (on SQLite, then PostgreSQL)."""
    result = run("--db", db, "import", str(write_jsonl(tmp_path / "f.jsonl", *FACTS, MORE)))
    assert result.exit_code == 0, result.stderr
    return db


def both(run: Run, terminal: Terminal, *args: str, now: bool = False) -> Result:
    """Run `args` with stderr in a pipe, then on a terminal: the output must be the same
    byte for byte (but for the moment of the run, with `now`), and progress drawn only on
    the terminal. Returns the run's result."""
    def seen(result: Result) -> tuple[int, str, str]:
        def out(text: str) -> str:
            return re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "<now>", text) if now else text
        return result.exit_code, out(result.stdout), out(result.stderr)

    terminal.on = False
    piped = run(*args)
    terminal.on = True
    assert terminal.buffer.getvalue() == ""
    drawn = run(*args)
    assert seen(drawn) == seen(piped)
    return drawn


def test_import_reads_the_file_in_bytes_then_projects(run: Run, db: str, tmp_path: Path,
                                                     terminal: Terminal) -> None:
    path = write_jsonl(tmp_path / "f.jsonl", *FACTS, MORE)
    size = path.stat().st_size
    result = run("--db", db, "import", str(path))
    assert result.stdout == "f.jsonl: read 7, stored 7, duplicate 0, rejected 0\n"
    assert result.stderr == ""
    assert terminal.began("Reading and storing f.jsonl") == f"0/{size} bytes"
    assert terminal.finished("Reading and storing f.jsonl") == f"{size}/{size} bytes, 7 facts"
    assert terminal.began("Projecting") == "0/7 facts"
    assert terminal.finished("Projecting") == "7/7 facts"


def test_a_strict_import_shows_its_two_passes(run: Run, db: str, tmp_path: Path,
                                              terminal: Terminal) -> None:
    path = write_jsonl(tmp_path / "f.jsonl", *FACTS)
    result = run("--db", db, "import", str(path), "--strict")
    assert result.exit_code == 0, result.stderr
    for label in ("Checking f.jsonl", "Storing f.jsonl"):
        assert terminal.finished(label).endswith("bytes, 6 facts")


def test_rebuild_shows_every_phase_with_its_total(run: Run, ledger_db: str,
                                                   terminal: Terminal) -> None:
    result = both(run, terminal, "--db", ledger_db, "rebuild")
    assert result.stdout == "Projections rebuilt from the log up to position 8.\n"
    n = len(VIEW_TABLES)
    totals = {"Reading the log": "7/7 facts", "Deriving histories": "7/7 facts",
              "Building indexes": f"{n}/{n} tables",
              "Swapping in": f"{n}/{n} tables"}
    for label, total in totals.items():
        assert terminal.finished(label) == total
    assert "?" not in terminal.text


def test_verify_shows_facts_checked_and_tables_compared(run: Run, ledger_db: str,
                                                        terminal: Terminal) -> None:
    result = both(run, terminal, "--db", ledger_db, "verify")
    head, summary = result.stdout.splitlines()
    assert re.fullmatch(r"head 8:[0-9a-f]{64}", head)  # the log chain's head (issue 19)
    assert summary == "8 facts in 4 streams, projections at 8: intact"
    assert terminal.finished("Checking the log") == "8/8 facts"  # with the definitions
    assert terminal.finished("Fresh replay: deriving histories") == "7/7 facts"
    for label in REBUILD[1:]:
        assert terminal.finished(f"Fresh replay: {label.lower()}")
    assert re.fullmatch(r"(\d+)/\1 rows",
                        terminal.finished(f"Comparing {len(VIEW_TABLES)} tables"))


def test_backfill_and_its_dry_run_show_their_replays(run: Run, ledger_db: str, tmp_path: Path,
                                                     terminal: Terminal) -> None:
    from lifecycle.domain.starters import DATA

    new = tmp_path / "new.yaml"
    new.write_text((DATA / "b2b-2024.yaml").read_text("utf-8").replace(
        'version: "b2b-2024"', 'version: "b2b-2025"'), "utf-8")
    both(run, terminal, "--db", ledger_db, "backfill", str(new), "--dry-run", now=True)
    for version in ("b2b-2024", "b2b-2025"):
        assert terminal.finished(f"Replay under {version}: deriving histories") == "7/7 facts"
        assert terminal.finished(f"Replay under {version}: swapping in")
    terminal.clear()
    result = run("--db", ledger_db, "backfill", str(new))
    assert result.exit_code == 0, result.stderr
    assert terminal.finished("Deriving histories") == "7/7 facts"
    for label in REBUILD[1:]:
        assert terminal.finished(label)


KNOWN = "Replay under b2b-2024 as known at 2100-01-01T00:00:00Z"


@pytest.mark.parametrize(("args", "replays"), [
    (["report", "stages", "--as-of", "2024-06-30", "--known-at", "2100-01-01"], [KNOWN]),
    (["report", "funnel", "--definitions", "b2b-2024", "--format", "csv"],
     ["Replay under b2b-2024"]),
    (["report", "diff", "--as-of", "2024-06-30", "--before-known-at", "2100-01-01",
      "--format", "json"], [KNOWN, "Replay under b2b-2024"]),
])
def test_known_at_and_definitions_replays_show_their_phases(
        run: Run, ledger_db: str, terminal: Terminal, args: list[str],
        replays: list[str]) -> None:
    result = both(run, terminal, "--db", ledger_db, *args)
    assert result.exit_code == 0, result.stderr
    for replay in replays:
        assert terminal.finished(f"{replay}: deriving histories") == "7/7 facts"
        assert terminal.finished(f"{replay}: reading the log") == "7/7 facts"
    if args[1] == "diff":  # the two known-at times differ: the facts recorded in between
        assert terminal.finished("Finding late facts") == "7/7 facts"


def test_project_shows_what_it_applies(run: Run, db: str, terminal: Terminal) -> None:
    from lifecycle.application.ledger import Ledger
    from lifecycle.domain.candidates import Candidate
    from lifecycle.domain.facts import parse_fact

    with Ledger(db) as ledger:  # stored, not yet projected (as when workers are stopped)
        ledger.append([Candidate(parse_fact(f)) for f in FACTS])
    result = run("--db", db, "project")
    assert result.stdout == "projections: applied 6 event(s), at position 7\n"
    assert terminal.finished("Projecting") == "6/6 facts"


def test_project_partitions_show_their_share(run: Run, db: str, terminal: Terminal) -> None:
    """`project --partition i/n`: each worker's round is named by its partition, counted
    in the facts it reads (every worker reads every new fact, derives its own share)."""
    from lifecycle.application.ledger import Ledger
    from lifecycle.domain.candidates import Candidate
    from lifecycle.domain.facts import parse_fact

    first = run("--db", db, "project", "--partition", "0/2")  # hands the projection over
    assert first.exit_code == 0, first.stderr
    with Ledger(db) as ledger:
        ledger.append([Candidate(parse_fact(f)) for f in FACTS])
    terminal.clear()
    for index in (0, 1):
        result = run("--db", db, "project", "--partition", f"{index}/2")
        assert result.exit_code == 0, result.stderr
        assert terminal.finished(f"Projecting partition {index}/2") == "6/6 facts"


def test_quiet_draws_nothing_on_a_terminal(run: Run, ledger_db: str,
                                           terminal: Terminal) -> None:
    quiet = run("--db", ledger_db, "--quiet", "rebuild")
    assert quiet.exit_code == 0 and terminal.buffer.getvalue() == ""
    run("--db", ledger_db, "-q", "verify")
    assert terminal.buffer.getvalue() == ""


def test_in_pipes_nothing_is_drawn(run: Run, db: str, tmp_path: Path) -> None:
    """CliRunner's streams are not terminals: stderr holds only what the command says."""
    path = write_jsonl(tmp_path / "f.jsonl", *FACTS)
    assert run("--db", db, "import", str(path)).stderr == ""
    assert run("--db", db, "rebuild").stderr == ""
    assert run("--db", db, "verify").stderr == ""


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("env", "tty", "drawn"), [
    ({}, True, True),
    ({"CI": "true"}, True, False),          # CI logs: never
    ({"TERM": "dumb"}, True, False),
    ({}, False, False),                      # a pipe or a file
    ({"FORCE_COLOR": "1"}, False, False),    # rich would take it for a terminal
])
def test_the_terminal_is_what_a_person_watches(monkeypatch: pytest.MonkeyPatch,
                                               env: dict[str, str], tty: bool,
                                               drawn: bool) -> None:
    for name in ("CI", "TERM", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "stderr", _Tty() if tty else io.StringIO())
    assert (terminal_console() is not None) == drawn


def _clock(times: list[float]) -> Callable[[], float]:
    return lambda: times[0]


@pytest.mark.parametrize(("took", "line"), [
    (9.0, None),
    (70.0, "Done in 1m10s: reading f.jsonl 12.0s, deriving histories 58.0s."),
])
def test_a_long_run_ends_with_each_phase_s_time(took: float, line: str | None) -> None:
    screen = Terminal()
    now = [100.0]
    with TerminalProgress(screen.console(), clock=_clock(now)) as shown:
        shown.phase("reading f.jsonl", 2_000, "bytes")
        now[0] += took * 12 / 70
        shown.advance(2_000, facts=10)
        shown.phase("deriving histories", 10)
        now[0] = 100.0 + took
        shown.advance(10)
    lines = [li.strip() for li in screen.text.splitlines() if li.startswith("Done in")]
    assert lines == ([line] if line else [])


def test_a_failed_run_leaves_no_timings() -> None:
    screen = Terminal()
    now = [0.0]
    with pytest.raises(RuntimeError), TerminalProgress(screen.console(),
                                                       clock=_clock(now)) as shown:
        shown.phase("deriving histories", 10)
        now[0] = 60.0
        raise RuntimeError("boom")
    assert "Done in" not in screen.text


def test_more_than_the_total_raises_the_total() -> None:
    """A concurrent writer appended during a catch-up: the bar never reads 120/100."""
    screen = Terminal()
    with TerminalProgress(screen.console()) as shown:
        shown.phase("projecting", 100)
        shown.advance(120)
    assert screen.finished("Projecting") == "120/120 facts"


def test_a_total_learnt_after_the_phase_began_is_shown() -> None:
    """A sync learns an object's total with its first page: the phase began without one."""
    screen = Terminal()
    with TerminalProgress(screen.console()) as shown:
        shown.phase("syncing salesforce Lead", None, "records")
        shown.advance(20)
        shown.set_total(195)
        shown.advance(20)
    assert screen.finished("Syncing salesforce Lead") == "40/195 records"


@pytest.mark.parametrize(("seconds", "shown"), [
    (0.04, "0.0s"), (8.24, "8.2s"), (94.0, "1m34s"), (3725.0, "1h02m")])
def test_durations(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def _in_a_pty(args: list[str], cwd: Path) -> tuple[int, bytes, str]:
    """Run `lifecycle args` in a new process whose stderr is a pseudo-terminal (stdout a
    pipe, as in `lifecycle ... > out`): exit status, stdout, what the terminal showed."""
    import fcntl
    import os
    import pty
    import select
    import struct
    import subprocess
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    env = {k: v for k, v in os.environ.items()
           if k not in ("CI", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "COLUMNS")}
    env["TERM"] = "xterm-256color"
    process = subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=cwd, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    shown = b""
    while True:  # read as it comes, so a full terminal never blocks the command
        ready, _, _ = select.select([master], [], [], 60)
        try:
            chunk = os.read(master, 65536) if ready else b""
        except OSError:  # EIO: the command closed its end
            chunk = b""
        if not chunk:
            break
        shown += chunk
    os.close(master)
    stdout = process.stdout.read() if process.stdout else b""
    return process.wait(timeout=60), stdout, ANSI.sub("", shown.decode("utf-8", "replace"))


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX pseudo-terminal")
def test_a_real_terminal_shows_the_phases_and_stdout_stays_clean(
        sqlite_db: str, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "f.jsonl", *FACTS)
    size = path.stat().st_size
    status, stdout, shown = _in_a_pty(["--db", sqlite_db, "import", str(path)], tmp_path)
    assert (status, stdout) == (0, b"f.jsonl: read 6, stored 6, duplicate 0, rejected 0\n")
    assert re.search(rf"✓ Reading and storing f\.jsonl +{size}/{size} bytes, 6 facts", shown)
    assert re.search(r"✓ Projecting +6/6 facts", shown), shown
    status, stdout, shown = _in_a_pty(["--db", sqlite_db, "--quiet", "rebuild"], tmp_path)
    assert (status, stdout, shown) == (
        0, b"Projections rebuilt from the log up to position 7.\n", "")
