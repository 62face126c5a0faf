"""The ledger's invariants as properties: a hypothesis state machine drives a ledger on a
temporary SQLite file (and, with a few examples, on PostgreSQL) through random sequences of
records, imports (strict or not, some with a bad row), appends that leave the projections
behind, retractions, backfills with other definitions, rebuilds and catch-ups. Facts include
opportunities, their accounts and contact roles (SPEC §7) and merges of ids (SPEC §8; only
ever a later id into an earlier one, so that none is refused).

After every step:

- facts are stored exactly once: the log holds exactly the event ids the model expects;
- the projections equal a fresh replay (`verify(ledger).ok`, which also checks the chains);
- stamps are consistent: first <= last when last is set, `inferred` exactly when
  `times_reached` is 0 (and then no last), `times_reached` = the moves into the stage;
- intervals are ordered and never overlap; a person's are contiguous (an account's may have
  a gap where its stage fell back to none); as many intervals as moves;
- exactly one open interval per subject that has a stage, in that stage, since when the
  current row says; none for a subject without one.
"""

from __future__ import annotations

import copy
import io
import json
import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from lifecycle.application.backfill import backfill
from lifecycle.application.importing import import_rows
from lifecycle.application.ledger import Ledger
from lifecycle.application.verify import verify
from lifecycle.domain.candidates import Candidate
from lifecycle.domain.definitions import definitions_from_data
from lifecycle.domain.errors import LedgerError
from lifecycle.domain.facts import FactRetracted, parse_fact
from lifecycle.domain.starters import DATA
from lifecycle.domain.timeutil import utc_now
from lifecycle.importers.canonical import read_jsonl
from projections import tables

from .strategies import EXAMPLES, RANDOM

BASE = yaml.safe_load((DATA / "b2b-2024.yaml").read_text("utf-8"))
PERSONS = ["p1", "p2", "p3", "p'; DROP TABLE lc_current; --", "\u202ep4"]
ACCOUNTS = ["a1", "a2"]
OPPORTUNITIES = ["o1", "o2"]
STAGE_NAMES = ["Prospecting", "Qualification", "Negotiation/Review", "Closed Won",
               "Closed Lost", "Omitted"]
VALUES = ["subscriber", "lead", "MarketingQualifiedLead", " salesqualifiedlead ", "opportunity",
          "customer", "", "evangelist"]


def variant(name: str) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    if name == "alt":
        data["stamp_skipped"] = False
        data["map"]["status"]["lifecycle_stage"]["lead"] = "nurture"
        data["map"]["hand_raised"]["min_fit"] = "high"
    elif name == "no-rollup":
        data["account_rollup"] = "none"
        data["map"]["person_left"] = "disqualified"
    elif name == "no-cascade":
        data["opportunity_cascade"] = "none"
        data["opportunity_flags"] = {"at_risk": ["Renewal"]}
    return data


@st.composite
def facts(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["status", "status", "status", "account_status", "hand",
                                 "disq", "left", "link", "link", "flag", "stage", "stage",
                                 "opp_link", "role", "merge"]))
    day = draw(st.integers(0, 40))
    fact: dict[str, Any] = {"occurred_at": f"2024-01-{1 + day % 28:02d}T{day % 24:02d}:00:00Z"}
    person, account = draw(st.sampled_from(PERSONS)), draw(st.sampled_from(ACCOUNTS))
    if kind == "status":
        fact |= {"type": "status_changed", "person_id": person,
                 "value": draw(st.sampled_from(VALUES))}
    elif kind == "account_status":
        fact |= {"type": "status_changed", "account_id": account,
                 "value": draw(st.sampled_from(VALUES))}
    elif kind == "hand":
        fact |= {"type": "hand_raised", "person_id": person,
                 "kind": draw(st.sampled_from(["demo_request", "contact_sales", "ebook"])),
                 "fit": draw(st.sampled_from(["high", "medium", "low"]))}
    elif kind == "disq":
        fact |= {"type": "disqualified", **({"person_id": person} if draw(st.booleans())
                                           else {"account_id": account})}
    elif kind == "left":
        fact |= {"type": "person_left", "person_id": person}
    elif kind == "link":
        fact |= {"type": "person_linked", "person_id": person, "account_id": account}
    elif kind == "stage":
        fact |= {"type": "status_changed", "opportunity_id": draw(st.sampled_from(
            OPPORTUNITIES)), "field": "StageName", "value": draw(st.sampled_from(STAGE_NAMES))}
    elif kind == "opp_link":
        fact |= {"type": "opportunity_linked", "account_id": account,
                 "opportunity_id": draw(st.sampled_from(OPPORTUNITIES)),
                 "kind": draw(st.sampled_from(["Renewal", "New Business"]))}
    elif kind == "role":
        fact |= {"type": "contact_role", "person_id": person,
                 "opportunity_id": draw(st.sampled_from(OPPORTUNITIES)),
                 "state": draw(st.sampled_from(["added", "added", "removed"]))}
    elif kind == "merge":
        ids = draw(st.sampled_from([("person", PERSONS), ("account", ACCOUNTS),
                                    ("opportunity", OPPORTUNITIES)]))
        first, later = sorted(draw(st.lists(st.integers(0, len(ids[1]) - 1), min_size=2,
                                            max_size=2, unique=True)))
        fact |= {"type": "merged", f"{ids[0]}_id": ids[1][first],
                 "merged_id": ids[1][later]}
    else:
        fact |= {"type": "renewal_flagged", "account_id": account,
                 "flag": draw(st.sampled_from(["renewal", "at_risk"])),
                 "state": draw(st.sampled_from(["raised", "cleared"]))}
    if draw(st.integers(0, 3)) == 0:
        fact |= {"source": "crm", "source_id": str(draw(st.integers(0, 5)))}
    return fact


