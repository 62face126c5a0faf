"""Queries behind the status reports (SLA, flags, signals): the database filters, joins,
classifies, counts and orders; the reports only shape the rows that come back. The
expressions the two databases write differently are in `projections.dialect`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Row,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.sql.expression import ColumnElement

from projections import tables
from projections.instants import MICROSECOND, epoch_micros
from projections.queries.analytics import in_range
from projections.queries.dialect import Bytewise, EpochMicros, InstantText, Unindexed


def _at(start: Any, end: Any, moment: datetime) -> ColumnElement[bool]:
    """[start, end) contains `moment` (end NULL: still open)."""
    return and_(start <= moment, or_(end.is_(None), end > moment))


# --- SLA -----------------------------------------------------------------------------------

def _in_stage(level: str, stage: str, as_of: datetime, since: datetime | None
              ) -> list[ColumnElement[bool]]:
    """The intervals of `level` in `stage` entered in [since, as_of] (SPEC §4.6)."""
    i = tables.intervals
    return [i.c.stage == stage, i.c.subject_type == level,
            *in_range(Unindexed(i.c.entered_at), since, None),
            Unindexed(i.c.entered_at) <= as_of]


def _closed(as_of: datetime) -> ColumnElement[bool]:
    """The interval was exited by `as_of`."""
    i = tables.intervals
    return and_(i.c.exited_at.is_not(None), i.c.exited_at <= as_of)


def _over(as_of: datetime, limit: timedelta) -> tuple[Any, Any]:
    """(the interval is over `limit` as of `as_of`, microseconds spent by then).

    An interval still open is over when it was entered before `as_of - limit` (instants
    compared as stored); only one exited needs its length, in exact microseconds."""
    i = tables.intervals
    closed = _closed(as_of)
    entered = EpochMicros(i.c.entered_at)
    lasted = EpochMicros(i.c.exited_at) - entered
    over = or_(and_(closed, lasted > literal(limit // MICROSECOND, BigInteger())),
               and_(~closed, i.c.entered_at < as_of - limit))
    spent = case((closed, lasted), else_=literal(epoch_micros(as_of), BigInteger()) - entered)
    return over, spent


def sla_breaches(conn: Connection, level: str, stage: str, as_of: datetime,
                 since: datetime | None, limit: timedelta, worst: int | None = None
                 ) -> Sequence[Row[Any]]:
    """The intervals of `_in_stage` over `limit` as of `as_of`, by subject then entry
    (`worst`: only that many, longest first): (subject_type, subject_id, entered_at,
    exited_at when exited by `as_of`, status `breached` or `breaching_now`, microseconds
    spent by `as_of`), instants printed."""
    i = tables.intervals
    closed = _closed(as_of)
    over, spent = _over(as_of, limit)
    query = (select(i.c.subject_type, i.c.subject_id, InstantText(i.c.entered_at),
                    case((closed, InstantText(i.c.exited_at))),
                    case((closed, "breached"), else_="breaching_now"), spent)
             .where(*_in_stage(level, stage, as_of, since), over))
    if worst is None:
        query = query.order_by(i.c.subject_type, Bytewise(i.c.subject_id), i.c.entered_at)
    else:
        query = query.order_by(spent.desc(), Bytewise(i.c.subject_id)).limit(worst)
    return conn.execute(query).all()


def sla_tally(conn: Connection, level: str, stage: str, as_of: datetime,
              since: datetime | None, limit: timedelta) -> dict[str, int]:
    """How many intervals of `_in_stage` are `in_sla`, `breached`, `open` and
    `breaching_now` as of `as_of` (SPEC §4.6), in one pass."""
    over, _ = _over(as_of, limit)
    status = case((and_(_closed(as_of), over), "breached"), (_closed(as_of), "in_sla"),
                  (over, "breaching_now"), else_="open").label("status")
    tally = select(status).where(*_in_stage(level, stage, as_of, since)).subquery("tally")
    found: dict[str, int] = {status: count for status, count in conn.execute(
        select(tally.c.status, func.count()).group_by(tally.c.status))}
    return {name: int(found.get(name, 0))
            for name in ("in_sla", "breached", "open", "breaching_now")}


# --- flags ---------------------------------------------------------------------------------

def flag_rows(conn: Connection, as_of: datetime, flags: Sequence[str],
              order: Sequence[str]) -> Sequence[Row[Any]]:
    """Flags active at `as_of` (raised at or before, not cleared by then), each with the
    account's stage at `as_of` and every person linked to the account at `as_of` (one row
    per person, or one row with no person): (account_id, ordinal, flag, raised_at,
    account stage, person_id, flagged since, person stage), instants printed. By account,
    flag in `order`, person."""
    f, m = tables.flags, tables.memberships
    account, person = tables.intervals.alias("account_at"), tables.intervals.alias("person_at")
    since = case((m.c.start_at > f.c.raised_at, m.c.start_at), else_=f.c.raised_at)
    conditions = [_at(f.c.raised_at, f.c.cleared_at, as_of)]
    if flags:
        conditions.append(f.c.flag.in_(list(flags)))
    query = (
        select(f.c.account_id, f.c.ordinal, f.c.flag, InstantText(f.c.raised_at),
               account.c.stage, m.c.person_id, InstantText(since), person.c.stage)
        .select_from(f)
        .outerjoin(account, and_(account.c.subject_type == "account",
                                 account.c.subject_id == f.c.account_id,
                                 _at(Unindexed(account.c.entered_at), account.c.exited_at,
                                     as_of)))
        .outerjoin(m, and_(m.c.account_id == f.c.account_id,
                           _at(m.c.start_at, m.c.end_at, as_of)))
        .outerjoin(person, and_(person.c.subject_type == "person",
                                person.c.subject_id == m.c.person_id,
                                _at(Unindexed(person.c.entered_at), person.c.exited_at,
                                    as_of)))
        .where(*conditions)
        .order_by(Bytewise(f.c.account_id),
                  case({name: rank for rank, name in enumerate(order)}, value=f.c.flag,
                       else_=len(order)),
                  f.c.ordinal, Bytewise(m.c.person_id)))
    return conn.execute(query).all()


# --- signals -------------------------------------------------------------------------------

def signal_rows(conn: Connection, since: datetime | None, until: datetime | None,
                reasons: Sequence[str]) -> Sequence[Row[Any]]:
    """Hand raises that moved nobody, in [since, until), for the given reasons: (subject_type,
    subject_id, occurred_at, stage, kind, fit, reason, campaign, source, actor, event_id),
    instants printed, by subject, time, then event id."""
    s = tables.signals
    query = (select(s.c.subject_type, s.c.subject_id, InstantText(s.c.occurred_at), s.c.stage,
                    s.c.kind, s.c.fit, s.c.reason, s.c.campaign, s.c.source, s.c.actor,
                    s.c.event_id)
             .where(s.c.reason.in_(list(reasons)), *in_range(s.c.occurred_at, since, until))
             .order_by(Unindexed(s.c.subject_type), Bytewise(s.c.subject_id), s.c.occurred_at,
                       Bytewise(s.c.event_id)))
    return conn.execute(query).all()

