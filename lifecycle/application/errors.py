"""The errors a user can cause (bad input, a store that cannot be reached or written, a
file that cannot be read): the console shows these as `Error: …`, anything else is a bug."""

from __future__ import annotations


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception types, imported when first needed (a command that fails nothing pays
    for none of the libraries)."""
    from eventsourcing.persistence import PersistenceError
    from sqlalchemy.exc import SQLAlchemyError

    from lifecycle.domain.definitions import DefinitionsError
    from lifecycle.domain.errors import LedgerError
    from lifecycle.domain.facts import FactInputError
    from lifecycle.domain.timeutil import TimeError
    from lifecycle.importers.canonical import FileFormatError
    from lifecycle.store import StoreURLError

    return (LedgerError, DefinitionsError, FactInputError, TimeError, StoreURLError,
            FileFormatError, PersistenceError, SQLAlchemyError, OSError)
