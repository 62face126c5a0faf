"""The ledger's contract, run unchanged on every store (as eventsourcing's persistence tests).

`LedgerContract` holds the tests; each backend subclasses it and supplies `url`.
Expected stages, stamps and moves below are worked out by hand from SPEC §4.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import report_calls as reports

from lifecycle.application.importing import ImportSummary, import_rows
from lifecycle.application.ledger import Ledger
from lifecycle.application.verify import verify
from lifecycle.domain.definitions import Definitions, load_definitions
from lifecycle.domain.errors import LedgerError
from lifecycle.domain.facts import FactRetracted, parse_fact
from lifecycle.domain.timeutil import utc_now
from lifecycle.importers.canonical import read_csv, read_jsonl
from projections.queries.stages import table_rows


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def jsonl(*facts: dict[str, Any] | str) -> bytes:
    return "".join((f if isinstance(f, str) else json.dumps(f)) + "\n"
                   for f in facts).encode()


def status(pid: str, value: str, when: str, field: str | None = None,
           **extra: Any) -> dict[str, Any]:
    fact = {"type": "status_changed", "person_id": pid, "value": value, "occurred_at": when}
    if field is not None:
        fact["field"] = field
    return {**fact, **extra}


def hand(pid: str, kind: str, fit: str | None, when: str) -> dict[str, Any]:
    fact = {"type": "hand_raised", "person_id": pid, "kind": kind, "occurred_at": when}
    return fact if fit is None else {**fact, "fit": fit}


def link(pid: str, aid: str, when: str) -> dict[str, Any]:
    return {"type": "person_linked", "person_id": pid, "account_id": aid, "occurred_at": when}


def stamp(kind: str, sid: str, stage: str, first: str, last: str | None, times: int
          ) -> dict[str, Any]:
    return {"subject_type": kind, "subject_id": sid, "stage": stage,
            "first_reached_at": first, "last_reached_at": last, "times_reached": times,
            "inferred": times == 0}


def move(kind: str, sid: str, when: str, old: str | None, new: str, direction: str
         ) -> tuple[str, str, str, str | None, str, str]:
    return (kind, sid, when, old, new, direction)


def counts(data: dict[str, Any]) -> dict[str, int]:
    """The non-zero stage counts of a `report stages` document."""
    return {s["stage"]: s["count"] for s in data["stages"] if s["count"]}


# Persons p1, p2, p3 of the hand-worked example (b2b-2024 definitions).
P1 = [
    status("p1", "subscriber", "2024-01-01T00:00:00Z"),                   # entry new
    hand("p1", "demo_request", "High", "2024-01-10T00:00:00Z"),           # forward mql
    status("p1", "salesqualifiedlead", "2024-02-01T00:00:00Z"),           # forward sql
    status("p1", "Closed - Not Converted", "2024-03-01T00:00:00Z", "Status"),  # exit
    status("p1", "lead", "2024-04-01T00:00:00Z"),                         # reentry verified
]
P2 = [
    hand("p2", "contact_sales", "low", "2024-01-05T00:00:00Z"),           # fit too low
    status("p2", "marketingqualifiedlead", "2024-01-06T00:00:00Z"),       # entry mql
    hand("p2", "demo_request", "high", "2024-01-07T00:00:00Z"),           # signal
    status("p2", "lead", "2024-01-20T00:00:00Z"),                         # backward verified
]
P3 = [
    status("p3", "  SubScriber ", "2024-01-15T00:00:00+01:00"),           # entry new
    status("p3", "", "2024-01-16T00:00:00Z"),                             # cleared
    status("p3", "no-such-value", "2024-01-17T00:00:00Z"),                # unmapped
]
EXPECTED_MOVES = [
    move("person", "p1", "2024-01-01T00:00:00Z", None, "new", "entry"),
    move("person", "p1", "2024-01-10T00:00:00Z", "new", "mql", "forward"),
    move("person", "p1", "2024-02-01T00:00:00Z", "mql", "sql", "forward"),
    move("person", "p1", "2024-03-01T00:00:00Z", "sql", "disqualified", "exit"),
    move("person", "p1", "2024-04-01T00:00:00Z", "disqualified", "verified", "reentry"),
    move("person", "p2", "2024-01-06T00:00:00Z", None, "mql", "entry"),
    move("person", "p2", "2024-01-20T00:00:00Z", "mql", "verified", "backward"),
    move("person", "p3", "2024-01-14T23:00:00Z", None, "new", "entry"),
]
EXPECTED_STAMPS = [
    stamp("person", "p1", "new", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", 1),
    stamp("person", "p1", "verified", "2024-01-10T00:00:00Z", "2024-04-01T00:00:00Z", 1),
    stamp("person", "p1", "mql", "2024-01-10T00:00:00Z", "2024-01-10T00:00:00Z", 1),
    stamp("person", "p1", "sal", "2024-02-01T00:00:00Z", None, 0),
    stamp("person", "p1", "meeting_set", "2024-02-01T00:00:00Z", None, 0),
    stamp("person", "p1", "sql", "2024-02-01T00:00:00Z", "2024-02-01T00:00:00Z", 1),
    stamp("person", "p1", "disqualified", "2024-03-01T00:00:00Z", "2024-03-01T00:00:00Z", 1),
    stamp("person", "p2", "new", "2024-01-06T00:00:00Z", None, 0),
    stamp("person", "p2", "verified", "2024-01-06T00:00:00Z", "2024-01-20T00:00:00Z", 1),
    stamp("person", "p2", "mql", "2024-01-06T00:00:00Z", "2024-01-06T00:00:00Z", 1),
    stamp("person", "p3", "new", "2024-01-14T23:00:00Z", "2024-01-14T23:00:00Z", 1),
]


class LedgerContract:
    """What every store must do. Subclasses provide the `url` fixture."""

    @pytest.fixture
    def definitions(self, definitions_yaml: str) -> Definitions:
        return load_definitions(definitions_yaml)

    @pytest.fixture
    def ledger(self, url: str, definitions: Definitions) -> Iterator[Ledger]:
        with Ledger(url) as ledger:
            ledger.publish(definitions)
            yield ledger

    @staticmethod
    def load(ledger: Ledger, data: bytes, *, strict: bool = False, fmt: str = "jsonl"
             ) -> ImportSummary:
        reader = read_jsonl if fmt == "jsonl" else read_csv
        return import_rows(ledger, lambda: reader(io.BytesIO(data)), strict=strict,
                           batch_size=3)

    @staticmethod
    def moves(ledger: Ledger, **options: Any) -> list[tuple[Any, ...]]:
        return [(m["subject_type"], m["subject_id"], m["occurred_at"], m["from_stage"],
                 m["to_stage"], m["direction"]) for m in reports.moves(ledger, **options)]

    @staticmethod
    def assert_projections_fresh(ledger: Ledger) -> None:
        result = verify(ledger)
        assert result.ok, result.problems
        definitions = ledger.active_definitions().definitions
        scratch = ledger.scratch(definitions)
        with ledger.engine.connect() as live, scratch.connect() as fresh:
            assert table_rows(live) == table_rows(fresh)
        scratch.dispose()

    # ---- definitions -------------------------------------------------------------------

    def test_publish_is_idempotent_per_label(self, url: str, definitions: Definitions
                                             ) -> None:
        with Ledger(url) as ledger:
            first, new = ledger.publish(definitions)
            assert new
            again, new_again = ledger.publish(definitions)
            assert not new_again
            assert (again.event_id, again.recorded_at) == (first.event_id, first.recorded_at)
            assert [d.definitions.version for d in ledger.definitions_log()] == ["b2b-2024"]

    def test_same_label_other_content_is_an_error(self, ledger: Ledger,
                                                  definitions_yaml: str) -> None:
        changed = load_definitions(definitions_yaml.replace("stamp_skipped: true",
                                                            "stamp_skipped: false"))
        with pytest.raises(LedgerError, match="already published with other content"):
            ledger.publish(changed)
        assert len(ledger.definitions_log()) == 1
        assert ledger.active_definitions().definitions.stamp_skipped is True

    def test_a_new_label_becomes_active(self, ledger: Ledger, definitions_yaml: str) -> None:
        self.load(ledger, jsonl(*P1))
        newer = load_definitions(definitions_yaml.replace('version: "b2b-2024"',
                                                          'version: "b2b-2024.2"')
                                 .replace("stamp_skipped: true", "stamp_skipped: false"))
        recorded, new = ledger.publish(newer)
        assert new
        assert ledger.active_definitions().definitions.version == "b2b-2024.2"
        assert [d.definitions.version for d in ledger.definitions_log()] == [
            "b2b-2024", "b2b-2024.2"]
        stamps = reports.stamps(ledger, "person")
        assert [s["stage"] for s in stamps if s["inferred"]] == []
        self.assert_projections_fresh(ledger)

    def test_the_ledger_needs_definitions(self, url: str) -> None:
        with Ledger(url) as ledger, pytest.raises(LedgerError, match="no definitions yet"):
            reports.stages(ledger, at("2024-01-01T00:00:00Z"))

    # ---- importing ---------------------------------------------------------------------

    def test_reimport_stores_nothing(self, ledger: Ledger) -> None:
        data = jsonl(*P1, *P2)
        first = self.load(ledger, data)
        assert (first.read, first.stored, first.duplicate, first.rejected) == (9, 9, 0, 0)
        position = ledger.log.position()
        second = self.load(ledger, data)
        assert (second.read, second.stored, second.duplicate, second.rejected) == (9, 0, 9, 0)
        assert ledger.log.position() == position

    def test_duplicates_within_a_file(self, ledger: Ledger) -> None:
        fact = status("p1", "lead", "2024-01-01T00:00:00Z")
        same_instant = {**fact, "occurred_at": "2024-01-01T01:00:00+01:00"}
        reordered = dict(reversed(list(fact.items())))
        with_default = {**fact, "field": "lifecycle_stage"}
        keyed = status("p1", "customer", "2024-05-01T00:00:00Z", source="crm", source_id="9")
        data = jsonl(fact, "", same_instant, reordered, with_default, keyed, keyed)
        summary = self.load(ledger, data)
        assert (summary.read, summary.stored, summary.duplicate, summary.rejected) == (
            6, 2, 4, 0)

    def test_csv_and_jsonl_name_the_same_fact(self, ledger: Ledger) -> None:
        self.load(ledger, jsonl(status("p1", "lead", "2024-01-01T00:00:00Z")))
        data = (b"type,person_id,value,occurred_at,source\n"
                b"status_changed,p1,lead,2024-01-01T00:00:00Z,\n")
        summary = self.load(ledger, data, fmt="csv")
        assert (summary.read, summary.stored, summary.duplicate) == (1, 0, 1)

    def test_same_source_id_other_content_is_rejected(self, ledger: Ledger) -> None:
        first = status("p1", "lead", "2024-01-01T00:00:00Z", source="crm", source_id="7")
        self.load(ledger, jsonl(first))
        other = {**first, "value": "customer"}
        also = status("p2", "lead", "2024-01-01T00:00:00Z", source="crm", source_id="8")
        also_other = {**also, "occurred_at": "2024-01-02T00:00:00Z"}
        summary = self.load(ledger, jsonl(other, also, also_other))
        assert (summary.read, summary.stored, summary.duplicate, summary.rejected) == (
            3, 1, 0, 2)
        assert [(r.line, r.field) for r in summary.rejections] == [
            (1, "source_id"), (3, "source_id")]
        assert summary.rejections[0].raw == json.dumps(other)
        assert counts(reports.stages(ledger, at("2024-06-01T00:00:00Z"))) == {"verified": 2}

    def test_bad_rows_are_rejected_and_the_rest_stored(self, ledger: Ledger) -> None:
        data = jsonl(P1[0], "{not json", status("p2", "lead", "2024-01-01T00:00:00"),
                     {"type": "status_changed", "value": "lead",
                      "occurred_at": "2024-01-01T00:00:00Z"}, P1[1])
        summary = self.load(ledger, data)
        assert (summary.read, summary.stored, summary.rejected) == (5, 2, 3)
        assert [(r.line, r.field) for r in summary.rejections] == [
            (2, None), (3, "occurred_at"), (4, "person_id")]

    def test_strict_import_stores_nothing_when_a_row_is_bad(self, ledger: Ledger) -> None:
        position = ledger.log.position()
        data = jsonl(*P1, status("p2", "lead", "not a time"))
        summary = self.load(ledger, data, strict=True)
        assert not summary.committed
        assert (summary.read, summary.stored, summary.rejected) == (6, 0, 1)
        assert ledger.log.position() == position
        assert reports.moves(ledger) == []

    def test_strict_import_stores_nothing_when_a_row_conflicts(self, ledger: Ledger) -> None:
        keyed = status("p9", "lead", "2024-01-01T00:00:00Z", source="crm", source_id="1")
        self.load(ledger, jsonl(keyed))
        position = ledger.log.position()
        # Every row parses; the conflict shows only against the store, in the last batch.
        data = jsonl(*P1, *P2, {**keyed, "value": "customer"})
        summary = self.load(ledger, data, strict=True)
        assert not summary.committed
        assert (summary.stored, summary.rejected) == (0, 1)
        assert ledger.log.position() == position
        assert self.moves(ledger) == [
            move("person", "p9", "2024-01-01T00:00:00Z", None, "verified", "entry")]
        assert self.load(ledger, jsonl(*P1, *P2), strict=True).stored == 9

    # ---- retractions -------------------------------------------------------------------

    def test_retraction_rules(self, ledger: Ledger) -> None:
        self.load(ledger, jsonl(*P2))
        target = parse_fact(P2[3]).event_id()

        def retract(event_id: Any, reason: str) -> Any:
            fact = FactRetracted(person_id="p2", occurred_at=utc_now(),
                                 target_event_id=event_id, reason=reason)
            stored, _ = ledger.record(fact)
            return stored

        unknown = parse_fact(status("p2", "lead", "2030-01-01T00:00:00Z")).event_id()
        with pytest.raises(LedgerError, match=f"no fact {unknown} is recorded"):
            retract(unknown, "unknown")
        retraction = retract(target, "typo")
        with pytest.raises(LedgerError, match="already retracted"):
            retract(target, "again")
        with pytest.raises(LedgerError, match="a retraction cannot be retracted"):
            retract(retraction.event_id, "undo")
        other = FactRetracted(person_id="p1", occurred_at=utc_now(),
                              target_event_id=parse_fact(P2[1]).event_id())
        with pytest.raises(LedgerError, match="is about person 'p2'"):
            ledger.record(other)
        assert self.moves(ledger) == [
            move("person", "p2", "2024-01-06T00:00:00Z", None, "mql", "entry")]
        self.assert_projections_fresh(ledger)

    def test_retractions_in_a_file(self, ledger: Ledger) -> None:
        self.load(ledger, jsonl(*P2))
        target = str(parse_fact(P2[1]).event_id())

        def retraction(when: str, target_id: str = target) -> dict[str, Any]:
            return {"type": "retracted", "person_id": "p2", "occurred_at": when,
                    "target_event_id": target_id}

        unknown = "00000000-0000-0000-0000-000000000001"
        summary = self.load(ledger, jsonl(retraction("2024-06-01T00:00:00Z"),
                                          retraction("2024-06-02T00:00:00Z"),
                                          retraction("2024-06-03T00:00:00Z", unknown)))
        assert summary.stored == 1
        assert [(r.line, r.field) for r in summary.rejections] == [
            (2, "target_event_id"), (3, "target_event_id")]
        # Without the mql status, p2's qualifying hand raise is what brings it in.
        assert self.moves(ledger) == [
            move("person", "p2", "2024-01-07T00:00:00Z", None, "mql", "entry"),
            move("person", "p2", "2024-01-20T00:00:00Z", "mql", "verified", "backward")]
        self.assert_projections_fresh(ledger)

    # ---- derivation through the read models --------------------------------------------

    def test_hand_worked_stages_stamps_and_moves(self, ledger: Ledger) -> None:
        summary = self.load(ledger, jsonl(*P1, *P2, *P3))
        assert (summary.stored, summary.rejected) == (12, 0)
        assert self.moves(ledger) == EXPECTED_MOVES
        assert reports.stamps(ledger) == EXPECTED_STAMPS
        stages = reports.stages(ledger, at("2024-02-15T00:00:00Z"))
        assert counts(stages) == {"new": 1, "verified": 1, "sql": 1}
        assert stages["total"] == 3
        assert counts(reports.stages(ledger, at("2024-03-15T00:00:00Z"))) == {
            "new": 1, "verified": 1, "disqualified": 1}
        assert counts(reports.stages(ledger, at("2024-01-01T00:00:00Z"))) == {"new": 1}
        assert reports.stages(ledger, at("2023-12-31T23:59:59Z"))["total"] == 0

    def test_moves_filters(self, ledger: Ledger) -> None:
        self.load(ledger, jsonl(*P1, *P2, *P3))
        window = self.moves(ledger, since=at("2024-01-06T00:00:00Z"),
                            until=at("2024-02-01T00:00:00Z"))
        assert window == [EXPECTED_MOVES[1], EXPECTED_MOVES[5], EXPECTED_MOVES[6],
                          EXPECTED_MOVES[7]]
        assert self.moves(ledger, directions=["backward", "reentry"]) == [
            EXPECTED_MOVES[4], EXPECTED_MOVES[6]]
        assert self.moves(ledger, level="account") == []

    def test_incremental_projections_equal_a_rebuild(self, ledger: Ledger) -> None:
        batches = [P1[:2] + P2[:1], P3 + P2[1:3],
                   P1[2:] + [link("p1", "acme", "2024-01-03T00:00:00Z")],
                   P2[3:] + [link("p2", "acme", "2024-01-02T00:00:00Z")]]
        for batch in batches:
            self.load(ledger, jsonl(*batch))
            self.assert_projections_fresh(ledger)
        persons = [m for m in self.moves(ledger) if m[0] == "person"]
        assert persons == EXPECTED_MOVES
        ledger.rebuild()
        assert [m for m in self.moves(ledger) if m[0] == "person"] == EXPECTED_MOVES

    def test_known_at_reprints_an_earlier_report(self, ledger: Ledger) -> None:
        self.load(ledger, jsonl(*P1[:3], *P2))
        as_of = at("2024-03-15T00:00:00Z")
        before = {"stages": reports.stages(ledger, as_of), "moves": reports.moves(ledger),
                  "stamps": reports.stamps(ledger)}
        time.sleep(0.01)
        known_at = utc_now()
        time.sleep(0.01)
        self.load(ledger, jsonl(*P1[3:], *P3))
        retracted = FactRetracted(person_id="p2", occurred_at=utc_now(),
                                  target_event_id=parse_fact(P2[3]).event_id())
        ledger.record(retracted)
        now = reports.stages(ledger, as_of)
        assert now != before["stages"]
        then = reports.stages(ledger, as_of, known_at=known_at)
        assert then == {**before["stages"], "known_at": then["known_at"]}
        assert then["known_at"] is not None
        assert reports.moves(ledger, known_at=known_at) == before["moves"]
        assert reports.stamps(ledger, known_at=known_at) == before["stamps"]
        with pytest.raises(LedgerError, match="no definitions had been published"):
            reports.stages(ledger, as_of, known_at=at("2000-01-01T00:00:00Z"))

    def test_account_rollup_follows_its_persons(self, ledger: Ledger) -> None:
        def accounts(when: str) -> dict[str, int]:
            return counts(reports.stages(ledger, at(when), "account"))

        self.load(ledger, jsonl(
            link("p1", "acme", "2024-01-01T00:00:00Z"),
            status("p1", "subscriber", "2024-01-02T00:00:00Z"),
            status("p1", "marketingqualifiedlead", "2024-01-10T00:00:00Z"),
            link("p2", "acme", "2024-01-05T00:00:00Z"),
            status("p2", "salesqualifiedlead", "2024-01-20T00:00:00Z")))
        acme = [
            move("account", "acme", "2024-01-02T00:00:00Z", None, "new", "entry"),
            move("account", "acme", "2024-01-10T00:00:00Z", "new", "mql", "forward"),
            move("account", "acme", "2024-01-20T00:00:00Z", "mql", "sql", "forward"),
        ]
        assert self.moves(ledger, level="account") == acme
        assert accounts("2024-02-15T00:00:00Z") == {"sql": 1}
        self.assert_projections_fresh(ledger)

        # p2 is disqualified (no rank): acme falls back to p1's stage.
        self.load(ledger, jsonl({"type": "disqualified", "person_id": "p2",
                                 "occurred_at": "2024-02-01T00:00:00Z"}))
        acme.append(move("account", "acme", "2024-02-01T00:00:00Z", "sql", "mql", "backward"))
        assert self.moves(ledger, level="account") == acme
        assert accounts("2024-02-15T00:00:00Z") == {"mql": 1}
        self.assert_projections_fresh(ledger)

        # p1 moves to globex: acme has no ranked member left and no stage of its own.
        self.load(ledger, jsonl(link("p1", "globex", "2024-03-01T00:00:00Z")))
        globex = [move("account", "globex", "2024-03-01T00:00:00Z", None, "mql", "entry")]
        assert self.moves(ledger, level="account") == acme + globex
        assert accounts("2024-03-15T00:00:00Z") == {"mql": 1}
        assert reports.stages(ledger, at("2024-03-15T00:00:00Z"), "account")["total"] == 1
        self.assert_projections_fresh(ledger)

        # acme's own fact: after falling to none, its next transition is an entry.
        self.load(ledger, jsonl({"type": "status_changed", "account_id": "acme",
                                 "value": "customer", "occurred_at": "2024-04-01T00:00:00Z"}))
        acme.append(move("account", "acme", "2024-04-01T00:00:00Z", None, "customer", "entry"))
        assert self.moves(ledger, level="account") == acme + globex
        assert accounts("2024-04-15T00:00:00Z") == {"mql": 1, "customer": 1}
        assert reports.stamps(ledger, "account") == [
            stamp("account", "acme", "new", "2024-01-02T00:00:00Z", "2024-01-02T00:00:00Z", 1),
            stamp("account", "acme", "verified", "2024-01-10T00:00:00Z", None, 0),
            stamp("account", "acme", "mql", "2024-01-10T00:00:00Z", "2024-02-01T00:00:00Z", 2),
            stamp("account", "acme", "sal", "2024-01-20T00:00:00Z", None, 0),
            stamp("account", "acme", "meeting_set", "2024-01-20T00:00:00Z", None, 0),
            stamp("account", "acme", "sql", "2024-01-20T00:00:00Z", "2024-01-20T00:00:00Z", 1),
            stamp("account", "acme", "late_stage", "2024-04-01T00:00:00Z", None, 0),
            stamp("account", "acme", "customer", "2024-04-01T00:00:00Z",
                  "2024-04-01T00:00:00Z", 1),
            stamp("account", "globex", "new", "2024-03-01T00:00:00Z", None, 0),
            stamp("account", "globex", "verified", "2024-03-01T00:00:00Z", None, 0),
            stamp("account", "globex", "mql", "2024-03-01T00:00:00Z", "2024-03-01T00:00:00Z",
                  1),
        ]
        self.assert_projections_fresh(ledger)


class TestLedgerOnSQLite(LedgerContract):
    @pytest.fixture
    def url(self, sqlite_url: str) -> str:
        return sqlite_url


@pytest.mark.postgres
class TestLedgerOnPostgres(LedgerContract):
    @pytest.fixture
    def url(self, pg_url: str) -> str:
        return pg_url
