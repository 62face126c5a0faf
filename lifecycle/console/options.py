"""What every command shares: the options and parameter types, the store it opens, and
the library's errors turned into `Error: …` (exit status 1)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from lifecycle.application.errors import user_errors

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
DEFAULT_DB = "sqlite:///lifecycle.db"
EXIT_REJECTED = 3


def friendly(func: F) -> F:
    """Turn the library's errors into `Error: …` on stderr with exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.ClickException, BrokenPipeError):
            raise  # click itself exits quietly when stdout's reader goes away (`| head`)
        except user_errors() as exc:
            raise click.ClickException(_message(exc)) from None

    return wrapper  # type: ignore[return-value]


def _message(exc: BaseException) -> str:
    from lifecycle.domain.facts import FactInputError
    from lifecycle.store import redact

    if isinstance(exc, FactInputError) and exc.field:
        return f"{exc.field}: {exc.reason}"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    url = click.get_current_context().find_root().obj.get("db", "")
    if url and url in text:
        text = text.replace(url, redact(url))
    return text


def output_format(func: F) -> F:
    return click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]),
                         default="table", show_default=True,
                         help="table for people; json or csv for scripts.")(func)


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


def read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{path}: not valid UTF-8") from None
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror}") from None


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
