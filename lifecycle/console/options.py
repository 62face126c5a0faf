"""What every command shares: the options and parameter types, the store it opens, and
the library's errors turned into `Error: …` (exit status 1)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from lifecycle.application.errors import describe

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
DEFAULT_DB = "sqlite:///lifecycle.db"
EXIT_REJECTED = 3
#: The write was stored, but the projections could not be brought up to date after it.
EXIT_BEHIND = 4
#: The largest definitions file read (they are a few kilobytes; /dev/zero is not one).
MAX_DEFINITIONS_BYTES = 1_000_000


class SafeGroup(click.Group):
    """The root command: every `Error:` it prints, click's usage errors included, shows
    control characters escaped (`render.printable`, line by line: a message's own line
    breaks stay), so a file name or value from a hostile source cannot drive the terminal
    through an error message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            from lifecycle.console.render import printable

            # (click types `message` as final; the exception is ours to show, once)
            setattr(exc, "message",  # noqa: B010
                    "\n".join(printable(line) for line in exc.message.split("\n")))
            raise


def friendly(func: F) -> F:
    """Turn the library's errors into `Error: …` on stderr with exit status 1; and say so
    (exit status 4) when a write was stored but the projections could not follow it."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = func(*args, **kwargs)
        except click.exceptions.Exit as done:
            _exit_if_behind()
            raise done
        except (click.ClickException, BrokenPipeError):
            raise  # click itself exits quietly when stdout's reader goes away (`| head`)
        except Exception as exc:
            stop = _stopped_in(exc)
            if stop is not None:  # unwinding after SIGTERM failed on the way: still a stop
                raise stop from None
            message = _message(exc)
            if message is None:
                raise  # not an error a user can cause: a bug, shown as one
            raise click.ClickException(message) from None
        _exit_if_behind()
        return result

    return wrapper  # type: ignore[return-value]


def _message(exc: BaseException) -> str | None:
    from lifecycle.console.render import printable

    text = describe(exc, _root_obj().get("db", ""))
    return None if text is None else printable(text)


def _root_obj() -> dict[str, Any]:
    context = click.get_current_context(silent=True)
    obj = context.find_root().obj if context is not None else None
    return obj if isinstance(obj, dict) else {}


#: Exit status after SIGTERM or SIGHUP (128 + the signal's number, as a shell reports it).
STOPPED_BY = {"SIGTERM": 143, "SIGHUP": 129}


class Stopped(SystemExit):
    """Raised by the first SIGTERM or SIGHUP: the command unwinds and exits."""


def _stopped_in(exc: BaseException) -> Stopped | None:
    """The stop that `exc` was raised while handling, if any (a rollback on a connection
    the stop interrupted can fail in its turn)."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 20:
        if isinstance(current, Stopped):
            return current
        current, seen = current.__context__, seen + 1
    return None


def stop_cleanly_on_signals() -> None:
    """Turn the first SIGTERM (or SIGHUP) into an exit that unwinds: transactions roll
    back, a rebuild drops its shadow tables, `import -` deletes its copy of standard input.
    A second signal kills as usual."""
    import contextlib
    import signal
    import sys
    import threading

    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can be set from the main thread only (a notebook's worker)

    def stop(number: int, _frame: Any) -> None:
        for name in STOPPED_BY:
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        name = signal.Signals(number).name
        # (SIGHUP: the terminal may be gone, and stderr with it; the stop still unwinds)
        with contextlib.suppress(OSError, ValueError):
            print(f"Stopped by {name}: what was committed before stays, the rest was rolled "
                  "back; run the command again to finish", file=sys.stderr, flush=True)
        raise Stopped(STOPPED_BY[name])

    for name in STOPPED_BY:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


def _exit_if_behind() -> None:
    """After a write that was committed: if the projections could not follow it, say so
    and exit with EXIT_BEHIND (never `Error:`, which would say nothing was stored)."""
    ledger = _root_obj().get("ledger")
    reason = getattr(ledger, "behind", None)
    if reason is None:
        return
    why = _message(reason) or f"{type(reason).__name__}: {reason}"
    click.echo(f"Warning: stored, but the projections are behind the log: {why}. The "
               "next report or `lifecycle project` brings them up to date once that is "
               "fixed.", err=True)
    raise click.exceptions.Exit(EXIT_BEHIND)


def output_format(func: F) -> F:
    return click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]),
                         default="table", show_default=True,
                         help="table for people; json or csv for scripts.")(func)


