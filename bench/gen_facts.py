"""Write a large canonical JSONL fact file for benchmarks.

    python bench/gen_facts.py --facts 1000000 --out /tmp/f1m.jsonl

Persons and accounts are scaled to give about `--facts` facts (the count is approximate)
with the demo generator (`lifecycle.sample.journeys.generate`): same realistic B2B
history, sorted by occurred_at, deterministic for a seed, streamed to the file in flat
memory.
"""

from __future__ import annotations

import argparse
import sys
import time

from lifecycle.sample.journey import DEFAULT_SEED, FACTS_PER_PERSON, PERSONS_PER_ACCOUNT
from lifecycle.sample.journeys import generate_lines, write_jsonl


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, required=True, help="about how many facts")
    parser.add_argument("--out", required=True, help="the JSONL file to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--start", default="2023-01-01T00:00:00Z")
    parser.add_argument("--years", type=int, default=2)
    args = parser.parse_args(argv)
    if args.facts < 1:
        parser.error("--facts must be at least 1")
    persons = max(1, round(args.facts / FACTS_PER_PERSON))
    accounts = max(1, round(persons / PERSONS_PER_ACCOUNT))
    began = time.perf_counter()
    count = write_jsonl(args.out, generate_lines(persons, accounts, args.start, args.years,
                                                 args.seed))
    elapsed = time.perf_counter() - began
    print(f"{count} facts ({persons} persons, {accounts} accounts) -> {args.out} "
          f"in {elapsed:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