BAD_ROWS = ['{"type": "status_changed", "person_id": "p1"}', "not json",
            '{"type": "hand_raised", "account_id": "a1", "kind": "x", '
            '"occurred_at": "2024-01-01T00:00:00Z"}']


class LedgerMachine(RuleBasedStateMachine):
    #: Set by the test: makes an empty store and returns its URL.
    new_store: Callable[[], str]

    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger(type(self).new_store())
        self.ledger.publish(definitions_from_data(variant("base")))
        self.stored: dict[uuid.UUID, str] = {}   # event id -> content hash
        self.retractions: set[uuid.UUID] = set()
        self.retracted: set[uuid.UUID] = set()
        self.published = 1

    recorded = Bundle("recorded")

    def teardown(self) -> None:
        self.ledger.close()

    # ---- the model ------------------------------------------------------------------------

    def _expect(self, fact: dict[str, Any]) -> tuple[uuid.UUID, bool]:
        """What storing `fact` should do: its id, and whether it is new (False: duplicate
        or rejected as a conflicting source id)."""
        parsed = parse_fact(fact)
        event_id = parsed.event_id()
        known = self.stored.get(event_id)
        return event_id, known is None

    def _stored_now(self, candidates: list[dict[str, Any]], committed: bool = True) -> None:
        if not committed:
            return
        for fact in candidates:
            parsed = parse_fact(fact)
            self.stored.setdefault(parsed.event_id(), parsed.content_hash())

    # ---- rules --------------------------------------------------------------------------------

    @rule(target=recorded, fact=facts())
    def record(self, fact: dict[str, Any]) -> uuid.UUID:
        event_id, new = self._expect(fact)
        parsed = parse_fact(fact)
        try:
            stored, _ = self.ledger.record(parsed)
        except LedgerError:
            assert self.stored[event_id] != parsed.content_hash()  # conflicting source id
            return event_id
        assert (stored is not None) == new
        self._stored_now([fact])
        return event_id

    @rule(batch=st.lists(facts(), max_size=12), strict=st.booleans(),
          bad=st.none() | st.sampled_from(BAD_ROWS))
    def import_file(self, batch: list[dict[str, Any]], strict: bool, bad: str | None) -> None:
        lines = [json.dumps(f) for f in batch] + ([bad] if bad else [])
        data = ("\n".join(lines) + "\n").encode()
        before = self.ledger.log.recorder.count_events()
        summary = import_rows(self.ledger, lambda: read_jsonl(io.BytesIO(data)), strict=strict)
        after = self.ledger.log.recorder.count_events()
        assert after - before == summary.stored
        conflicts = self._conflicts(batch)
        if strict and (bad or conflicts):
            assert not summary.committed and after == before
            return
        accepted = [f for f in batch if f not in conflicts]
        self._stored_now(accepted)
        assert summary.rejected == (1 if bad else 0) + len(conflicts)

    def _conflicts(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Facts of `batch` whose source id is known (or seen earlier in it) with other
        content: rejected rows."""
        seen = dict(self.stored)
        bad = []
        for fact in batch:
            parsed = parse_fact(fact)
            known = seen.setdefault(parsed.event_id(), parsed.content_hash())
            if known != parsed.content_hash():
                bad.append(fact)
        return bad

    @rule(batch=st.lists(facts(), min_size=1, max_size=8))
    def append_behind_the_projections(self, batch: list[dict[str, Any]]) -> None:
        conflicts = self._conflicts(batch)
        result = self.ledger.append([Candidate(parse_fact(f)) for f in batch])
        assert len(result.rejected) == len(conflicts)
        self._stored_now([f for f in batch if f not in conflicts])

    @rule(target=recorded, target_id=recorded)
    def retract(self, target_id: uuid.UUID) -> uuid.UUID:
        if target_id not in self.stored:
            return target_id
        subject = self.ledger.subject_of(target_id)
        fact = FactRetracted(**{f"{subject.type}_id": subject.id}, occurred_at=utc_now(),
                             target_event_id=target_id, reason="state machine")
        try:
            stored, _ = self.ledger.record(fact)
        except LedgerError as exc:
            assert target_id in self.retractions or target_id in self.retracted, str(exc)
            return target_id
        assert target_id not in self.retractions and target_id not in self.retracted
        assert stored is not None
        self.retracted.add(target_id)
        self.retractions.add(stored.event_id)
        self.stored[stored.event_id] = fact.content_hash()
        return stored.event_id

    @rule(name=st.sampled_from(["base", "alt", "no-rollup", "no-cascade"]))
    def backfill_definitions(self, name: str) -> None:
        data = variant(name)
        self.published += 1
        data["version"] = f"{name}-{self.published}"
        result = backfill(self.ledger, definitions_from_data(data))
        assert result["published"] and result["position"] == self.ledger.log.position()

    @rule()
    def rebuild(self) -> None:
        assert self.ledger.rebuild() == self.ledger.log.position()

    @rule()
    def catch_up(self) -> None:
        self.ledger.catch_up()
        assert self.ledger.position() == self.ledger.log.position()

    # ---- invariants ------------------------------------------------------------------------------

    @invariant()
    def facts_stored_exactly_once(self) -> None:
        ids = Counter(f.event_id for _, fs in self.ledger.iter_subjects() for f in fs)
        assert all(n == 1 for n in ids.values()), "a fact stored twice"
        assert set(ids) == set(self.stored)
        assert self.ledger.log.recorder.count_index() == len(ids) + self.published

    @invariant()
    def projections_are_consistent_and_equal_a_replay(self) -> None:
        check_views(self.ledger)
        report = verify(self.ledger)  # catches up first
        assert report.ok, report.problems
        check_views(self.ledger)


def check_views(ledger: Ledger) -> None:
    with ledger.engine.connect() as conn:
        current = {(r.subject_type, r.subject_id): r for r in conn.execute(select(
            tables.current))}
        moves: dict[tuple, list] = defaultdict(list)
        for r in conn.execute(select(tables.moves).order_by(tables.moves.c.ordinal)):
            moves[(r.subject_type, r.subject_id)].append(r)
        intervals: dict[tuple, list] = defaultdict(list)
        for r in conn.execute(select(tables.intervals).order_by(tables.intervals.c.ordinal)):
            intervals[(r.subject_type, r.subject_id)].append(r)
        stamps = list(conn.execute(select(tables.stamps)))
    for s in stamps:
        key = (s.subject_type, s.subject_id)
        if s.last_reached_at is not None:
            assert s.first_reached_at <= s.last_reached_at, s
        assert s.inferred == (s.times_reached == 0), s
        if s.inferred:
            assert s.last_reached_at is None, s
        assert s.times_reached == sum(m.to_stage == s.stage for m in moves[key]), s
    for key, rows in intervals.items():
        assert key in current, key
        assert len(rows) == len(moves[key]), key
        assert [r.ordinal for r in rows] == list(range(len(rows))), key
        for before, after in zip(rows, rows[1:], strict=False):
            assert before.exited_at is not None, (key, "an open interval before the last")
            assert before.entered_at <= before.exited_at <= after.entered_at, key
            if key[0] == "person":
                assert before.exited_at == after.entered_at, (key, "a gap")
            if before.exited_at == after.entered_at:
                assert before.stage != after.stage, (key, "a move to the same stage")
        assert rows[-1].exited_at is None or rows[-1].entered_at <= rows[-1].exited_at
    for key, row in current.items():
        open_rows = [r for r in intervals.get(key, []) if r.exited_at is None]
        if row.stage is None:
            assert not open_rows, key
        else:
            assert len(open_rows) == 1, (key, open_rows)
            assert open_rows[0].stage == row.stage and open_rows[0].entered_at == row.since


def _settings(examples: int, steps: int) -> settings:
    return settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                    derandomize=not RANDOM,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


def test_ledger_state_machine_on_sqlite(tmp_path: Path) -> None:
    counter = iter(range(10**6))
    LedgerMachine.new_store = staticmethod(  # type: ignore[assignment]
        lambda: f"sqlite:///{tmp_path / f'machine-{next(counter)}.db'}")
    run_state_machine_as_test(LedgerMachine, settings=_settings(max(2, EXAMPLES // 2), 20))


def test_ledger_state_machine_on_postgres(pg_url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)

    def fresh_schema() -> str:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")
        return pg_url

    LedgerMachine.new_store = staticmethod(fresh_schema)  # type: ignore[assignment]
    run_state_machine_as_test(LedgerMachine, settings=_settings(
        int(os.environ.get("LIFECYCLE_PG_MACHINE_EXAMPLES", "3")), 15))

