"""A replay in bounded pieces: the log's subjects cut into partitions that derive on their
own, each read back from a spill file and derived by itself, in worker processes.

A subject's derivation needs other subjects' facts only through the links the fact index
holds (SPEC §4, §7, §8; `projections/dependencies.py`): an account needs its members
(persons and opportunities linked to it), a person with the cascade needs the
opportunities it holds a role on, and every id needs the ids merged with it. Those links
join subjects into connected groups; a partition is a set of whole groups, so replaying a
partition alone derives exactly what a replay of the whole log does for its subjects.

The log is read once, in stream order, and each event's stored bytes go to its partition's
spill file (nothing decoded, nothing kept); then each partition is decoded, derived and
written by itself. Memory is one partition's facts and histories, whatever the log's
size (a single group larger than a partition is the one thing that makes one larger).
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from lifecycle.domain.facts import ACCOUNT, PERSON, Subject
from lifecycle.domain.recorded import RecordedFact
from lifecycle.store.base import LedgerRecorder, StreamEvent
from lifecycle.store.codec import DEFINITIONS_STREAM, LedgerMapper

#: About how many events a partition holds: its facts and histories are what a replay
#: keeps in memory at once (per worker). `LIFECYCLE_PARTITION_EVENTS` sets it.
PARTITION_EVENTS = int(os.environ.get("LIFECYCLE_PARTITION_EVENTS") or 40_000)

#: Events kept per partition before they are appended to its spill file.
SPILL_BUFFER = 2_000

#: Fact types whose index rows join two subjects, and the second subject's type (None:
#: the first one's).
JOINS = {"person_linked": ACCOUNT, "opportunity_linked": ACCOUNT, "contact_role": PERSON,
         "merged": None}

SPILL_PREFIX = "lifecycle-replay-"


class _Groups:
    """Union-find over subjects, by their stream ids as integers (small and hashable)."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, node: int) -> int:
        parent = self.parent
        root = node
        while (up := parent.setdefault(root, root)) != root:
            root = up
        while node != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:  # the smaller as root: the grouping does not depend on links' order
            self.parent[max(ra, rb)] = min(ra, rb)


def partition_of_streams(recorder: LedgerRecorder, count: int) -> dict[int, int]:
    """The partition (0..count-1) of every stream (by its id as an integer) that a joining
    link names; a stream not named derives alone and goes by its own id."""
    groups = _Groups()
    for link in recorder.all_links(list(JOINS)):
        linked_type = JOINS[link.fact_type] or link.subject_type
        groups.union(Subject(link.subject_type, link.subject_id).stream_id.int,
                     Subject(linked_type, link.linked_id).stream_id.int)
    return {stream: groups.find(stream) % count for stream in list(groups.parent)}


def stream_partition(stream: int, joined: dict[int, int], count: int) -> int:
    found = joined.get(stream)
    return stream % count if found is None else found


def partition_count(events: int, workers: int) -> int:
    """Partitions for a log of `events`: none above PARTITION_EVENTS, and at least one per
    worker when there is more than one partition's worth."""
    if events <= PARTITION_EVENTS:
        return 1
    return max(-(-events // PARTITION_EVENTS), workers)


@dataclass
class Spill:
    """The partitions' spill files in a private folder (removed by `close`)."""

    folder: Path
    count: int
    #: Events (facts) per partition.
    sizes: list[int]

    def path(self, index: int) -> Path:
        return self.folder / f"part-{index}.pickle"

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def spill(events: Iterable[StreamEvent], joined: dict[int, int], count: int,
          on_event: Any = None) -> Spill:
    """Write each event's stored form to its partition's file, in the order read (stream
    by stream). `on_event()` is called per event (progress)."""
    remove_dead_spills()
    folder = Path(tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{os.getpid()}-"))
    result = Spill(folder, count, [0] * count)
    files: list[IO[bytes]] = []
    try:
        files = [result.path(i).open("wb") for i in range(count)]
        buffers: list[list[tuple[Any, ...]]] = [[] for _ in range(count)]
        last: Any = None
        raw = b""
        index = 0
        for item in events:
            stored = item.event
            if stored.originator_id != last:
                last = stored.originator_id
                stream = last if isinstance(last, UUID) else UUID(str(last))
                raw, index = stream.bytes, stream_partition(stream.int, joined, count)
            buffer = buffers[index]
            buffer.append((item.seq, raw, stored.originator_version, stored.topic,
                           bytes(stored.state)))
            result.sizes[index] += 1
            if len(buffer) >= SPILL_BUFFER:
                pickle.dump(buffer, files[index], protocol=pickle.HIGHEST_PROTOCOL)
                buffer.clear()
            if on_event is not None:
                on_event()
        for index, buffer in enumerate(buffers):
            if buffer:
                pickle.dump(buffer, files[index], protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:
        for file in files:
            file.close()
        result.close()
        raise
    for file in files:
        file.close()
    return result


def read_spill(path: Path, mapper: LedgerMapper
               ) -> Iterator[tuple[Subject, list[RecordedFact]]]:
    """A partition's subjects with their facts, decoded from its spill file."""
    with path.open("rb") as file:
        stream: UUID | None = None
        raw: bytes | None = None
        facts: list[RecordedFact] = []
        while True:
            try:
                chunk = pickle.load(file)
            except EOFError:
                break
            for seq, stream_bytes, version, topic, state in chunk:
                if stream_bytes != raw:
                    if facts:
                        yield facts[0].subject, facts
                    raw, stream, facts = stream_bytes, UUID(bytes=stream_bytes), []
                assert stream is not None
                facts.append(mapper.to_fact(StoredEvent(stream, version, topic, state), seq))
        if facts:
            yield facts[0].subject, facts


def log_events(recorder: LedgerRecorder, upto: int) -> Iterator[StreamEvent]:
    """The facts' events of the whole log up to position `upto`, stream by stream."""
    return (e for e in recorder.select_all_streams()
            if e.seq <= upto and e.event.originator_id != DEFINITIONS_STREAM)


def remove_dead_spills() -> None:
    """Remove the spill folders of replays whose process died (SIGKILL leaves them)."""
    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{SPILL_PREFIX}*"):
        try:
            pid = int(folder.name.removeprefix(SPILL_PREFIX).split("-")[0])
        except ValueError:
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # alive, someone else's
            continue


def scratch_file() -> Path:
    """A new database file for a scratch copy of the read models, in a private folder
    named like the spill folders (so a killed process's is removed the same way)."""
    remove_dead_spills()
    return Path(tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{os.getpid()}-")) / "scratch.db"


def remove_scratch_file(path: Path) -> None:
    shutil.rmtree(path.parent, ignore_errors=True)
