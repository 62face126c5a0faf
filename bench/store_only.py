"""`lifecycle import FILE` without its catch-up: the reading and storing phase alone.

    python bench/store_only.py URL FILE       # prints: read N, stored N, duplicate N

What bench/bench.py times as "import, storing only", in a process of its own (so that its
peak memory is its own). The store gets the b2b-2024 definitions first, as `lifecycle init`
gives it; the batches are read and stored exactly as `import_rows` does, then nothing is
projected.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifecycle.application.importing import ImportSummary, _batches
from lifecycle.application.ledger import BATCH, Ledger
from lifecycle.domain.definitions import load_definitions
from lifecycle.domain.starters import starter_text
from lifecycle.importers.registry import open_reader


def main(argv: list[str]) -> int:
    url, path = argv
    summary = ImportSummary(rejections=[])
    stored = duplicate = 0
    with Ledger(url) as ledger:
        ledger.publish(load_definitions(starter_text("b2b-2024") or ""))
        reader, _ = open_reader("jsonl", Path(path))
        with Path(path).open("rb") as stream:
            for batch in _batches(reader(stream, None), summary, BATCH):
                result = ledger.append(batch)
                stored += len(result.stored)
                duplicate += len(result.duplicates)
    print(f"read {summary.read}, stored {stored}, duplicate {duplicate}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
