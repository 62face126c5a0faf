"""The sample facts: every journey generated and merged into one stream, in time order.

`generate()` makes up a realistic, deterministic B2B history as canonical facts (SPEC §2):
HubSpot `lifecycle_stage` and Salesforce `Status` changes, hand raises of every fit,
disqualifications, backward moves, recycles, skipped stages, people joining, switching and
leaving accounts, and renewal / upgrade / at-risk flags on customer accounts. The bundled
`data/demo_facts.jsonl` is its output for `DEMO_PARAMS`; `bench/gen_facts.py` uses it to
write large files.

Every subject draws from its own random stream (seeded by the seed and its index), so a
subject's facts do not depend on how many others are generated. Output is sorted by
`occurred_at`, ties in generation order. Large runs are generated in chunks of subjects,
each sorted and spilled to a temporary file, then merged: memory stays flat.
"""

from __future__ import annotations

import heapq
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lifecycle.sample.accounts import AccountPlan, account_journey, account_rng, plan_account
from lifecycle.sample.journey import DEFAULT_SEED, DEMO_PARAMS, FACT_KEYS, Clock, parse_start
from lifecycle.sample.opportunities import (
    Deal,
    contact_roles,
    convert_lead,
    deal_facts,
    plan_deals,
)
from lifecycle.sample.persons import PersonJourney

#: Subjects per chunk: what one sorted run holds in memory.
CHUNK = 10_000


def _units(persons: int, accounts: int) -> list[tuple[str, int, int]]:
    """Chunks of subjects: (kind, first index, end index), accounts first, then the
    accounts' opportunities, then persons."""
    units = [("account", lo, min(lo + CHUNK, accounts)) for lo in range(0, accounts, CHUNK)]
    units += [("opportunity", lo, min(lo + CHUNK, accounts))
              for lo in range(0, accounts, CHUNK)]
    units += [("person", lo, min(lo + CHUNK, persons)) for lo in range(0, persons, CHUNK)]
    return units


def _chunk(clock: Clock, seed: int, unit: tuple[str, int, int], plans: list[AccountPlan],
           cum_weights: list[float], deals: list[list[Deal]], offset: int
           ) -> list[tuple[int, int, dict[str, Any]]]:
    """One chunk's facts as (t, sequence, fact), sorted."""
    kind, lo, hi = unit
    rows: list[tuple[int, int, dict[str, Any]]] = []
    seq = offset
    for index in range(lo, hi):
        if kind == "account":
            facts = account_journey(clock, seed, index)
        elif kind == "opportunity":
            facts = [f for deal in deals[index] for f in deal_facts(clock, deal)]
        else:
            person = PersonJourney(clock, seed, index, plans, cum_weights)
            facts = convert_lead(index, person.sid, person.journey())
            facts += contact_roles(clock, seed, index, person.links, deals, person.sid)
        for number, (t, fact) in enumerate(facts):
            rows.append((t, seq, fact))
            seq += 1
            # A webhook delivered twice now and then: the ledger stores it once.
            if kind == "person" and fact.get("source") == "hubspot" and "source_id" in fact \
                    and (index * 31 + number) % 97 == 0:
                rows.append((t, seq, dict(fact)))
                seq += 1
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def _finish(clock: Clock, fact: dict[str, Any], t: int) -> dict[str, Any]:
    fact["occurred_at"] = clock.text(t)
    return {k: fact[k] for k in FACT_KEYS if k in fact}


def generate_lines(persons: int, accounts: int, start: datetime | date | str,
                   years: int = 2, seed: int = DEFAULT_SEED) -> Iterator[str]:
    """Like `generate`, one compact JSON text per fact (no newline)."""
    if persons < 0 or accounts < 0 or years < 1:
        raise ValueError("persons and accounts must be >= 0 and years >= 1")
    clock = Clock(parse_start(start), years)
    plans = [plan_account(account_rng(seed, j), clock.span) for j in range(accounts)]
    deals = [plan_deals(clock, seed, j, plan) for j, plan in enumerate(plans)]
    # A few big accounts and a long tail; customers attract more people.
    weights = [(2.0 if p.won_at else 1.0) / (1 + j % 17) ** 0.7 for j, p in enumerate(plans)]
    cum_weights, total = [], 0.0
    for w in weights:
        total += w
        cum_weights.append(total)
    units = _units(persons, accounts)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    if len(units) <= 1:
        rows = _chunk(clock, seed, units[0], plans, cum_weights, deals, 0) if units else []
        for t, _, fact in rows:
            yield dumps(_finish(clock, fact, t))
        return
    with ExitStack() as stack:
        folder = tempfile.mkdtemp(prefix="lifecycle-gen-")
        stack.callback(shutil.rmtree, folder, True)
        runs = []
        offset = 0
        for number, unit in enumerate(units):
            rows = _chunk(clock, seed, unit, plans, cum_weights, deals, offset)
            offset += len(rows) + 1
            path = Path(folder) / f"run{number:05d}.txt"
            with path.open("w", encoding="utf-8") as out:
                # Fixed-width (time, sequence) prefix: plain string order is the order.
                out.writelines(f"{t:012d}{s:014d}\t{dumps(_finish(clock, fact, t))}\n"
                               for t, s, fact in rows)
            del rows
            runs.append(stack.enter_context(path.open(encoding="utf-8")))
        for line in heapq.merge(*runs):
            yield line[27:-1]


def generate(persons: int, accounts: int, start: datetime | date | str, years: int = 2,
             seed: int = DEFAULT_SEED) -> Iterator[dict[str, Any]]:
    """Canonical facts for `persons` people and `accounts` companies over `years` years
    from `start`, sorted by `occurred_at`; the same arguments give the same facts."""
    for line in generate_lines(persons, accounts, start, years, seed):
        yield json.loads(line)


def write_jsonl(path: Path | str, lines: Iterator[str]) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(line)
            out.write("\n")
            count += 1
    return count


def demo_lines() -> Iterator[str]:
    """The bundled file's lines, regenerated."""
    return generate_lines(**DEMO_PARAMS)
