"""The errors a user can cause (bad input, a store that cannot be reached or written, a
file that cannot be read): the console shows these as `Error: …`, anything else is a bug.

A storage error is described by `describe` with the store and what to do
(`lifecycle/store/failures.py`). A write that failed part-way says what it had committed
(`ImportInterrupted`); a write that was committed but whose projections could not follow
is not an error at all (`Ledger.behind`).
"""

from __future__ import annotations

from typing import Any


class ImportInterrupted(Exception):
    """A non-strict import failed after some of its batches were committed.

    `summary` counts what was read and stored before the failure; `cause` is the failure."""

    def __init__(self, summary: Any, cause: BaseException):
        super().__init__(str(cause))
        self.summary = summary
        self.cause = cause


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception types, imported when first needed (a command that fails nothing pays
    for none of the libraries)."""
    import sqlite3

    from eventsourcing.persistence import PersistenceError
    from sqlalchemy.exc import SQLAlchemyError

    from lifecycle.domain.definitions import DefinitionsError
    from lifecycle.domain.errors import LedgerError
    from lifecycle.domain.facts import FactInputError
    from lifecycle.domain.timeutil import TimeError
    from lifecycle.importers.canonical import FileFormatError
    from lifecycle.store import StoreURLError

    return (LedgerError, DefinitionsError, FactInputError, TimeError, StoreURLError,
            FileFormatError, PersistenceError, SQLAlchemyError, OSError, sqlite3.Error,
            *_psycopg_errors())


def _psycopg_errors() -> tuple[type[BaseException], ...]:
    import sys

    psycopg = sys.modules.get("psycopg")  # loaded only if a PostgreSQL store was opened
    return (psycopg.Error,) if psycopg is not None else ()


def store_failure(exc: BaseException, url: str) -> Exception | None:
    """`exc` as a storage failure naming the store (`url`, redacted) and what to do, or
    None when it is not one."""
    from lifecycle.store.failures import explain

    return explain(exc, url)


def describe(exc: BaseException, url: str) -> str | None:
    """The one-line message for `exc`, or None when it is not an error a user can cause
    (a bug: let it be seen)."""
    from lifecycle.domain.facts import FactInputError
    from lifecycle.store import scrub

    if isinstance(exc, ImportInterrupted):
        exc = exc.cause
    failure = store_failure(exc, url) if url else None
    if failure is not None:
        return scrub(str(failure), url)
    if not isinstance(exc, user_errors()):
        return None
    if isinstance(exc, FactInputError) and exc.field:
        return f"{exc.field}: {exc.reason}"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return scrub(text, url) if url else text
