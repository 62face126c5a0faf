"""What a storage error means for the user: the drivers' errors (SQLite, PostgreSQL, as
raised directly or wrapped by eventsourcing and SQLAlchemy) told apart by kind, each named
with the store and what to do.

Every kind here is one the database raises *before* it commits: the failing transaction is
rolled back, so the store is as it was before that transaction. What a command had already
committed before it is for the application to say (`ImportInterrupted`, `Ledger.behind`).
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator

from lifecycle.domain.errors import LedgerError
from lifecycle.store import settings
from lifecycle.store.settings import redact


class StoreFailure(LedgerError):
    """The store refused or failed an operation; the message names it and what to do."""

    kind = "failed"

    def __init__(self, message: str, kind: str = "failed"):
        super().__init__(message)
        self.kind = kind


class ReadOnlyStore(StoreFailure):
    """A write asked of a store opened read-only (`--read-only`, LIFECYCLE_READ_ONLY=1)."""

    def __init__(self, url: str, what: str = "this command"):
        super().__init__(
            f"{what} writes, and {redact(url)} is open read-only (--read-only or "
            "LIFECYCLE_READ_ONLY): nothing was done. Run it without them, against a "
            "writable store", "read-only")


#: (kind, words found in the driver's message or a PostgreSQL SQLSTATE, what it means and
#: what to do). `{store}` is the redacted URL. The first match wins.
_KINDS: list[tuple[str, tuple[str, ...], str]] = [
    ("disk full", ("database or disk is full", "disk is full", "no space left", "53100",
                   "diskfull", "could not extend file", "sqlite_full",
                   "sqlite_ioerr_shmsize"),
     "the disk holding {store} is full. Free some space (or move the store to a larger "
     "disk) and run the command again"),
    ("read-only", ("attempt to write a readonly database", "readonly database",
                   "read-only transaction", "25006", "read-only file system",
                   "readonly_directory"),
     "{store} cannot be written: its file, its folder or the server is read-only (or "
     "the store was opened with --read-only). Make them writable by the user running "
     "lifecycle, or point --db at a writable store"),
    ("corrupt", ("file is not a database", "database disk image is malformed",
                 "malformed database schema", "not a database"),
     "{store} is not a readable SQLite database: the file is damaged, truncated or not a "
     "ledger. Nothing was changed. Restore it from a backup, or point --db at the "
     "right file"),
    ("locked", ("database is locked", "database table is locked", "55p03",
                "lock timeout", "lock_timeout", "canceling statement due to lock timeout"),
     "{store} is locked by another process and stayed locked beyond the timeout ({timeout} s). "
     "Nothing was changed. Run the command again once the other writer (an import, a "
     "rebuild, a backfill) is done"),
    ("not a ledger", ("no such table", "undefinedtable", "42p01"),
     "{store} lacks a table the ledger needs: it is not a ledger, or this version never "
     "opened it writable. Run `lifecycle init --definitions FILE` on a new store, or any "
     "command without --read-only on an existing one"),
    ("cannot open", ("unable to open database file", "cannot open"),
     "{store} cannot be opened: check that its folder exists and that the file and its "
     "folder can be read (and written, unless --read-only) by the user running lifecycle"),
    ("i/o error", ("disk i/o error", "i/o error", "input/output error", "58030"),
     "the disk holding {store} failed a read or a write (an I/O error: a full or failing "
     "disk, a lost network share). Free some space or check the disk, then run the "
     "command again"),
    ("connection lost", ("server closed the connection", "connection is lost",
                         "terminating connection", "consuming input failed",
                         "the connection is closed", "08006", "08003", "57p01"),
     "the connection to {store} was lost. Run the command again once the server is back: "
     "facts already stored are counted as duplicates, never stored twice"),
]


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        for inner in getattr(current, "args", ())[:1]:
            if isinstance(inner, BaseException):
                yield inner
        current = current.__cause__ or current.__context__ or getattr(current, "orig", None)


#: What an operating system error on one of the store's own files means.
_ERRNO_WORDS = {errno.ENOSPC: "no space left", errno.EDQUOT: "no space left",
                errno.EROFS: "read-only file system", errno.EACCES: "read-only file system",
                errno.EPERM: "read-only file system", errno.EIO: "i/o error"}


def _is_storage_error(exc: BaseException, url: str) -> bool:
    if isinstance(exc, sqlite3.Error):
        return True
    if isinstance(exc, OSError):  # on a file beside a SQLite store (its build lock)
        return exc.errno in _ERRNO_WORDS and _of_store(exc.filename, url)
    return type(exc).__module__.startswith(("psycopg", "eventsourcing", "sqlalchemy"))


def _of_store(filename: object, url: str) -> bool:
    try:
        path = settings.sqlite_path(url)
    except ValueError:
        return False
    return path is not None and isinstance(filename, str) and filename.startswith(
        str(path))


def _text(exc: BaseException) -> str:
    parts = [str(exc), str(getattr(exc, "sqlite_errorname", ""))]
    if isinstance(exc, OSError) and exc.errno in _ERRNO_WORDS:
        parts.append(_ERRNO_WORDS[exc.errno])
    sqlstate = getattr(exc, "sqlstate", None) or getattr(
        getattr(exc, "diag", None), "sqlstate", None)
    if sqlstate:
        parts.append(str(sqlstate))
    parts.append(type(exc).__name__)
    return " ".join(parts).lower()


def explain(exc: BaseException, url: str) -> StoreFailure | None:
    """The storage failure `exc` stands for, named with the store; None when `exc` is not
    a storage error this module knows (then it is a bug, or someone else's error)."""
    if isinstance(exc, StoreFailure):
        return exc
    found = [e for e in _chain(exc) if _is_storage_error(e, url)]
    if not found:
        return None
    text = " ".join(_text(e) for e in found)
    for kind, words, advice in _KINDS:
        if any(word in text for word in words):
            detail = _first_line(found[-1])
            advice = advice.format(store=redact(url), timeout=settings.LOCK_TIMEOUT)
            return StoreFailure(f"{advice} ({detail})", kind)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
