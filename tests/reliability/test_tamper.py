"""Tampering behind the ledger's back shows: `lifecycle verify` exits 1 and names each
tampered fact or differing table; an intact store exits 0. On SQLite (edited with sqlite3)
and PostgreSQL (edited with psycopg).

Edits: a fact's content changed, its bytes replaced by garbage, a fact deleted (in the
middle and at the end of its stream), two versions of a stream swapped, a forged event
inserted (with a chain hash computed the ledger's way, and with a made-up one), and
projection rows changed, deleted or added.

The log chain (over the whole log, in its global order): published definitions edited; a
stream's newest fact or a retraction deleted with its fact-index row (and with its chain
row too); the log reordered; its tail truncated (caught by `--expect-head`); history
rewritten with every hash recomputed the ledger's way (caught by `--expect-head` and by a
keyed chain, not by the chain alone); a retraction's index record cleared; a projection's
position moved ahead of the log; an index page of the SQLite file damaged. After each
attack on the log, verify never advises `lifecycle rebuild`, and a rebuild does not make
it pass.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from lifecycle.application.ledger import Ledger
from lifecycle.domain.facts import parse_fact
from lifecycle.domain.recorded import RecordedFact
from lifecycle.domain.timeutil import format_instant, utc_now
from lifecycle.store.integrity import chain_hash

from .conftest import load
from .strategies import invoke


@dataclass
class Event:
    stream: uuid.UUID
    version: int
    topic: str
    state: bytes

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.state)

    @property
    def event_id(self) -> str:
        return str(self.body["event_id"])


class Raw:
    """Direct SQL on the store, as someone with database access would do it."""

    def __init__(self, url: str):
        with Ledger(url) as ledger:  # stored_events on SQLite, lifecycle_events on PostgreSQL
            self.table = ledger.log.recorder.events_table_name  # type: ignore[attr-defined]
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            import sqlite3

            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
        else:
            import psycopg

            self.conn = psycopg.connect(make_url(url).set(drivername="postgresql")
                                        .render_as_string(hide_password=False))

    def run(self, sql: str, *params: Any) -> list[tuple]:
        sql = sql.replace("stored_events", self.table)
        if self.sqlite:
            sql = sql.replace("%s", "?")
        cursor = self.conn.execute(sql, params)
        rows = cursor.fetchall() if cursor.description else []
        self.conn.commit()
        return rows

    def sid(self, stream: uuid.UUID) -> Any:
        return stream.hex if self.sqlite else stream

    def streams(self) -> dict[uuid.UUID, list[Event]]:
        found: dict[uuid.UUID, list[Event]] = {}
        for stream, version, topic, state in self.run(
                "SELECT originator_id, originator_version, topic, state FROM stored_events "
                "ORDER BY originator_id, originator_version"):
            stream = stream if isinstance(stream, uuid.UUID) else uuid.UUID(stream)
            if topic == "lifecycle:DefinitionsPublished":
                continue
            found.setdefault(stream, []).append(Event(stream, version, topic, bytes(state)))
        return found

    def set_state(self, event: Event, state: bytes) -> None:
        self.run("UPDATE stored_events SET state = %s WHERE originator_id = %s AND "
                 "originator_version = %s", state, self.sid(event.stream), event.version)

    def set_version(self, event: Event, version: int) -> None:
        self.run("UPDATE stored_events SET originator_version = %s WHERE originator_id = %s "
                 "AND originator_version = %s", version, self.sid(event.stream), event.version)

    def delete(self, event: Event) -> None:
        self.run("DELETE FROM stored_events WHERE originator_id = %s AND "
                 "originator_version = %s", self.sid(event.stream), event.version)

    def insert(self, stream: uuid.UUID, version: int, topic: str, state: bytes) -> None:
        self.run("INSERT INTO stored_events (originator_id, originator_version, topic, state) "
                 "VALUES (%s, %s, %s, %s)", self.sid(stream), version, topic, state)

    @property
    def position_column(self) -> str:
        return "rowid" if self.sqlite else "notification_id"

    def eid(self, event_id: str) -> Any:
        return uuid.UUID(event_id).hex if self.sqlite else uuid.UUID(event_id)

    def log(self) -> list[tuple[int, Event]]:
        """Every event with its log position, in log order (definitions included)."""
        return [(seq, Event(stream if isinstance(stream, uuid.UUID) else uuid.UUID(stream),
                            version, topic, bytes(state)))
                for seq, stream, version, topic, state in self.run(
                    f"SELECT {self.position_column}, originator_id, originator_version, "
                    f"topic, state FROM stored_events ORDER BY {self.position_column}")]

    def chain(self) -> list[tuple[int, str, str, str | None]]:
        return [(entry, str(uuid.UUID(str(event_id))), hash_, seal) for entry, event_id, hash_,
                seal in self.run("SELECT entry, event_id, hash, seal FROM log_chain "
                                 "ORDER BY entry")]

    def delete_index(self, event: Event) -> None:
        self.run("DELETE FROM fact_index WHERE event_id = %s", self.eid(event.event_id))

    def delete_chain(self, event: Event) -> None:
        self.run("DELETE FROM log_chain WHERE event_id = %s", self.eid(event.event_id))

    def set_seq(self, event: Event, seq: int) -> None:
        self.run(f"UPDATE stored_events SET {self.position_column} = %s WHERE "
                 "originator_id = %s AND originator_version = %s", seq,
                 self.sid(event.stream), event.version)

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def store(store_url: str, tmp_path: Path) -> str:
    url = load(store_url, tmp_path)
    assert verify(url) == (0, verify(url)[1]), "the store is not intact before tampering"
    return url


@contextmanager
def raw(url: str) -> Iterator[Raw]:
    db = Raw(url)
    try:
        yield db
    finally:
        db.close()


def verify(url: str, *args: str) -> tuple[int, str]:
    result = invoke(["--db", url, "verify", *args])
    return result.exit_code, result.output


def tampered(url: str, *args: str) -> str:
    code, output = verify(url, *args)
    assert code == 1, output
    assert "intact" not in output.splitlines()[-1], output
    return output


def _stream_with(db: Raw, minimum: int, topic: str | None = None) -> list[Event]:
    for events in db.streams().values():
        if len(events) >= minimum and (topic is None or events[0].topic == topic):
            return events
    raise AssertionError(f"no stream with {minimum} facts")


def test_intact_store_verifies(store: str) -> None:
    code, output = verify(store)
    assert code == 0, output
    assert output.rstrip().endswith(": intact")


def test_changed_fact_is_named(store: str) -> None:
    with raw(store) as db:
        event = next(e for events in db.streams().values() for e in events
                     if e.topic == "lifecycle:StatusChanged" and b'"value":"' in e.state)
        value = event.body["value"]
        db.set_state(event, event.state.replace(f'"value":"{value}"'.encode(),
                                                b'"value":"customer!"'))
    output = tampered(store)
    assert event.event_id in output
    assert "chain hash does not match" in output
    assert "differs from what was recorded" in output


def test_garbage_bytes_are_a_finding_not_a_crash(store: str) -> None:
    with raw(store) as db:
        event = _stream_with(db, 2)[0]
        db.set_state(event, b"\x00\xffnot json at all")
    output = tampered(store)
    assert "cannot be read back" in output
    assert str(event.stream) in output


def test_deleted_fact_in_the_middle_of_a_stream_is_named(store: str) -> None:
    with raw(store) as db:
        events = _stream_with(db, 3)
        db.delete(events[1])
    output = tampered(store)
    assert f"stream {events[1].stream}, version 3): expected version 2" in output
    assert events[2].event_id in output  # its chain no longer matches
    assert re.search(r"fact index holds (\d+) rows for \1 stored events", output) is None
    assert "events were deleted or inserted" in output


def test_deleted_last_fact_shows_in_the_index_and_the_projections(store: str) -> None:
    with raw(store) as db:
        events = _stream_with(db, 2, "lifecycle:StatusChanged")
        db.delete(events[-1])
    output = tampered(store)
    assert "events were deleted or inserted" in output
    assert "differs from a fresh replay" in output  # the projections still count it


def test_swapped_versions_are_named(store: str) -> None:
    with raw(store) as db:
        first, second = _stream_with(db, 2)[:2]
        db.set_version(first, 10_000)
        db.set_version(second, first.version)
        db.run("UPDATE stored_events SET originator_version = %s WHERE originator_id = %s "
               "AND originator_version = 10000", second.version, db.sid(first.stream))
    output = tampered(store)
    assert first.event_id in output and second.event_id in output
    assert "chain hash does not match" in output


def _forge(url: str, db: Raw, honest_chain: bool) -> str:
    """A new status change appended to an existing stream, encoded as the ledger would."""
    events = _stream_with(db, 1)
    last = events[-1]
    body = last.body
    subject = {k: body[k] for k in ("person_id", "account_id") if k in body}
    if body["type"] == "person_linked":
        subject = {"person_id": body["person_id"]}
    fact = parse_fact({"type": "status_changed", **subject, "value": "customer",
                       "occurred_at": "2024-06-01T00:00:00Z", "actor": "mallory"})
    now = utc_now()
    chain = chain_hash(body["chain"], fact.event_id(), format_instant(now),
                       fact.canonical_json()) if honest_chain else "0" * 64
    with Ledger(url) as ledger:
        stored = ledger.log.mapper.fact_to_stored(
            RecordedFact(fact, fact.event_id(), now, last.version + 1, chain=chain))
    db.insert(stored.originator_id, stored.originator_version, stored.topic, stored.state)
    return str(fact.event_id())


@pytest.mark.parametrize("honest_chain", [True, False])
def test_forged_event_is_named(store: str, honest_chain: bool) -> None:
    with raw(store) as db:
        forged = _forge(store, db, honest_chain)
    output = tampered(store)
    assert f"fact {forged} (" in output
    assert "is not in the fact index" in output
    if not honest_chain:
        assert "chain hash does not match" in output


@pytest.mark.parametrize("edit, table", [
    ("UPDATE lc_current SET stage = 'customer' WHERE stage <> 'customer'", "lc_current"),
    ("DELETE FROM lc_stamps WHERE stage = 'new'", "lc_stamps"),
    ("UPDATE lc_moves SET direction = 'backward' WHERE direction = 'forward'", "lc_moves"),
    ("DELETE FROM lc_intervals WHERE exited_at IS NULL", "lc_intervals"),
    ("UPDATE lc_memberships SET account_id = 'elsewhere'", "lc_memberships"),
])
def test_changed_projection_rows_name_the_table(store: str, edit: str, table: str) -> None:
    with raw(store) as db:
        db.run(edit)
    output = tampered(store)
    assert f"{table}: differs from a fresh replay" in output
    assert f"  {table}: " in output  # with example rows
    assert "note: the views differ from a replay of a log that passed its checks: " \
           "`lifecycle rebuild` replaces them" in output
    # `rebuild` repairs projections (the log is intact): verify passes again.
    assert invoke(["--db", store, "rebuild"]).exit_code == 0
    assert verify(store)[0] == 0


def test_every_tampering_at_once_is_reported(store: str) -> None:
    with raw(store) as db:
        streams = [events for events in db.streams().values() if len(events) >= 3]
        changed, deleted = streams[0][0], streams[1][1]
        db.set_state(changed, re.sub(rb'"occurred_at":"\d{4}', b'"occurred_at":"2001',
                                     changed.state))
        db.delete(deleted)
        forged = _forge(store, db, honest_chain=True)
        db.run("UPDATE lc_current SET stage = NULL")
    output = tampered(store)
    for needle in (changed.event_id, f"stream {deleted.stream}", forged, "lc_current"):
        assert needle in output, needle


# ---- the log chain: definitions, deletions with the index, order, tail, rewrites ---------

NO_REBUILD = "`lifecycle rebuild` replaces"  # the advice verify gives only over a sound log


def log_tampered(url: str, *args: str) -> str:
    """verify fails, advises no rebuild, and still fails after a rebuild made anyway."""
    output = tampered(url, *args)
    assert NO_REBUILD not in output, output
    assert invoke(["--db", url, "rebuild"]).exit_code == 0
    again = tampered(url, *args)
    assert NO_REBUILD not in again, again
    return output


def head(url: str) -> str:
    code, output = verify(url)
    assert code == 0, output
    return next(line for line in output.splitlines() if line.startswith("head "))[5:]


def _newest_of_a_stream(db: Raw) -> Event:
    """The newest fact of a stream of several, not the log's newest event."""
    newest = db.log()[-1][1]
    for events in db.streams().values():
        if len(events) >= 2 and events[-1].event_id != newest.event_id:
            return events[-1]
    raise AssertionError("no such stream")