def workers_option(func: F) -> F:
    return click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
                        help="Processes that derive and write the replay's partitions "
                             "(default: one per core; 1: this process only).")(func)


class Instant(click.ParamType):
    """An ISO 8601 instant with an offset (`2024-03-31T23:59:59Z`), a date (midnight UTC),
    or `now`."""

    name = "TIMESTAMP"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        from datetime import UTC, date

        from lifecycle.domain.timeutil import TimeError, parse_instant, utc_now

        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        if text.lower() == "now":
            return utc_now()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                return datetime(day.year, day.month, day.day, tzinfo=UTC)
            return parse_instant(text, None)
        except TimeError as exc:
            if "no offset" in str(exc):
                self.fail(f"{text!r} has no offset: add Z (UTC) or +HH:MM, "
                          "e.g. 2024-03-31T23:59:59Z", param, ctx)
            self.fail(str(exc), param, ctx)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


INSTANT = Instant()
LEVEL = click.Choice(["person", "account", "opportunity"])


def ledger_from(ctx: click.Context) -> Any:
    from lifecycle.application.ledger import Ledger

    root = ctx.find_root()
    if "ledger" not in root.obj:
        root.obj["ledger"] = Ledger(root.obj["db"], read_only=root.obj.get("read_only", False))
        root.call_on_close(root.obj["ledger"].close)
    return root.obj["ledger"]


def refuse_read_only(ctx: click.Context, command: str) -> None:
    """With --read-only (or LIFECYCLE_READ_ONLY), refuse `command`, which writes: `Error:`
    and exit status 1, before the store is even opened."""
    root = ctx.find_root()
    if root.obj.get("read_only"):
        from lifecycle.store.failures import ReadOnlyStore

        raise click.ClickException(str(ReadOnlyStore(root.obj["db"], f"`lifecycle {command}`")))


def writer_from(ctx: click.Context, command: str) -> Any:
    """The ledger for `command`, which writes (refused with --read-only)."""
    refuse_read_only(ctx, command)
    return ledger_from(ctx)


def read_text(path: str, limit: int = MAX_DEFINITIONS_BYTES) -> str:
    """A small text file, whole; an error naming it if it is bigger than `limit` bytes
    (read no further: `/dev/zero` never ends)."""
    try:
        with Path(path).open("rb") as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise click.ClickException(f"{path}: larger than {limit:,} bytes; a definitions "
                                   "file is a few kilobytes of YAML")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{path}: not valid UTF-8") from None


def load_definitions_file(path: str) -> Any:
    from lifecycle.domain.definitions import DefinitionsError, load_definitions
    from lifecycle.domain.starters import starter_text

    text = starter_text(path)
    try:
        return load_definitions(text if text is not None else read_text(path))
    except DefinitionsError as exc:
        raise click.ClickException(f"{path}: {exc}") from None


KNOWN_AT_HELP = ("Report what the ledger would have said at this moment: only facts "
                 "recorded by then, under the definitions active then.")


def report_options(func: F) -> F:
    """What every report command takes and does: --definitions, --format, the context, and
    the library's errors as `Error: …`."""
    return definitions_option(output_format(click.pass_context(friendly(func))))  # type: ignore[return-value]


def definitions_option(func: F) -> F:
    return click.option(
        "--definitions", "definitions_version", metavar="VERSION",
        help="Report under this published version of the definitions (without "
             "publishing it).")(func)


WINDOW_FROM_HELP = "From this moment (inclusive; a date is midnight UTC)."
WINDOW_TO_HELP = "Up to this moment (exclusive)."


class Seconds(click.FloatRange):
    """A duration in seconds: a number >= 0 (not NaN, which every range check lets by)."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        seconds = super().convert(value, param, ctx)
        if seconds != seconds:
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


SECONDS = Seconds(min=0)


class PartitionType(click.ParamType):
    """`i/n`: worker i of n (0-based)."""

    name = "I/N"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from projections.positions import Partition

        try:
            index, count = (int(part) for part in str(value).split("/"))
            return Partition(index, count)
        except ValueError:
            self.fail(f"{value!r} is not i/n with 0 <= i < n (e.g. 0/2)", param, ctx)
