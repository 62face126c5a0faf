"""`report html`: one self-contained HTML page for people who do not run commands.

Stage counts over time (stacked), the funnel, the flow between stages (backward moves
included), SLA breaches and velocity, with the definitions version and known-at used.
The page inlines Apache ECharts (`data/echarts.min.js`, Apache-2.0, see
`data/echarts.LICENSE.txt`) and its data: it opens with no network, and its
Content-Security-Policy forbids fetching anything.

Everything shown is escaped: table cells by `html.escape`, chart data as JSON inside a
`<script type="application/json">` with `<`, `>` and `&` written as `\\u003c`... and drawn as
SVG text by the charts, whose tooltips escape too (see `data/report.js`).
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lifecycle.domain.facts import OPPORTUNITY, PERSON, plural
from lifecycle.domain.timeutil import format_instant, utc_now
from lifecycle.reports import aging, funnel, sla, timeline, velocity
from projections.queries import analytics
from projections.view import View

DATA = Path(__file__).parents[1] / "data"
TOP_BREACHES = 15
#: Path stages run from light blue to deep green, off-path stages amber, exits grey.
PATH_COLORS = ["#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c",
               "#74c476", "#41ab5d", "#238b45", "#006d2c"]
OFF_PATH_COLORS = ["#fdae6b", "#fd8d3c", "#e6550d"]
EXIT_COLORS = ["#bdbdbd", "#969696", "#737373", "#525252", "#d9d9d9"]


def build(view: View, start: datetime | None = None, end: datetime | None = None,
          level: str = PERSON) -> dict[str, Any]:
    """The data behind the page (plain JSON-able values)."""
    defs = view.definitions
    every = _every(view, start, end, level)
    series = timeline.timeline(view, start, end, every, level)
    start_text, end_text = series["from"], series["to"]
    start = datetime.fromisoformat(start_text.replace("Z", "+00:00")) if start_text else None
    end = datetime.fromisoformat(end_text.replace("Z", "+00:00")) if end_text else None
    now = utc_now().replace(microsecond=0)
    latest = min(now, view.known_at) if view.known_at else now  # nothing later is known
    as_of = min(end - timedelta(microseconds=1), latest) if end else latest
    with view.connect() as conn:
        flow = analytics.flow(conn, level, start, end)
    return {
        "meta": {"title": f"Lifecycle report: {plural(level)}", "level": level,
                 "from": start_text, "to": end_text, "as_of": format_instant(as_of),
                 "known_at": format_instant(view.known_at),
                 "definitions_version": defs.version, "generated_at": format_instant(now),
                 "every": every},
        "stages": _stages(defs),
        "timeline": series["rows"],
        "funnel": funnel.funnel(view, None, start, end, level) if defs.path_stages
        else {"cohort": 0, "counting": funnel.COUNTING, "rows": []},
        "flow": flow,
        "sla": sla.sla(view, as_of, level, since=start, worst=TOP_BREACHES),
        "velocity": velocity.velocity(view, level=level, since=start, until=end)["rows"],
        "aging": aging.aging(view, as_of, level)["rows"],
        "pipeline": pipeline(view, as_of),
    }


def pipeline(view: View, as_of: datetime) -> dict[str, Any]:
    """Opportunities open at `as_of` by stage, and per quarter they opened: opened, won,
    win rate and median days to won (the opportunity funnel of that quarter's cohort)."""
    with view.connect() as conn:
        first, last = analytics.move_span(conn, OPPORTUNITY)
    quarters: list[dict[str, Any]] = []
    if first is not None and last is not None and view.definitions.path_stages:
        start = datetime(first.year, (first.month - 1) // 3 * 3 + 1, 1, tzinfo=UTC)
        while start <= last:
            end = _next_quarter(start)
            document = funnel.funnel(view, None, start, end, OPPORTUNITY)
            won = document["rows"][-1]
            if document["cohort"]:
                quarters.append({"quarter": f"{start.year}-Q{(start.month - 1) // 3 + 1}",
                                 "opened": document["cohort"], "won": won["reached"],
                                 "win_rate": won["share_of_cohort"],
                                 "median_days_to_won": won["median_days"],
                                 "won_stage": won["stage"]})
            start = end
    return {"quarters": quarters}


def _next_quarter(start: datetime) -> datetime:
    month = start.month + 3
    return start.replace(year=start.year + (month > 12), month=(month - 1) % 12 + 1)


def _every(view: View, start: datetime | None, end: datetime | None, level: str) -> str:
    """Weeks for a window of up to six months, else months."""
    if start is None or end is None:
        with view.connect() as conn:
            first, last = analytics.move_span(conn, level)
        start, end = start or first, end or last
    if start is None or end is None:
        return "month"
    return "week" if end - start <= timedelta(days=183) else "month"


def _stages(defs: Any) -> list[dict[str, Any]]:
    path = defs.path_stages
    colors: dict[str, str] = {}
    for index, stage in enumerate(path):
        spot = round(index * (len(PATH_COLORS) - 1) / max(len(path) - 1, 1))
        colors[stage.key] = PATH_COLORS[spot]
    others = {"off_path": iter(OFF_PATH_COLORS * 10), "exit": iter(EXIT_COLORS * 10)}
    result = []
    for stage in defs.stages:
        color = colors.get(stage.key) or next(others[stage.kind])
        result.append({"key": stage.key, "label": stage.label, "kind": stage.kind,
                       "rank": stage.rank, "color": color})
    return result


# ---- the page ------------------------------------------------------------------------------

def render(data: dict[str, Any]) -> str:
    """The whole page as text."""
    meta = data["meta"]
    parts = {
        "TITLE": _e(meta["title"]),
        "HEADER": _header(data),
        "KPIS": _kpis(data),
        "FUNNEL_NOTE": _e(data["funnel"]["counting"].capitalize() + "."),
        "BREACHES": _breaches_table(data),
        "VELOCITY": _velocity_table(data),
        "AGING": _aging_table(data),
        "PIPELINE": _pipeline_table(data),
        "FOOTER": _footer(data),
        "DATA": script_json(_chart_data(data)),
        "ECHARTS": (DATA / "echarts.min.js").read_text("utf-8"),
        "SCRIPT": (DATA / "report.js").read_text("utf-8"),
    }
    template = (DATA / "report.html").read_text("utf-8")
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: parts[m.group(1)], template)


def _chart_data(data: dict[str, Any]) -> dict[str, Any]:
    """What the charts draw (the tables are written here, so their rows stay out)."""
    keep = ("meta", "stages", "timeline", "funnel", "flow")
    return {**{k: data[k] for k in keep}, "sla": {"summary": data["sla"]["summary"]}}


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no `<`, `>` or `&` survives as itself."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _label(data: dict[str, Any], key: str | None) -> str:
    for stage in data["stages"]:
        if stage["key"] == key:
            return str(stage["label"])
    return key or ""


def _header(data: dict[str, Any]) -> str:
    meta = data["meta"]
    known = meta["known_at"] or f"now ({meta['generated_at']})"
    window = f"{_day(meta['from'])} to {_day(meta['to'])}" if meta["from"] else "no activity"
    return (f'<p class="sub">{_e(window)} · definitions <b id="definitions-version">'
            f'{_e(meta["definitions_version"])}</b> · known at <b id="known-at">{_e(known)}'
            f"</b></p>")


def _day(text: str | None) -> str:
    return (text or "")[:10]


def _kpis(data: dict[str, Any]) -> str:
    rows = data["funnel"]["rows"]
    cohort = data["funnel"]["cohort"]
    last = rows[-1] if rows else None
    at_end = data["timeline"][-1]["total"] if data["timeline"] else 0
    summary = data["sla"]["summary"]
    breaches = sum(s["breached"] + s["breaching_now"] for s in summary)
    judged = sum(s["intervals"] for s in summary)
    backward = sum(f["moves"] for f in data["flow"] if f["direction"] == "backward")
    moves = sum(f["moves"] for f in data["flow"])
    level = data["meta"]["level"]
    cards = [
        (f"{at_end:,}", f"{plural(level)} in a stage at the end"),
        (f"{cohort:,}", f"entered the funnel ({_label(data, rows[0]['stage']) if rows else ''})"),
        (f"{last['reached']:,}" if last else "0",
         f"reached {_label(data, last['stage'])} ({_pct(last['share_of_cohort'])})"
         if last else "reached the last stage"),
        (f"{breaches:,}", f"SLA breaches ({_pct(breaches / judged if judged else None)} "
                          "of intervals)"),
        (f"{backward:,}", f"backward moves ({_pct(backward / moves if moves else None)} "
                          "of all moves)"),
    ]
    return "".join(f'<div class="kpi"><div class="v">{_e(v)}</div><div class="k">{_e(k)}'
                   "</div></div>" for v, k in cards)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _duration(hours: float) -> str:
    days, rest = divmod(round(hours), 24)
    return f"{days}d {rest}h" if days else f"{rest}h"


def _table(columns: list[str], rows: list[list[str]], numeric: set[int], empty: str) -> str:
    if not rows:
        return f'<p class="empty">{_e(empty)}</p>'
    head = "".join(f'<th class="{"n" if i in numeric else ""}">{_e(c)}</th>'
                   for i, c in enumerate(columns))
    body = "".join("<tr>" + "".join(f'<td class="{"n" if i in numeric else ""}">{_e(v)}</td>'
                                    for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _breaches_table(data: dict[str, Any]) -> str:
    worst = sorted(data["sla"]["rows"], key=lambda r: (-r["hours_over"], r["subject_id"]))
    rows = [[r["sla"], r["subject_id"], _day(r["entered_at"]),
             _day(r["exited_at"]) if r["exited_at"] else "still open",
             _duration(r["hours_in_stage"]), _duration(r["hours_over"])]
            for r in worst[:TOP_BREACHES]]
    return _table(["SLA", "Subject", "Entered", "Exited", "Time in stage", "Over by"], rows,
                  {4, 5}, "No SLA breaches in this window.")


def _velocity_table(data: dict[str, Any]) -> str:
    def num(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f}"

    rows = [[f"{_label(data, r['from_stage'])} → {_label(data, r['to_stage'])}",
             f"{r['count']:,}", f"{r['inferred']:,}", num(r["median_days"]),
             num(r["p75_days"]), num(r["p90_days"]), _pct(r["recycle_rate"])]
            for r in data["velocity"]]
    return _table(["Stage to stage", "Subjects", "Inferred", "Median days", "p75", "p90",
                   "Sent back"], rows, {1, 2, 3, 4, 5, 6}, "No path stages.")


def _aging_table(data: dict[str, Any]) -> str:
    def num(value: float | None) -> str:
        return "–" if value is None else f"{value:.0f}"

    rows = [[r["label"], f"{r['count']:,}", num(r["median_days"]), num(r["p90_days"]),
             r["oldest_subject_id"] or "–", num(r["oldest_days"])]
            for r in data["aging"] if r["count"]]
    return _table(["Stage", "Subjects now", "Median days in stage", "p90 days",
                   "Longest there", "Days"], rows, {1, 2, 3, 5}, "Nobody is in a stage.")


def _pipeline_table(data: dict[str, Any]) -> str:
    def num(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f}"

    rows = [[q["quarter"], f"{q['opened']:,}", f"{q['won']:,}", _pct(q["win_rate"]),
             num(q["median_days_to_won"])] for q in data["pipeline"]["quarters"]]
    return _table(["Opened in", "Opportunities", "Won", "Win rate", "Median days to won"],
                  rows, {1, 2, 3, 4}, "No opportunities in the ledger.")


def _footer(data: dict[str, Any]) -> str:
    meta = data["meta"]
    return (f"Definitions {_e(meta['definitions_version'])} · known at "
            f"{_e(meta['known_at'] or 'now')} · SLA and aging as of "
            f"{_e(meta['as_of'][:19].replace('T', ' '))} UTC · "
            f"generated {_e(meta['generated_at'])} by <code>lifecycle report html</code> · "
            "charts: Apache ECharts (Apache-2.0), inlined")
