"""SQL that SQLite and PostgreSQL write differently, as SQLAlchemy expressions.

Instants are stored as naive UTC: on SQLite as text `YYYY-MM-DD HH:MM:SS.ffffff`, on
PostgreSQL as `timestamp`. Each expression gives the same answer on both, and the same as
Python's arithmetic on the stored instants:

- `EpochMicros`: an instant as whole microseconds since 1970 (an exact integer, never a
  float: an interval of exactly an SLA's limit must not look longer than it);
- `InstantText`: an instant printed as the SPEC prints it (`format_instant`);
- `MonthOf`: the UTC month of an instant, `2024-03`;
- `Joined`: an aggregate, a group's values as text joined by commas;
- `Bytewise`: ordering by code point, as Python sorts strings, whatever the collation of a
  PostgreSQL database;
- `Unindexed`: a column SQLite's planner (which has no statistics) must not pick an index
  for (`+column`, SQLite's own idiom), so lookups go by the key it should use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine

#: How a dialect writes the expression: a template whose `{}` is the argument's SQL, or a
#: function of (the argument's SQL, the compiler).
Writing = str | Callable[[str, Any], str]


def _expression(name: str, doc: str, type_: TypeEngine[Any] | None, sqlite: Writing,
                postgresql: Writing) -> type[FunctionElement[Any]]:
    """A one-argument SQL expression written per dialect (type None: the argument's)."""

    def __init__(self: FunctionElement[Any], argument: Any) -> None:
        FunctionElement.__init__(self, argument)
        self.type = type_ if type_ is not None else argument.type

    expression = type(name, (FunctionElement,), {
        "__doc__": doc, "__init__": __init__, "name": name.lower(), "inherit_cache": True})
    for dialect, writing in (("sqlite", sqlite), ("postgresql", postgresql)):
        def write(element: Any, compiler: Any, writing: Writing = writing, **kw: Any) -> str:
            value = str(compiler.process(element.clauses, **kw))
            return writing.replace("{}", value) if isinstance(writing, str) \
                else writing(value, compiler)
        compiles(expression, dialect)(write)
    return expression


def _sqlite_epoch_micros(value: str, compiler: Any) -> str:
    # Whole seconds from the text without its fraction (SQLite rounds fractions to
    # milliseconds, which could carry into the next second), then the six digits.
    # unixepoch() (SQLite 3.38) is strftime('%s') without formatting: a quarter faster.
    version = getattr(compiler.dialect.dbapi, "sqlite_version_info", (0,))
    seconds = (f"unixepoch(substr({value}, 1, 19))" if version >= (3, 38)
               else f"CAST(strftime('%s', substr({value}, 1, 19)) AS INTEGER)")
    return f"({seconds} * 1000000 + CAST(substr({value}, 21, 6) AS INTEGER))"


EpochMicros = _expression(
    "EpochMicros", "Microseconds since 1970-01-01 of a stored instant, exactly.",
    BigInteger(), sqlite=_sqlite_epoch_micros,
    # Whole seconds and the microseconds of the second, each exact even where EXTRACT
    # returns a double (before PostgreSQL 14); mod(), as `%` is the driver's placeholder.
    postgresql="(CAST(EXTRACT(EPOCH FROM date_trunc('second', {})) AS BIGINT) * 1000000"
               " + mod(CAST(EXTRACT(MICROSECONDS FROM {}) AS BIGINT), 1000000))")

InstantText = _expression(
    "InstantText", "A stored instant as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (NULL stays NULL).",
    String(),
    sqlite="(replace(CASE WHEN substr({}, 20) = '.000000' THEN substr({}, 1, 19) "
           "ELSE {} END, ' ', 'T') || 'Z')",
    postgresql="(to_char({}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
               "CASE WHEN mod(CAST(EXTRACT(MICROSECONDS FROM {}) AS BIGINT), 1000000) = 0 "
               "THEN '' ELSE to_char({}, '.US') END || 'Z')")

MonthOf = _expression(
    "MonthOf", "The UTC month of a stored instant as text, `2024-03`.", String(),
    sqlite="substr({}, 1, 7)", postgresql="to_char({}, 'YYYY-MM')")

Joined = _expression(
    "Joined", "An aggregate: the group's values as text, joined by commas.", String(),
    sqlite="group_concat({}, ',')", postgresql="string_agg(CAST({} AS TEXT), ',')")

Bytewise = _expression(
    "Bytewise", "A string that orders by code point (Python's order), not by collation.",
    String(), sqlite="{}",  # BINARY, SQLite's default
    postgresql='({} COLLATE "C")')

Unindexed = _expression(
    "Unindexed",
    """A column SQLite must not use an index for (`+column`, SQLite's own idiom).

    Without statistics its planner prefers, say, `lc_intervals_when` (type, then a range of
    entry times: most of the table) to the primary key with two equalities, or walks a
    whole table by its key to save a sort. PostgreSQL plans from statistics: no change.
    """, None, sqlite="+{}", postgresql="{}")