def test_edited_definitions_are_named(store: str) -> None:
    with raw(store) as db:
        seq, published = next((seq, e) for seq, e in db.log()
                              if e.topic == "lifecycle:DefinitionsPublished")
        assert b'"customer":"customer"' in published.state
        db.run("UPDATE stored_events SET state = %s WHERE originator_id = %s", published.state
               .replace(b'"customer":"customer"', b'"customer":"mql"'), db.sid(published.stream))
    output = log_tampered(store)
    assert f"definitions 'b2b-2024', event {published.event_id} (log entry 1, log position " \
           f"{seq}): does not match its link in the log chain" in output
    assert f"definitions 'b2b-2024' (event {published.event_id}, log position {seq}) differs " \
           "from what was recorded" in output
    assert "note: the log failed its checks above: do not rebuild" in output


@pytest.mark.parametrize("chain_row_too", [False, True])
def test_newest_fact_of_a_stream_deleted_with_its_index_row_is_named(
        store: str, chain_row_too: bool) -> None:
    with raw(store) as db:
        victim = _newest_of_a_stream(db)
        entries = {event_id: entry for entry, event_id, _, _ in db.chain()}
        entry = entries[victim.event_id]
        before, after = (event_id for event_id, e in entries.items() if e in (entry - 1,
                                                                              entry + 1))
        db.delete(victim)
        db.delete_index(victim)
        if chain_row_too:
            db.delete_chain(victim)
    output = log_tampered(store)
    if chain_row_too:  # every trace of it is gone: the gap is named by its neighbours
        assert f"log entry {entry} and its event are missing: deleted behind the ledger's " \
               f"back, between event {before} (entry {entry - 1}) and event {after} " \
               f"(entry {entry + 1})" in output
    else:
        assert f"event {victim.event_id} (log entry {entry}; its fact-index row is gone " \
               "too) is in the log chain but not in the log" in output


