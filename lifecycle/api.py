"""The Python API, for notebooks and scripts: the CLI's reports as rows.

    import lifecycle
    db = lifecycle.open("sqlite:///lifecycle.db")
    db.funnel(entry_stage="mql", from_="2024-01-01", to="2024-04-01").to_pandas()

Methods have the names and options of `lifecycle report ...` and `lifecycle audit`
(`--known-at` is `known_at`; `--from` is `from_`, `from` being a Python keyword).
Instants are datetimes with a time zone, dates (midnight UTC), ISO 8601 text with an offset,
or `"now"`. Each method returns `Rows`: a list of dicts (the rows the CLI prints as CSV),
with the rest of the report in `.meta` and `.to_pandas()` when pandas is installed.

Long work (bringing the projections up to date, the replays behind `known_at` and
`definitions`) prints nothing; to follow it, give a callback, which receives `Step`s
(phase, done, total, unit, facts) as each phase begins, moves and completes:

    db = lifecycle.open("sqlite:///lifecycle.db", progress=print)
    db.progress = None   # or another callback, for the calls that follow
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from lifecycle.application.ledger import Ledger
from lifecycle.application.reporting import run_report, write_html
from lifecycle.domain.facts import PERSON, Subject
from lifecycle.domain.progress import Progress, Step, as_progress
from lifecycle.domain.timeutil import TimeError, parse_instant, utc_now
from lifecycle.reports.registry import REPORTS

DEFAULT_URL = "sqlite:///lifecycle.db"
When = datetime | date | str | None
#: What `progress=` takes: a function of a `Step`, or an object with `phase(name, total,
#: unit)` and `advance(done, facts)` (lifecycle.domain.progress.Progress), or None.
Listener = Callable[[Step], object] | Progress | None


class Rows(list[dict[str, Any]]):
    """A report's rows (plain dicts), its other fields in `meta`, and `to_pandas()`."""

    def __init__(self, rows: Iterable[dict[str, Any]], columns: Sequence[str] = (),
                 meta: dict[str, Any] | None = None):
        super().__init__(rows)
        self.columns = list(columns)
        self.meta = meta or {}

    def to_pandas(self) -> Any:
        """The rows as a pandas DataFrame, columns in the CLI's order."""
        try:
            import pandas
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        return pandas.DataFrame(list(self), columns=self.columns or None)

    as_frame = to_pandas


def instant(value: When) -> datetime | None:
    """An instant as the CLI reads one: aware datetime, date (midnight UTC), ISO text, now."""
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            raise TimeError(f"datetime {value.isoformat()} has no time zone (give tzinfo, "
                            "e.g. datetime.UTC)")
        return None if value is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value).strip()
    if text.lower() == "now":
        return utc_now()
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise TimeError(f"not a date: {text!r}") from exc
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return parse_instant(text)


