"""Where the projection stands in the log: its tracking rows, moved by compare-and-set in
the transaction that writes the rows, and the partitions workers share the subjects by."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, insert, select, update

from lifecycle.domain.facts import Subject
from projections import tables

#: The projection's fixed name (never changes once deployed).
PROJECTION = "lifecycle.stages"

class ProjectionConflict(RuntimeError):
    """Another writer moved the projection's position first."""

@dataclass(frozen=True)
class Position:
    position: int
    definitions_version: str | None

def read_position(conn: Connection, name: str = PROJECTION) -> Position:
    row = conn.execute(select(tables.positions.c.position,
                              tables.positions.c.definitions_version)
                       .where(tables.positions.c.name == name)).first()
    return Position(row[0], row[1]) if row else Position(0, None)

def advance(conn: Connection, old: Position, new: int, version: str,
             name: str = PROJECTION) -> None:
    """Compare-and-set the tracking position, in the caller's transaction."""
    table = tables.positions
    if old.definitions_version is None and old.position == 0:
        existing = conn.execute(select(table.c.name).where(table.c.name == name)).first()
        if existing is None:
            conn.execute(insert(table).values(name=name, position=new,
                                              definitions_version=version))
            return
    result = conn.execute(
        update(table)
        .where(table.c.name == name, table.c.position == old.position)
        .values(position=new, definitions_version=version))
    if result.rowcount != 1:
        raise ProjectionConflict("the projection was moved by another writer")

def views_version(conn: Connection) -> str | None:
    """The definitions version the views were derived under, as their tracking rows say
    (None: never projected). ValueError if the rows disagree."""
    versions = {p.definitions_version for p in read_positions(conn).values()}
    if len(versions) > 1:
        raise ValueError("the projection's partitions were derived under different "
                         f"definitions ({', '.join(sorted(map(str, versions)))})")
    return versions.pop() if versions else None

def read_positions(conn: Connection) -> dict[str, Position]:
    """Every tracking row: the inline projection's or the partitions'."""
    p = tables.positions
    return {name: Position(position, version) for name, position, version in conn.execute(
        select(p.c.name, p.c.position, p.c.definitions_version))}

@dataclass(frozen=True)
class Partition:
    """Worker `index` of `count`: it derives and writes only its own subjects."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not (self.count >= 1 and 0 <= self.index < self.count):
            raise ValueError(f"partition {self.index}/{self.count}: need 0 <= i < n")

    @property
    def name(self) -> str:
        return f"{PROJECTION}#{self.index}/{self.count}"

    def owns(self, subject: Subject) -> bool:
        return subject.stream_id.int % self.count == self.index

def partitions(conn: Connection) -> list[Partition]:
    """The partitions registered by workers (none: the projection is kept inline)."""
    return partitions_of(conn.scalars(select(tables.positions.c.name)))

def partitions_of(names: Iterable[str]) -> list[Partition]:
    found = []
    for name in names:
        if name.startswith(f"{PROJECTION}#"):
            index, count = name.split("#", 1)[1].split("/")
            found.append(Partition(int(index), int(count)))
    return sorted(found, key=lambda p: p.index)

class PartitionMismatch(ValueError):
    """Workers already share the subjects among another number of partitions."""

def register(engine: Engine, partition: Partition) -> None:
    """Hand the projection to partitioned workers: every partition starts where the inline
    projection stood, and the inline writer stops (its position row goes), in one
    transaction, so no subject ever has two writers."""
    with engine.begin() as conn:
        existing = partitions(conn)
        if existing:
            if existing[0].count != partition.count:
                raise PartitionMismatch(
                    f"workers here use {existing[0].count} partitions, not {partition.count}")
            return
        at = read_position(conn)
        conn.execute(delete(tables.positions).where(tables.positions.c.name == PROJECTION))
        conn.execute(insert(tables.positions), [
            {"name": Partition(i, partition.count).name, "position": at.position,
             "definitions_version": at.definitions_version}
            for i in range(partition.count)])

def unregister(engine: Engine) -> None:
    """Hand the projection back to inline catch-up, from the least advanced partition."""
    with engine.begin() as conn:
        parts = partitions(conn)
        if not parts:
            return
        least = min((read_position(conn, p.name) for p in parts), key=lambda p: p.position)
        conn.execute(delete(tables.positions))
        conn.execute(insert(tables.positions).values(
            name=PROJECTION, position=least.position,
            definitions_version=least.definitions_version))
