"""Memory stays flat on one huge string value inside a HubSpot JSON document: the value is
refused (its record rejected, naming the field) after MAX_VALUE bytes, never read whole.

Measured as a process's peak resident memory (`ru_maxrss`), reading a document with a
60 MB value against reading a small one, in processes of their own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .harness import ROOT

READ = """
import resource, sys
from lifecycle.importers.hubspot_records import records
with open(sys.argv[1], "rb") as stream:
    found = [(r.line, r.problem) for r in records(stream)]
print(found)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

HEAD = (b'{"results": [{"id": "1", "propertiesWithHistory": {"lifecyclestage": [{"value": '
        b'"lead", "timestamp": "2024-01-01T00:00:00Z"}]}}, {"id": "2", "properties": '
        b'{"notes": "')
TAIL = b'"}}, {"id": "3"}]}'


def _read(path: Path) -> tuple[str, int]:
    done = subprocess.run([sys.executable, "-c", READ, str(path)], cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=300)
    found, peak_kb = done.stdout.splitlines()
    return found, int(peak_kb)


def test_a_huge_value_is_refused_in_flat_memory(tmp_path: Path) -> None:
    small = tmp_path / "small.json"
    small.write_bytes(HEAD + b"x" * 10 + TAIL)
    huge = tmp_path / "huge.json"
    with huge.open("wb") as out:
        out.write(HEAD)
        chunk = b"x" * (1 << 20)
        for _ in range(60):
            out.write(chunk)
        out.write(TAIL)
    found, baseline = _read(small)
    assert found == "[(1, None), (1, None), (1, None)]"  # one line: read as JSON Lines
    found, peak = _read(huge)
    assert found == ("[(1, None), (2, 'field notes: a value longer than 1,000,000 bytes; "
                     "the rest of the document was not read')]")
    assert peak - baseline < 30_000, f"{(peak - baseline) / 1024:.0f} MB more for one value"
