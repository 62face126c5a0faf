"""The Python API: `lifecycle.open(url)` and methods named like the CLI reports."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

import click
import pytest
from report_support import load

import lifecycle
from cli import main
from lifecycle.api import Rows, instant
from lifecycle.domain.timeutil import TimeError
from lifecycle.reports import registry

#: Every report of the registry: each has a CLI command and an API method with its options.
REPORTS = sorted(registry.REPORTS)


@pytest.fixture(scope="module")
def api(db: str) -> lifecycle.Lifecycle:  # type: ignore[name-defined]
    with lifecycle.open(db) as opened:
        yield opened


def test_every_cli_report_has_a_method_with_its_options(api: object) -> None:
    group = main.commands["report"]
    assert isinstance(group, click.Group)
    for name in REPORTS:
        command = group.commands[name]
        method = getattr(api, name)
        flags = [max(p.opts, key=len) for p in command.params if p.name != "fmt"]
        wanted = {f.removeprefix("--").replace("-", "_") for f in flags}
        wanted = {"from_" if w == "from" else w for w in wanted}
        have = set(method.__code__.co_varnames[1:method.__code__.co_argcount])
        assert wanted <= have, (name, wanted - have)
    assert callable(api.audit) and callable(api.html)  # type: ignore[attr-defined]


def test_rows_are_dicts_with_the_rest_in_meta(api: object) -> None:
    rows = api.funnel(entry_stage="new", from_="2024-01-01", to=date(2024, 2, 1))  # type: ignore[attr-defined]
    assert isinstance(rows, Rows) and isinstance(rows, list)
    assert rows[0] == {"stage": "new", "label": "New/Unverified", "cohort": 3, "reached": 3,
                       "inferred": 1, "share_of_cohort": 1.0, "share_of_previous": None,
                       "median_days": None}
    assert rows.meta["cohort"] == 3 and rows.meta["to"] == "2024-02-01T00:00:00Z"
    assert "rows" not in rows.meta


def test_methods_return_what_the_cli_prints(api: object, db: str) -> None:
    import json

    from click.testing import CliRunner

    out = CliRunner().invoke(main, ["--db", db, "report", "sla", "--as-of",
                                    "2024-02-07T06:00:00Z", "--format", "json"]).stdout
    rows = api.sla(as_of=datetime(2024, 2, 7, 6, tzinfo=UTC))  # type: ignore[attr-defined]
    assert list(rows) == json.loads(out)["rows"]
    assert rows.meta["summary"] == json.loads(out)["summary"]
    stages = api.stages("2024-02-07T06:00:00Z")  # type: ignore[attr-defined]
    assert {r["stage"]: r["count"] for r in stages}["new"] == 2
    assert api.moves(direction="backward")[0]["subject_id"] == "p2"  # type: ignore[attr-defined]
    assert [r["subject_id"] for r in api.signals(reason=["exit"])] == ["s1"]  # type: ignore[attr-defined]
    assert len(api.flags("2024-03-20", flag="at_risk")) == 3  # type: ignore[attr-defined]
    assert api.audit("person", "p2").meta["current_stage"] == "verified"  # type: ignore[attr-defined]


def test_to_pandas(api: object) -> None:
    pandas = pytest.importorskip("pandas")
    frame = api.timeline(from_="2024-01-01", to="2024-03-01").to_pandas()  # type: ignore[attr-defined]
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns[:5]) == ["period", "start", "end", "total", "new"]
    assert frame["total"].tolist() == [5, 6]
    velocity = api.velocity(by="month", from_stage="new", to_stage="mql").as_frame()  # type: ignore[attr-defined]
    assert velocity["month"].tolist() == ["2023-12", "2024-01", "2024-02"]
    empty = api.signals(since="2030-01-01").to_pandas()  # type: ignore[attr-defined]
    assert empty.empty and "subject_id" in empty.columns


def test_to_pandas_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        Rows([{"a": 1}], ["a"]).to_pandas()


def test_instants_read_like_the_cli() -> None:
    assert instant("2024-03-01") == datetime(2024, 3, 1, tzinfo=UTC)
    assert instant(date(2024, 3, 1)) == datetime(2024, 3, 1, tzinfo=UTC)
    assert instant("2024-03-01T01:00:00+01:00") == datetime(2024, 3, 1, tzinfo=UTC)
    assert instant(None) is None
    with pytest.raises(TimeError, match="no time zone"):
        instant(datetime(2024, 3, 1))
    with pytest.raises(TimeError, match="no offset"):
        instant("2024-03-01T00:00:00")


def test_html_from_python(api: object, tmp_path: Path) -> None:
    path = api.html(tmp_path / "r.html", from_="2024-01-01", to="2024-04-01")  # type: ignore[attr-defined]
    assert path.read_text("utf-8").startswith("<!DOCTYPE html>")


def test_reports_agree_on_sqlite_and_postgresql(pg_url: str, db: str, tmp_path: Path
                                                ) -> None:
    """The analytics queries are portable: the same answers on both backends."""
    store_url = pg_url
    load(store_url, tmp_path)
    calls = {
        "funnel": {"by": "source"}, "velocity": {"by": "month"},
        "sla": {"as_of": "2024-02-07T06:00:00Z"}, "flags": {"as_of": "2024-03-20"},
        "signals": {"reason": ["engaged", "exit", "low_fit", "unlisted_kind"]},
        "aging": {"as_of": "2024-02-07T06:00:00Z"}, "timeline": {"every": "week"},
    }
    with lifecycle.open(db) as lite, lifecycle.open(store_url) as pg:
        for name, options in calls.items():
            mine, theirs = getattr(lite, name)(**options), getattr(pg, name)(**options)
            assert (list(mine), mine.meta) == (list(theirs), theirs.meta), name
        assert list(pg.timeline(level="account")) == list(lite.timeline(level="account"))
