"""Tampering behind the ledger's back shows: `lifecycle verify` exits 1 and names each
tampered fact or differing table; an intact store exits 0. On SQLite (edited with sqlite3)
and PostgreSQL (edited with psycopg).

Edits: a fact's content changed, its bytes replaced by garbage, a fact deleted (in the
middle and at the end of its stream), two versions of a stream swapped, a forged event
inserted (with a chain hash computed the ledger's way, and with a made-up one), and
projection rows changed, deleted or added.
"""

from __future__ import annotations

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


def verify(url: str) -> tuple[int, str]:
    result = invoke(["--db", url, "verify"])
    return result.exit_code, result.output


def tampered(url: str) -> str:
    code, output = verify(url)
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
