"""Every report in one table: how to build it from a view, its columns, and how a table
shows it. The CLI's `report` commands, the Python API and the parity test between them
all read `REPORTS`; a new report is one entry here (plus its command's options and its
API method, which the parity test asks for).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lifecycle.reports import aging, flags, funnel, signals, sla, stages, timeline, velocity

#: A report's document: the dict analytics reports return, or the list of rows of
#: `stamps` and `moves`.
Document = Any
Options = Mapping[str, Any]


@dataclass(frozen=True)
class Summary:
    """A table shown above the rows (for people): the document's `key` list."""

    title: str
    key: str
    columns: list[str]
    percent: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """How one report is built and shown.

    `build(view, **options)` makes the document; `columns(document, options)` names the
    row columns; `key` is where the document holds its rows (None: the document is the
    rows), which `flat` reshapes for CSV and tables if given (JSON prints the whole
    document); `caption` closes the table; `percent` columns are shown as percentages in
    tables; `summary` is a table printed before the rows.
    """

    build: Callable[..., Document]
    columns: Callable[[Document, Options], list[str]]
    key: str | None = "rows"
    title: str | None = None
    caption: Callable[[Document], str] | None = None
    percent: tuple[str, ...] = ()
    summary: Summary | None = None
    flat: Callable[[Document], list[dict[str, Any]]] | None = None

    def rows(self, document: Document) -> list[dict[str, Any]]:
        """The rows CSV and tables print."""
        if self.flat is not None:
            return self.flat(document)
        return list(document if self.key is None else document[self.key])

    def meta(self, document: Document) -> dict[str, Any]:
        """Everything in the document but its rows."""
        if self.key is None:
            return {}
        return {k: v for k, v in document.items() if k != self.key}


def _fixed(columns: list[str]) -> Callable[[Document, Options], list[str]]:
    return lambda _document, _options: list(columns)


REPORTS: dict[str, Report] = {
    # (The console prints the fast path of `report stages` with these columns itself.)
    "stages": Report(stages.stages, _fixed(["stage", "label", "count"]), key="stages",
                     caption=stages.caption),
    "stamps": Report(stages.stamps,
                     lambda _d, o: stages.STAMP_COLUMNS + (stages.SNAPSHOT_COLUMNS
                                                           if o.get("snapshot") else []),
                     key=None, caption=stages.stamps_caption),
    "moves": Report(stages.moves, _fixed(stages.MOVE_COLUMNS), key=None),
    "funnel": Report(funnel.funnel, lambda _d, o: funnel.columns(o.get("by")),
                     title="Funnel", caption=funnel.caption,
                     percent=("share_of_cohort", "share_of_previous")),
    "velocity": Report(velocity.velocity, lambda _d, o: velocity.columns(o.get("by")),
                       title="Velocity", caption=velocity.caption, percent=("recycle_rate",)),
    "sla": Report(sla.sla, _fixed(sla.COLUMNS), title="Breaches", caption=sla.caption,
                  summary=Summary("SLA summary", "summary", sla.SUMMARY_COLUMNS,
                                  ("breach_rate",))),
    "flags": Report(flags.flags, _fixed(flags.COLUMNS), title="Flags", caption=flags.caption,
                    summary=Summary("Summary", "summary", flags.SUMMARY_COLUMNS)),
    "signals": Report(signals.signals, _fixed(signals.COLUMNS), title="Signals",
                      caption=signals.caption),
    "aging": Report(aging.aging, _fixed(aging.COLUMNS), title="Aging", caption=aging.caption),
    "timeline": Report(timeline.timeline, lambda d, _o: timeline.columns(d["stages"]),
                       title="Timeline", caption=timeline.caption, flat=timeline.flat_rows),
}