def _many(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _rows(document: dict[str, Any], columns: Sequence[str], key: str = "rows") -> Rows:
    return Rows(document[key], columns, {k: v for k, v in document.items() if k != key})


class Lifecycle:
    """One ledger's reports. Close it (or use `with`) when done."""

    def __init__(self, url: str | None = None, read_only: bool = False,
                 progress: Listener = None):
        self.ledger = Ledger(url or os.environ.get("LIFECYCLE_DB", DEFAULT_URL),
                             read_only=read_only, progress=as_progress(progress))

    @property
    def progress(self) -> Progress:
        """What hears the phases of long work; set it to a callback, or None for nothing."""
        return self.ledger.progress

    @progress.setter
    def progress(self, listener: Listener) -> None:
        self.ledger.progress = as_progress(listener)

    def close(self) -> None:
        self.ledger.close()

    def __enter__(self) -> Lifecycle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"lifecycle.open({self.ledger.display_url!r})"

    # ---- reports (`lifecycle report ...`; their builders are in lifecycle.reports) -------

    def _report(self, report_name: str, known_at: When, definitions: str | None, /,
                **options: Any) -> Rows:
        document = run_report(self.ledger, report_name, instant(known_at), definitions,
                              **options)
        report = REPORTS[report_name]
        return Rows(report.rows(document), report.columns(document, options),
                    report.meta(document))

    def stages(self, as_of: When, level: str = PERSON, known_at: When = None,
               definitions: str | None = None) -> Rows:
        return self._report("stages", known_at, definitions,
                            as_of=_required(as_of, "as_of"), level=level)

    def stamps(self, level: str | None = None, stage: str | None = None,
               known_at: When = None, snapshot: bool = False,
               definitions: str | None = None) -> Rows:
        return self._report("stamps", known_at, definitions, level=level, stage=stage,
                            snapshot=snapshot)

    def moves(self, level: str | None = None, direction: str | Sequence[str] | None = None,
              since: When = None, until: When = None, known_at: When = None,
              definitions: str | None = None) -> Rows:
        return self._report("moves", known_at, definitions, level=level,
                            directions=_many(direction), since=instant(since),
                            until=instant(until))

    def funnel(self, entry_stage: str | None = None, from_: When = None, to: When = None,
               level: str = PERSON, by: str | None = None, known_at: When = None,
               definitions: str | None = None) -> Rows:
        return self._report("funnel", known_at, definitions, entry_stage=entry_stage,
                            start=instant(from_), end=instant(to), level=level, by=by)

    def velocity(self, from_stage: str | None = None, to_stage: str | None = None,
                 by: str | None = None, level: str = PERSON, since: When = None,
                 until: When = None, known_at: When = None,
                 definitions: str | None = None) -> Rows:
        return self._report("velocity", known_at, definitions, from_stage=from_stage,
                            to_stage=to_stage, by=by, level=level, since=instant(since),
                            until=instant(until))

    def sla(self, as_of: When, level: str = PERSON, sla: str | None = None,
            since: When = None, known_at: When = None, definitions: str | None = None) -> Rows:
        """The breaches; `.meta["summary"]` has the per-SLA counts."""
        return self._report("sla", known_at, definitions, as_of=_required(as_of, "as_of"),
                            level=level, name=sla, since=instant(since))

    def flags(self, as_of: When, flag: str | Sequence[str] | None = None,
              known_at: When = None, definitions: str | None = None) -> Rows:
        return self._report("flags", known_at, definitions, as_of=_required(as_of, "as_of"),
                            flag=_many(flag))

    def signals(self, since: When = None, until: When = None,
                reason: str | Sequence[str] | None = None, known_at: When = None,
                definitions: str | None = None) -> Rows:
        return self._report("signals", known_at, definitions, since=instant(since),
                            until=instant(until), reason=_many(reason))

    def aging(self, as_of: When, level: str = PERSON, known_at: When = None,
              definitions: str | None = None) -> Rows:
        return self._report("aging", known_at, definitions, as_of=_required(as_of, "as_of"),
                            level=level)

    def timeline(self, from_: When = None, to: When = None, every: str = "month",
                 level: str = PERSON, known_at: When = None,
                 definitions: str | None = None) -> Rows:
        """One row per period, one column per stage (wide, ready to plot stacked)."""
        return self._report("timeline", known_at, definitions, start=instant(from_),
                            end=instant(to), every=every, level=level)

    def merges(self, known_at: When = None) -> Rows:
        """Every merged id (SPEC §8): alias, merged_into, survivor_id, status..."""
        from lifecycle.application.merges import COLUMNS, merges

        return Rows(merges(self.ledger, instant(known_at)), COLUMNS)

    def audit(self, subject_type: str, subject_id: str) -> Rows:
        """The subject's facts and what each derived; transitions, stamps... in `.meta`."""
        from lifecycle.application.audit import audit

        document = audit(self.ledger, Subject(subject_type, subject_id))
        return _rows(document, ["seq", "event_id", "type", "occurred_at", "recorded_at",
                                "source", "source_id", "actor", "campaign", "details",
                                "derived", "derived_detail", "retracted"], "facts")

    def html(self, output: str | Path, from_: When = None, to: When = None,
             level: str = PERSON, known_at: When = None,
             definitions: str | None = None) -> Path:
        """Write the self-contained HTML report; returns its path."""
        path = Path(output)
        write_html(self.ledger, path, instant(known_at), definitions, start=instant(from_),
                   end=instant(to), level=level)
        return path


def _required(value: When, name: str) -> datetime:
    moment = instant(value)
    if moment is None:
        raise TypeError(f"{name} is required (a datetime, a date, ISO text or 'now')")
    return moment


def open(url: str | None = None, read_only: bool = False,
         progress: Listener = None) -> Lifecycle:
    """The ledger at `url` (default: $LIFECYCLE_DB, else sqlite:///lifecycle.db);
    `read_only` for a read replica (nothing is written, projections are read as they
    stand); `progress` a callback that receives a `Step` as long work moves."""
    return Lifecycle(url, read_only, progress)