def _retract(url: str) -> tuple[str, str]:
    """Retract a status change through the ledger; returns (target id, retraction id)."""
    with raw(url) as db:
        target = next(e for events in db.streams().values() for e in events
                      if e.topic == "lifecycle:StatusChanged")
    result = invoke(["--db", url, "retract", target.event_id, "--reason", "typo"])
    assert result.exit_code == 0, result.output
    with raw(url) as db:
        retraction = db.log()[-1][1]
    assert retraction.topic == "lifecycle:FactRetracted"
    return target.event_id, retraction.event_id


def test_deleted_retraction_is_named(store: str) -> None:
    target, retraction = _retract(store)
    invoke(["--db", store, "record", "status_changed", "--person", "after-it", "--value",
            "lead", "--at", "2024-01-01T00:00:00Z"])  # the retraction is not the newest
    with raw(store) as db:
        event = next(e for _, e in db.log() if e.event_id == retraction)
        db.delete(event)
        db.delete_index(event)
    output = log_tampered(store)
    assert f"event {retraction} (log entry" in output
    assert "is in the log chain but not in the log" in output


def test_cleared_retraction_record_is_named(store: str) -> None:
    target, retraction = _retract(store)
    with raw(store) as db:
        db.run("UPDATE fact_index SET retracts = NULL WHERE event_id = %s", db.eid(retraction))
    output = log_tampered(store)
    assert f"fact {retraction} (" in output
    assert f"the fact index records it as retracting nothing, not {target}" in output
    # The cleared record let the same fact be retracted a second time: named too.
    assert invoke(["--db", store, "retract", target]).exit_code == 0
    output = tampered(store)
    assert f"retracts fact {target}, which fact {retraction} retracted already" in output


