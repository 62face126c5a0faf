"""SIGTERM (and SIGHUP) stop a command cleanly: what it holds is released and removed
(`import -`'s copy of standard input), its transaction rolls back, and it exits with
128 + the signal's number, without a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import load
from .harness import ROOT
from .stores import events, shadow_tables


def _spooled(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize(("name", "terminal_gone"), [("SIGTERM", False), ("SIGHUP", False),
                                                    ("SIGHUP", True)])
def test_a_signal_during_import_from_stdin_removes_the_spool(sqlite_url: str, tmp_path: Path,
                                                             name: str, terminal_gone: bool
                                                             ) -> None:
    """`terminal_gone`: SIGHUP as a closed terminal sends it, when stderr can no longer be
    written (here a pipe whose reader has gone): the stop still unwinds, saying nothing."""
    load(sqlite_url, tmp_path, lines=[])
    spools = tmp_path / "tmp"
    spools.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "LIFECYCLE_DB"} | {"TMPDIR": str(spools)}
    process = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "--db", sqlite_url, "import",
         "-", "--format", "jsonl"], cwd=ROOT, env=env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None
    line = json.dumps({"type": "status_changed", "person_id": "p", "value": "lead",
                       "occurred_at": "2024-01-01T00:00:00Z"}) + "\n"
    process.stdin.write(line.encode() * 2_000)  # then standard input stays open
    process.stdin.flush()
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size for p in _spooled(spools)):
        assert time.monotonic() < deadline, "the spool never appeared"
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    if terminal_gone:
        assert process.stderr is not None
        process.stderr.close()
    process.send_signal(getattr(signal, name))
    if terminal_gone:
        process.stdin.close()
        process.wait(timeout=60)
        assert process.returncode == 128 + getattr(signal, name)
    else:
        _, err = process.communicate(timeout=60)
        stderr = err.decode()
        assert process.returncode == 128 + getattr(signal, name), stderr
        assert stderr.startswith(f"Stopped by {name}: what was committed before stays"), stderr
        assert "Traceback" not in stderr
    assert _spooled(spools) == [] and list(spools.iterdir()) == []
    assert events(sqlite_url) == 1  # nothing was imported: it was still reading


def test_sigterm_during_a_rebuild_leaves_no_shadow_tables(sqlite_url: str,
                                                          tmp_path: Path) -> None:
    """Wherever the signal lands (before, in or after the build), the store is whole."""
    load(sqlite_url, tmp_path)
    outcomes = set()
    for delay in (0.8, 1.2, 1.6, 2.4):
        process = subprocess.Popen(
            [sys.executable, "-c", "from cli import main; main()", "--db", sqlite_url,
             "rebuild"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
        assert process.returncode in (0, 143, -signal.SIGTERM), err
        assert b"Traceback" not in err
        outcomes.add(process.returncode)
        assert shadow_tables(sqlite_url) == []
    verify = subprocess.run([sys.executable, "-c", "from cli import main; main()", "--db",
                             sqlite_url, "verify"], cwd=ROOT, capture_output=True, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
