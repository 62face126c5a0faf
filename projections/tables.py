"""The read-model tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Instants are stored as naive UTC and handed back aware: one representation on both
databases, and string order equals time order on SQLite.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

from projections.instants import naive_utc


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return naive_utc(value)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = MetaData()
ID = String(512)

positions = Table(
    "lc_positions", metadata,
    Column("name", String(100), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("definitions_version", String(100)),
)

current = Table(
    "lc_current", metadata,
    Column("subject_type", String(16), primary_key=True),
    Column("subject_id", ID, primary_key=True),
    Column("stage", String(100)),
    Column("since", UTCDateTime),
)

stamps = Table(
    "lc_stamps", metadata,
    Column("subject_type", String(16), primary_key=True),
    Column("subject_id", ID, primary_key=True),
    Column("stage", String(100), primary_key=True),
    Column("first_reached_at", UTCDateTime, nullable=False),
    Column("last_reached_at", UTCDateTime),
    Column("times_reached", Integer, nullable=False),
    Column("inferred", Boolean, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("fact_type", String(32), nullable=False),
    Column("source", Text),
    Column("source_id", Text),
    Column("actor", Text),
    Column("campaign", Text),
    Column("value", Text),
    Column("from_stage", String(100)),
    Column("account_id", ID),
    # Covering: a funnel's cohort (first reached a stage within a window) and its groups.
    Index("lc_stamps_stage", "subject_type", "stage", "first_reached_at", "inferred",
          "source", "campaign"),
)

#: How many moves there were per UTC day, from which stage to which, in which direction
#: (`from_stage` is "" for a subject's first stage): what velocity's entry and recycle
#: counts and the report's flow chart sum, instead of counting every move. Kept by the
#: writer with the moves.
move_days = Table(
    "lc_move_days", metadata,
    Column("subject_type", String(16), primary_key=True),
    Column("epoch_day", Integer, primary_key=True),
    Column("from_stage", String(100), primary_key=True),
    Column("to_stage", String(100), primary_key=True),
    Column("direction", String(16), primary_key=True),
    Column("moves", Integer, nullable=False),
)

#: Every pair of stages a subject reached where the second was first reached at or after
#: the first, with the exact time between them: what funnels and velocity measure, read
#: in index order instead of joining a subject's stamps at query time.
steps = Table(
    "lc_steps", metadata,
    Column("subject_type", String(16), primary_key=True),
    Column("subject_id", ID, primary_key=True),
    Column("from_stage", String(100), primary_key=True),
    Column("to_stage", String(100), primary_key=True),
    Column("from_at", UTCDateTime, nullable=False),
    Column("to_at", UTCDateTime, nullable=False),
    Column("elapsed_us", BigInteger, nullable=False),
    Column("from_inferred", Boolean, nullable=False),
    Column("to_inferred", Boolean, nullable=False),
    Column("from_source", Text),
    Column("from_campaign", Text),
    # Covering, for a funnel: the steps of a pair, by when the first stage was reached.
    Index("lc_steps_from", "subject_type", "from_stage", "to_stage", "from_at",
          "elapsed_us", "to_inferred", "from_source", "from_campaign"),
    # Covering, for velocity: the steps of a pair, by when the second stage was reached.
    Index("lc_steps_pair", "subject_type", "from_stage", "to_stage", "to_at", "elapsed_us",
          "from_inferred", "to_inferred"),
)

moves = Table(
    "lc_moves", metadata,
    Column("subject_type", String(16), primary_key=True),
    Column("subject_id", ID, primary_key=True),
    Column("ordinal", Integer, primary_key=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("from_stage", String(100)),
    Column("to_stage", String(100), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("event_id", String(36), nullable=False),
    # Covering: counts of moves by stage and direction over a window never read the table.
    Index("lc_moves_when", "subject_type", "occurred_at", "to_stage", "from_stage",
          "direction"),
)

intervals = Table(
    "lc_intervals", metadata,
    Column("subject_type", String(16), primary_key=True),
    Column("subject_id", ID, primary_key=True),
    Column("ordinal", Integer, primary_key=True),
    Column("stage", String(100), nullable=False),
    Column("entered_at", UTCDateTime, nullable=False),
    Column("exited_at", UTCDateTime),
    # Covering: the intervals entered within a window, by stage. (Not the subject id: an
    # index holding it would cover a subject's own intervals too, and SQLite would scan it
    # instead of the primary key when the writer reads a subject's old rows.)
    Index("lc_intervals_when", "subject_type", "entered_at", "exited_at", "stage"),
    # Covering: a stage's intervals in the order they were entered (aging, SLAs).
    Index("lc_intervals_in", "subject_type", "stage", "entered_at", "exited_at"),
    # The intervals exited within part of a day (what `stage_days` does not hold), by
    # stage, without reading the table; `lc_intervals_when` serves the entries.
    Index("lc_intervals_out", "subject_type", "exited_at", "stage"),
    # Every interval of one stage, by subject, read from the index alone: `report sla`
    # classifies and lists them without reading the table or sorting.
    Index("lc_intervals_stage", "stage", "subject_type", "subject_id", "entered_at",
          "exited_at"),
)

#: How many intervals were entered and exited per stage and UTC day (days since
#: 1970-01-01). The subjects in a stage at T are those entered by T less those exited by
#: T: sums over these rows up to T's day, so a count costs the number of days in the
#: history, not the number of intervals. Kept by the writer with the intervals.
stage_days = Table(
    "lc_stage_days", metadata,
    Column("subject_type", String(16), primary_key=True),
    Column("stage", String(100), primary_key=True),
    Column("epoch_day", Integer, primary_key=True),
    Column("entered", Integer, nullable=False),
    Column("exited", Integer, nullable=False),
)

memberships = Table(
    "lc_memberships", metadata,
    Column("person_id", ID, primary_key=True),
    Column("ordinal", Integer, primary_key=True),
    Column("account_id", ID, nullable=False),
    Column("start_at", UTCDateTime, nullable=False),
    Column("end_at", UTCDateTime),
    Index("lc_memberships_account", "account_id"),
)

#: An opportunity's links to accounts, with their kind (SPEC §7): what `--by kind` groups by.
opportunity_links = Table(
    "lc_opportunity_links", metadata,
    Column("opportunity_id", ID, primary_key=True),
    Column("ordinal", Integer, primary_key=True),
    Column("account_id", ID, nullable=False),
    Column("kind", Text),
    Column("start_at", UTCDateTime, nullable=False),
    Column("end_at", UTCDateTime),
    Index("lc_opportunity_links_account", "account_id"),
)

flags = Table(
    "lc_flags", metadata,
    Column("account_id", ID, primary_key=True),
    Column("ordinal", Integer, primary_key=True),
    Column("flag", String(16), nullable=False),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("cleared_at", UTCDateTime),
)

#: Hand raises that moved nobody (SPEC §4 step 1): signals, and those unmapped by kind or
#: fit, with the stage the subject was in when they came.
signals = Table(
    "lc_signals", metadata,
    Column("subject_type", String(16), primary_key=True),
    Column("subject_id", ID, primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("kind", Text, nullable=False),
    Column("fit", String(16)),
    Column("stage", String(100)),
    Column("reason", String(16), nullable=False),
    Column("source", Text),
    Column("source_id", Text),
    Column("actor", Text),
    Column("campaign", Text),
    Index("lc_signals_when", "occurred_at"),
)

#: Tables holding rows per subject, with the columns that name the subject.
SUBJECT_TABLES: dict[Table, tuple[str, ...]] = {
    current: ("subject_type", "subject_id"),
    stamps: ("subject_type", "subject_id"),
    moves: ("subject_type", "subject_id"),
    intervals: ("subject_type", "subject_id"),
    steps: ("subject_type", "subject_id"),
    signals: ("subject_type", "subject_id"),
}
VIEW_TABLES = (current, stamps, moves, intervals, memberships, flags, signals, stage_days,
               move_days, steps, opportunity_links)
#: Counts per day the writer keeps beside the rows they count.
SUMMARY_TABLES = (stage_days, move_days)


def shadow_tables(token: str) -> dict[Table, Table]:
    """Empty copies of the view tables, to build a replacement beside the live ones.

    Index names carry the token too: they keep it after the swap, so they never collide
    with the indexes of a later build.
    """
    shadow_metadata = MetaData()
    copies = {}
    for table in VIEW_TABLES:
        name = f"lc_next_{token}_{table.name.removeprefix('lc_')}"
        copy = table.to_metadata(shadow_metadata, name=name)
        for index in copy.indexes:
            index.name = f"{index.name}_{token}"  # type: ignore[assignment]
        copies[table] = copy
    return copies