def test_reordered_log_is_named(store: str) -> None:
    with raw(store) as db:
        (first_seq, first), (second_seq, second) = db.log()[10:12]
        db.set_seq(first, 10_000_000)
        db.set_seq(second, first_seq)
        db.set_seq(first, second_seq)
    output = log_tampered(store)
    assert f"event {first.event_id} (log entry 11) comes after event {second.event_id} " \
           "(log entry 12) in the log: the log was reordered" in output


def test_truncated_tail_is_caught_by_the_expected_head(store: str) -> None:
    anchored = head(store)
    with raw(store) as db:
        newest = db.log()[-1][1]
        db.delete(newest)
        db.delete_index(newest)
        db.delete_chain(newest)
    # The projections had applied it: their position is now past the log's end.
    output = tampered(store)
    assert "beyond its end" in output and NO_REBUILD not in output
    # A forger who rebuilds the views leaves nothing in the store to see...
    assert invoke(["--db", store, "rebuild"]).exit_code == 0
    assert verify(store)[0] == 0
    # ...but the head kept outside it still names what is missing.
    entries = int(anchored.split(":")[0])
    output = tampered(store, "--expect-head", anchored)
    assert f"the log chain ends at entry {entries - 1}, before the expected head's entry " \
           f"{entries}: entries {entries}-{entries} were removed from the end of the log" \
           in output


