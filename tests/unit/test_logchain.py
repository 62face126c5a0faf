"""The log chain, without a database: what `walk` names for each kind of tampering, and
properties over random logs and random single edits."""

from __future__ import annotations

import uuid
from dataclasses import replace

from eventsourcing.persistence import StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.store.logchain import (
    GENESIS,
    ChainRow,
    ChainTail,
    LoggedEvent,
    chain_all,
    format_head,
    parse_head,
    seal,
    walk,
)

KEY = b"a key"


def make_log(n: int, key: bytes | None = None) -> tuple[list[LoggedEvent], list[ChainRow]]:
    """n events in log order, and the chain the ledger would have stored for them."""
    events = [LoggedEvent(seq, uuid.uuid5(uuid.NAMESPACE_URL, f"event-{seq}"),
                          StoredEvent(uuid.uuid5(uuid.NAMESPACE_URL, f"stream-{seq % 3}"),
                                      seq // 3 + 1, "lifecycle:StatusChanged",
                                      f'{{"n":{seq}}}'.encode()))
              for seq in range(1, n + 1)]
    tail = ChainTail(lambda: None, key)
    rows: list[ChainRow] = []
    for item in events:  # one event per "transaction" or all at once: the same chain
        assert item.event_id is not None
        rows += tail.extend([item.event_id], [item.event])
    return events, rows


def check(events: list[LoggedEvent], rows: list[ChainRow], key: bytes | None = None,
          expect: int | None = None) -> tuple[list[str], tuple[int, str], str | None]:
    found, deleted = walk(events, rows, lambda e: f"fact {e.event_id}", key, expect)
    problems = found.problems + [f"deleted {row.event_id} (entry {row.entry})"
                                 for row in deleted]
    return problems, found.head, found.expected_seen


def test_an_intact_log_has_no_findings_and_its_head_is_the_last_link() -> None:
    events, rows = make_log(10)
    problems, head, _ = check(events, rows)
    assert problems == []
    assert head == (10, rows[-1].hash)


def test_batches_and_a_whole_log_chain_the_same() -> None:
    events, rows = make_log(7)
    assert list(chain_all((e.event_id or uuid.UUID(int=0), e.event) for e in events)) == rows
    tail = ChainTail(lambda: None, None)
    at_once = tail.extend([e.event_id or uuid.UUID(int=0) for e in events],
                          [e.event for e in events])
    assert at_once == rows


def test_a_tail_continues_from_the_stored_head() -> None:
    events, rows = make_log(5)
    tail = ChainTail(lambda: (3, rows[2].hash), None)
    assert tail.extend([e.event_id or uuid.UUID(int=0) for e in events[3:]],
                       [e.event for e in events[3:]]) == rows[3:]


def test_an_edited_event_is_named() -> None:
    events, rows = make_log(6)
    edited = replace(events[2], event=replace(events[2].event, state=b'{"n":"x"}'))
    problems, _, _ = check([*events[:2], edited, *events[3:]], rows)
    assert problems == [f"fact {events[2].event_id} (log entry 3, log position 3): does not "
                        "match its link in the log chain: it was edited after it was stored "
                        "(or its link was)"]


def test_an_event_deleted_with_its_entry_is_named_by_its_neighbours() -> None:
    events, rows = make_log(6)
    problems, _, _ = check(events[:3] + events[4:], rows[:3] + rows[4:])
    assert problems == [f"log entry 4 and its event are missing: deleted behind the ledger's "
                        f"back, between event {events[2].event_id} (entry 3) and event "
                        f"{events[4].event_id} (entry 5)"]


def test_an_event_deleted_without_its_entry_is_named() -> None:
    events, rows = make_log(6)
    problems, _, _ = check(events[:3] + events[4:], rows)
    assert problems == [f"deleted {events[3].event_id} (entry 4)"]


def test_an_inserted_event_is_named() -> None:
    events, rows = make_log(6)
    forged = LoggedEvent(99, uuid.uuid4(), events[0].event)
    problems, _, _ = check([*events[:2], forged, *events[2:]], rows)
    assert problems == [f"fact {forged.event_id} (log position 99) is not in the log chain: "
                        "it was stored behind the ledger's back"]


def test_reordered_events_are_named() -> None:
    events, rows = make_log(6)
    problems, _, _ = check([*events[:2], events[3], events[2], *events[4:]], rows)
    assert problems == [f"event {events[2].event_id} (log entry 3) comes after event "
                        f"{events[3].event_id} (log entry 4) in the log: the log was reordered"]


def test_the_newest_entry_deleted_shows_only_against_an_expected_head() -> None:
    events, rows = make_log(6)
    problems, head, seen = check(events[:5], rows[:5], expect=6)
    assert problems == [] and head == (5, rows[4].hash) and seen is None
    problems, head, seen = check(events, rows, expect=6)
    assert seen == rows[5].hash


def test_seals_are_checked_with_the_key() -> None:
    events, rows = make_log(5, key=KEY)
    assert check(events, rows, key=KEY)[0] == []
    assert all(row.seal == seal(KEY, row.entry, row.hash) for row in rows)
    problems, _, _ = check(events, rows, key=b"another key")
    assert len(problems) == 5 and "its seal does not match LIFECYCLE_CHAIN_KEY" in problems[0]
    stripped = rows[:3] + [replace(row, seal=None) for row in rows[3:]]
    problems, _, _ = check(events, stripped, key=KEY)
    assert problems[0] == (f"event {rows[3].event_id} (log entry 4) is not sealed, though "
                           "entry 1 before it is: written without the key, or its seal was "
                           "removed")


def test_heads_print_and_parse() -> None:
    text = format_head(12, "ab" * 32)
    assert parse_head(text) == (12, "ab" * 32)
    assert parse_head(text.upper()) == (12, "ab" * 32)
    for bad in ("12", "12:abc", "x:" + "ab" * 32, ":" + "ab" * 32, "12:" + "zz" * 32):
        try:
            parse_head(bad)
        except ValueError as exc:
            assert "is not a log head" in str(exc)
        else:
            raise AssertionError(bad)
    assert format_head(0, GENESIS) == "0:" + "0" * 64


EDITS = st.sampled_from(["edit", "delete", "delete_with_entry", "insert", "swap"])


@settings(max_examples=200, deadline=None)
@given(n=st.integers(min_value=2, max_value=30), data=st.data(), edit=EDITS)
def test_any_single_tampering_but_of_the_newest_entry_is_named(n: int, data: st.DataObject,
                                                               edit: str) -> None:
    """Editing, deleting (with or without its chain entry), inserting or swapping any event
    that is not the newest gives at least one finding, naming an event of the edit."""
    events, rows = make_log(n)
    at = data.draw(st.integers(min_value=0, max_value=n - 2))  # never the newest
    named = {str(events[at].event_id)}
    if edit == "edit":
        events[at] = replace(events[at], event=replace(events[at].event, state=b"{}"))
    elif edit == "delete":
        del events[at]
    elif edit == "delete_with_entry":
        del events[at]
        del rows[at]
        named = {str(rows[at].event_id)}  # the entry after the gap
    elif edit == "insert":
        forged = LoggedEvent(1000, uuid.uuid4(), events[at].event)
        events.insert(at, forged)
        named = {str(forged.event_id)}
    else:
        events[at], events[at + 1] = events[at + 1], events[at]
        named |= {str(events[at].event_id)}
    problems, _, _ = check(events, rows)
    assert problems, edit
    assert any(name in problem for problem in problems for name in named), problems
