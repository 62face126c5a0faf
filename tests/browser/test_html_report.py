"""`report html` in a real headless Chromium: the page loads offline with no console
errors, every chart draws, and hostile ids and labels are shown as text, never run."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli import main
from lifecycle.domain.starters import DATA
from lifecycle.sample.journey import DATA_FILE

CHARTS = ["chart-timeline", "chart-funnel", "chart-sla", "chart-flow"]
HOSTILE_ID = "<script>alert('id')</script>"
HOSTILE_ID_2 = '"><img src=x onerror=alert(2)>'
HOSTILE_LABEL = "MQL </script><script>alert('label')</script>"


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@dataclass
class Loaded:
    page: Any
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def open_report(context: Any, path: Path) -> Loaded:
    page = context.new_page()
    loaded = Loaded(page)
    page.on("console", lambda m: loaded.problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: loaded.problems.append(f"page error: {e}"))
    page.on("request", lambda r: loaded.requests.append(r.url))
    page.on("dialog", lambda d: (loaded.dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-charts-drawn]", timeout=15_000)
    return loaded


def drawn(page: Any, chart: str) -> dict[str, int]:
    """What the chart's SVG holds."""
    return page.eval_on_selector(f"#{chart}", """el => {
        const svg = el.querySelector('svg');
        if (!svg) return {svg: 0, shapes: 0, texts: 0, width: 0};
        const box = svg.getBoundingClientRect();
        return {svg: 1, shapes: svg.querySelectorAll('path, rect').length,
                texts: svg.querySelectorAll('text').length, width: Math.round(box.width)};
    }""")


def assert_clean(loaded: Loaded, path: Path) -> None:
    assert loaded.problems == []
    assert loaded.dialogs == []
    assert loaded.requests == [path.as_uri()]  # nothing fetched: the page is whole
    assert loaded.page.get_attribute("body", "data-charts-drawn") == str(len(CHARTS))


def test_demo_report_draws_every_chart(browser_context: Any, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    run("--db", db, "init", "--definitions", "b2b-2024")
    run("--db", db, "import", str(DATA_FILE))
    path = tmp_path / "report.html"
    out = run("--db", db, "report", "html", "-o", str(path)).stdout
    assert out == (f"Wrote {path}: persons from 2023-01-01T00:00:00Z to 2025-01-01T00:00:00Z, "
                   "definitions b2b-2024.\n")
    loaded = open_report(browser_context, path)
    assert_clean(loaded, path)
    for chart in CHARTS:
        found = drawn(loaded.page, chart)
        assert found["svg"] == 1 and found["width"] > 300, (chart, found)
        assert found["shapes"] >= 8 and found["texts"] >= 5, (chart, found)
    page = loaded.page
    assert page.inner_text("#definitions-version") == "b2b-2024"
    assert page.inner_text("#known-at").startswith("now (")
    flow_labels = page.eval_on_selector("#chart-flow", "el => el.textContent")
    assert "Marketing Qualified" in flow_labels and "(no stage yet)" in flow_labels
    target = os.environ.get("LIFECYCLE_SCREENSHOT")
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    if target:  # to look at it: LIFECYCLE_SCREENSHOT=/tmp/report.png pytest tests/browser
        shutil.copyfile(shot, target)
    page.close()


@pytest.fixture
def hostile_db(tmp_path: Path) -> str:
    """A ledger whose ids and stage labels try to break out of the page."""
    text = (DATA / "b2b-2024.yaml").read_text("utf-8").replace(
        'label: "Marketing Qualified"', f"label: {json.dumps(HOSTILE_LABEL)}")
    (tmp_path / "defs.yaml").write_text(text, encoding="utf-8")
    facts = []
    for pid in (HOSTILE_ID, HOSTILE_ID_2):
        facts += [{"type": "status_changed", "person_id": pid, "value": "subscriber",
                   "occurred_at": "2024-01-01T00:00:00Z"},
                  {"type": "status_changed", "person_id": pid, "value": "marketingqualifiedlead",
                   "occurred_at": "2024-01-02T00:00:00Z", "campaign": "</script>"},
                  {"type": "status_changed", "person_id": pid, "value": "lead",
                   "occurred_at": "2024-01-09T00:00:00Z"}]
    (tmp_path / "facts.jsonl").write_text("".join(json.dumps(f) + "\n" for f in facts))
    db = f"sqlite:///{tmp_path / 'hostile.db'}"
    run("--db", db, "init", "--definitions", str(tmp_path / "defs.yaml"))
    run("--db", db, "import", str(tmp_path / "facts.jsonl"))
    return db


def test_ids_and_labels_are_shown_never_run(browser_context: Any, hostile_db: str,
                                            tmp_path: Path) -> None:
    path = tmp_path / "hostile.html"
    run("--db", hostile_db, "report", "html", "-o", str(path), "--from", "2024-01-01",
        "--to", "2024-02-01", "--known-at", "now")
    text = path.read_text("utf-8")
    assert text.count("<script") == 3  # the data, ECharts and the page's own script
    for raw in (HOSTILE_ID, HOSTILE_ID_2, HOSTILE_LABEL, "</script>\""):
        assert raw not in text
    loaded = open_report(browser_context, path)
    assert_clean(loaded, path)
    page = loaded.page
    cells = page.eval_on_selector_all("table td", "tds => tds.map(td => td.textContent)")
    assert HOSTILE_ID in cells and HOSTILE_ID_2 in cells
    assert page.eval_on_selector_all("img", "imgs => imgs.length") == 0
    labels = page.eval_on_selector("#chart-funnel", "el => el.textContent")
    assert "</script>" in labels  # drawn as text in the SVG
    assert page.inner_text("#known-at") != "now"
    page.close()


def test_an_empty_ledger_still_makes_a_page(browser_context: Any, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    run("--db", db, "init", "--definitions", "b2b-2024")
    path = tmp_path / "empty.html"
    run("--db", db, "report", "html", "-o", str(path))
    loaded = open_report(browser_context, path)
    assert_clean(loaded, path)
    notes = loaded.page.eval_on_selector("#chart-flow", "el => el.textContent")
    assert "No stage changes in this window" in notes
    loaded.page.close()