def _rewrite_history(url: str) -> str:
    """Edit a fact and recompute everything the ledger's way: its stream chain, its index
    content hash, and the log chain from its entry on. Returns the fact's id."""
    from lifecycle.store.logchain import GENESIS, link

    with raw(url) as db:
        victim = _newest_of_a_stream(db)
        body = victim.body
        stream_previous = next(e for e in db.streams()[victim.stream]
                               if e.version == victim.version - 1).body["chain"]
        fields = {k: v for k, v in body.items() if k not in ("event_id", "recorded_at", "chain")}
        fields["occurred_at"] = "2001-01-01T00:00:00Z"
        fact = parse_fact(fields)
        canonical = fact.canonical_json()
        chain = chain_hash(stream_previous, uuid.UUID(victim.event_id), body["recorded_at"],
                           canonical)
        state = (f'{{"event_id":"{victim.event_id}","recorded_at":"{body["recorded_at"]}",'
                 f'"chain":"{chain}",{canonical[1:]}').encode()
        db.set_state(victim, state)
        db.run("UPDATE fact_index SET content_hash = %s WHERE event_id = %s",
               hashlib.sha256(canonical.encode()).hexdigest(), db.eid(victim.event_id))
        events = {e.event_id: e for _, e in db.log()}
        previous = GENESIS
        for entry, event_id, stored, _ in db.chain():
            from eventsourcing.persistence import StoredEvent

            e = events[event_id]
            new = link(previous, entry, uuid.UUID(event_id),
                       StoredEvent(e.stream, e.version, e.topic, e.state))
            if new != stored:
                db.run("UPDATE log_chain SET hash = %s WHERE entry = %s", new, entry)
            previous = new
    return victim.event_id


def test_rewritten_history_is_caught_by_the_expected_head_only(store: str) -> None:
    anchored = head(store)
    _rewrite_history(store)
    assert invoke(["--db", store, "rebuild"]).exit_code == 0
    # Everything recomputed the ledger's way, the views rebuilt: the store alone cannot
    # tell (docs/reliability.md says so)...
    assert verify(store)[0] == 0
    # ...the head kept outside it can.
    entries = anchored.split(":")[0]
    output = tampered(store, "--expect-head", anchored)
    assert f"log entry {entries}'s link is" in output
    assert f"not the expected head's {anchored.split(':')[1]}: the log up to entry " \
           f"{entries} was rewritten" in output


def test_keyed_chain_names_a_rewrite_without_the_key(store_url: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFECYCLE_CHAIN_KEY", "correct horse battery staple")
    url = load(store_url, tmp_path)
    code, output = verify(url)
    assert code == 0, output
    assert "note: log entries 1-" in output and "sealed with LIFECYCLE_CHAIN_KEY" in output
    victim = _rewrite_history(url)
    assert invoke(["--db", url, "rebuild"]).exit_code == 0  # the forger hides it in the views
    output = tampered(url)
    assert "its seal does not match LIFECYCLE_CHAIN_KEY" in output
    assert victim in output or "log entry" in output
    # Without the key the seals cannot be checked, and verify says so.
    monkeypatch.delenv("LIFECYCLE_CHAIN_KEY")
    code, output = verify(url)
    assert code == 0 and "set LIFECYCLE_CHAIN_KEY to check their seals" in output, output
    # Seals stripped, to pass as entries stored before the key: named with the key.
    monkeypatch.setenv("LIFECYCLE_CHAIN_KEY", "correct horse battery staple")
    with raw(url) as db:
        db.run("UPDATE log_chain SET seal = NULL")
    assert "no entry of the log is sealed" in tampered(url)


def test_forged_entry_appended_without_the_key_is_named(store_url: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """A forger appends a fact, its index row and its chain entry the ledger's way, but
    cannot seal it."""
    monkeypatch.setenv("LIFECYCLE_CHAIN_KEY", "k" * 64)
    url = load(store_url, tmp_path)
    monkeypatch.delenv("LIFECYCLE_CHAIN_KEY")
    # The forger's process has write access and the code, not the key.
    assert invoke(["--db", url, "record", "status_changed", "--person", "mallory", "--value",
                   "customer", "--at", "2024-01-01T00:00:00Z"]).exit_code == 0
    monkeypatch.setenv("LIFECYCLE_CHAIN_KEY", "k" * 64)
    output = tampered(url)
    assert "is not sealed, though entry 1 before it is" in output


def test_position_moved_ahead_of_the_log_is_named(store: str) -> None:
    with raw(store) as db:
        db.run("UPDATE lc_positions SET position = position + 100000")
    output = tampered(store)
    assert "projection 'lifecycle.stages' says it applied the log up to position" in output
    assert "beyond its end" in output
    assert NO_REBUILD not in output


def test_damaged_index_page_is_named(sqlite_url: str, tmp_path: Path) -> None:
    """Bytes changed inside an index page of the SQLite file (the page-level damage of the
    issue): SQLite's own integrity check names it."""
    import sqlite3

    url = load(sqlite_url, tmp_path)
    path = Path(url.removeprefix("sqlite:///"))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root, = conn.execute("SELECT rootpage FROM sqlite_master "
                         "WHERE name = 'fact_index_links'").fetchone()
    account = conn.execute("SELECT link_account FROM fact_index WHERE link_account IS NOT "
                           "NULL ORDER BY link_account LIMIT 1").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    page = data[(root - 1) * page_size:root * page_size]
    at = page.find(account.encode())
    assert at > 0, "the index page holds the account id"
    flipped = bytes(b ^ 0x01 for b in account.encode()[:4])
    data[(root - 1) * page_size + at:(root - 1) * page_size + at + 4] = flipped
    path.write_bytes(bytes(data))
    output = tampered(url)
    assert "SQLite's integrity check:" in output
    assert "fact_index_links" in output
    assert NO_REBUILD not in output


def test_a_write_that_meets_a_damaged_page_is_an_error(sqlite_url: str, tmp_path: Path) -> None:
    """The issue's next import after the page damage failed with "database disk image is
    malformed" in a traceback. Here the index's root page is made unreadable (its page
    type byte cleared): opening the store already meets it, so `verify` and the next
    import are each an `Error:` naming the store and what to do, and the file is left as
    it was."""
    import sqlite3

    url = load(sqlite_url, tmp_path)
    path = Path(url.removeprefix("sqlite:///"))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root, = conn.execute("SELECT rootpage FROM sqlite_master "
                         "WHERE name = 'fact_index_links'").fetchone()
    conn.close()
    data = bytearray(path.read_bytes())
    data[(root - 1) * page_size] = 0  # not a b-tree page type
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    more = tmp_path / "more.jsonl"
    more.write_text(json.dumps({"type": "person_linked", "person_id": "damaged-1",
                                "account_id": "damaged-acct",
                                "occurred_at": "2024-01-01T00:00:00Z"}) + "\n", "utf-8")
    for args in (["verify"], ["import", str(more)]):
        result = invoke(["--db", url, *args])
        assert (result.exit_code, result.stdout) == (1, ""), result.output
        assert result.stderr == (
            f"Error: {url} is not a readable SQLite database: the file is damaged, truncated "
            "or not a ledger. Nothing was changed. Restore it from a backup, or point --db at "
            "the right file (database disk image is malformed)\n")
        assert path.read_bytes() == before


def test_postgres_own_check_runs_where_amcheck_is_installed(pg_url: str,
                                                             tmp_path: Path) -> None:
    """The test databases have amcheck: verify runs it (bt_index_check on every B-tree
    index, verify_heapam on every table) and says nothing when all is well; without the
    extension it says that it skipped it, and still passes."""
    url = load(pg_url, tmp_path)
    code, output = verify(url)
    assert (code, "amcheck" in output) == (0, False), output
    with raw(url) as db:
        assert db.run("SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'") == [(1,)]
        db.run("DROP EXTENSION amcheck")
    code, output = verify(url)
    assert code == 0, output
    assert "note: PostgreSQL's own check skipped: the amcheck extension is not installed in " \
           "this database (`CREATE EXTENSION amcheck;` as a superuser lets verify run it)" \
           in output
