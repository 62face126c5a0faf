"""`lifecycle demo`: the bundled sample imported into a throwaway store, and what a RevOps
person would look at first: import counts, stage counts, recent backward moves, an audit.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lifecycle.sample.journey import DATA_FILE, DEMO_PARAMS, Clock, parse_start, person_id


def run_demo(keep: str | None, quiet: bool = False) -> None:
    """Import the bundled sample into a throwaway store (or `keep`) and show the main job
    (the import's progress on a terminal, unless `quiet`)."""
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="lifecycle-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _run(folder, kept=keep is not None, quiet=quiet)
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def _run(folder: Path, kept: bool, quiet: bool) -> None:
    from rich.rule import Rule

    from lifecycle.application.audit import audit
    from lifecycle.application.importing import import_rows
    from lifecycle.application.ledger import Ledger
    from lifecycle.console.progress import TerminalProgress, terminal_console
    from lifecycle.console.render import console, print_audit, table
    from lifecycle.domain.definitions import load_definitions
    from lifecycle.domain.facts import ACCOUNT, PERSON
    from lifecycle.domain.progress import SILENT
    from lifecycle.domain.starters import starter_text
    from lifecycle.importers.canonical import read_jsonl
    from lifecycle.reports.stages import moves, stages

    out = console()
    start = parse_start(DEMO_PARAMS["start"])
    clock = Clock(start, DEMO_PARAMS["years"])
    end = start + timedelta(seconds=clock.span)
    as_of = end - timedelta(seconds=1)
    quarter = _quarter_start(as_of)
    db = folder / "demo.db"

    out.print(Rule("[bold]lifecycle demo[/bold]", align="left"))
    out.print(
        f"Sample data: {DEMO_PARAMS['persons']} people at {DEMO_PARAMS['accounts']} accounts "
        f"over {DEMO_PARAMS['years']} years ({start:%Y-%m-%d} to {as_of:%Y-%m-%d}): HubSpot "
        "lifecycle stages, Salesforce lead statuses (some leads converted into contacts), "
        "opportunities with their stage history and contact roles, hand raises, "
        "disqualifications, recycles, job changes and renewal flags.")
    out.print(f"Store: {db}" + ("" if kept else " (a throwaway folder, deleted at the end)"))
    out.print("Definitions: b2b-2024 (the starter B2B stages)\n")

    ledger = Ledger(f"sqlite:///{db}")
    try:
        text = starter_text("b2b-2024")
        assert text is not None
        ledger.publish(load_definitions(text))

        opened: list[Any] = []

        def rows() -> Iterator[Any]:
            opened.append(DATA_FILE.open("rb"))
            return read_jsonl(opened[-1])

        try:
            with TerminalProgress(None if quiet else terminal_console()) as progress:
                ledger.progress = progress
                summary = import_rows(ledger, rows, name="the sample",
                                      size=DATA_FILE.stat().st_size,
                                      tell=lambda: opened[-1].tell())
        finally:
            ledger.progress = SILENT
            for stream in opened:
                stream.close()
        out.print(Rule("[bold]1. Import[/bold]", align="left"))
        _command(out, f"lifecycle import {DATA_FILE}")
        out.print(table([{"read": summary.read, "stored": summary.stored,
                          "duplicate": summary.duplicate, "rejected": summary.rejected}],
                        ["read", "stored", "duplicate", "rejected"]))
        out.print("[dim]Duplicates are the same event delivered twice (same source and "
                  "source_id): stored once. Importing the file again stores nothing.[/dim]\n")

        out.print(Rule(f"[bold]2. Stages as of {as_of:%Y-%m-%d}[/bold]", align="left"))
        _command(out, f"lifecycle report stages --as-of {_iso(as_of)} --level person|account")
        view = ledger.view()
        by_level = {level: stages(view, as_of, level) for level in (PERSON, ACCOUNT)}
        persons, accounts = by_level[PERSON], by_level[ACCOUNT]
        counts = [{"stage": p["stage"], "label": p["label"], "persons": p["count"],
                   "accounts": a["count"]}
                  for p, a in zip(persons["stages"], accounts["stages"], strict=True)]
        out.print(table(counts, ["stage", "label", "persons", "accounts"],
                        caption=f"{persons['total']} persons and {accounts['total']} accounts "
                                "have a stage; accounts roll up their people's most "
                                "advanced stage."))
        out.print()

        out.print(Rule(f"[bold]3. Backward moves, {quarter:%Y-%m-%d} to {as_of:%Y-%m-%d}"
                       "[/bold]", align="left"))
        _command(out, f"lifecycle report moves --direction backward --since {quarter:%Y-%m-%d} "
                      f"--until {end:%Y-%m-%d}")
        backward = moves(view, directions=["backward"], since=quarter, until=end)
        shown = backward[:15]
        more = len(backward) - len(shown)
        out.print(table(shown, ["subject_type", "subject_id", "occurred_at", "from_stage",
                                "to_stage"],
                        caption=f"{len(backward)} backward move(s) this quarter"
                                + (f", first {len(shown)} shown" if more else "")
                                + ": leads sent back to marketing, deals reopened."))
        out.print()

        _pipeline(out, view, as_of)

        subject = _interesting_person(ledger)
        if subject is not None:
            out.print(Rule(f"[bold]5. Audit of person {subject.id}[/bold]", align="left"))
            _command(out, f"lifecycle audit person {subject.id}")
            out.print("[dim]One person with a skipped stage (an inferred stamp), a backward "
                      "move and a signal (a hand raise while already engaged).[/dim]")
            print_audit(audit(ledger, subject), "table")
            out.print()
        example = subject.id if subject is not None else person_id(0)
    finally:
        ledger.close()

    out.print(Rule("[bold]Try next[/bold]", align="left"))
    db_option = f"--db sqlite:///{db} " if kept else ""
    hints = [
        f"lifecycle {db_option}report funnel",
        f"lifecycle {db_option}report velocity --level opportunity",
        f"lifecycle {db_option}report merges",
        f"lifecycle {db_option}report sla --as-of {_iso(as_of)}",
        f"lifecycle {db_option}report flags --as-of {_iso(as_of)} --format csv",
        f"lifecycle {db_option}report stamps --level person --stage sql",
        f"lifecycle {db_option}audit person {example} --format json",
        f"lifecycle {db_option}verify",
    ]
    if not kept:
        out.print("[dim]This store is deleted now; run `lifecycle demo --keep DIR` to keep it "
                  "and try:[/dim]")
    for hint in hints:
        _command(out, hint)


def _pipeline(out: Any, view: Any, as_of: datetime) -> None:
    """Open opportunities by stage at the end, and the pipeline's conversion (its last row
    is the win rate)."""
    from rich.rule import Rule

    from lifecycle.console.render import table
    from lifecycle.domain.facts import OPPORTUNITY
    from lifecycle.reports.funnel import funnel
    from lifecycle.reports.stages import stages

    out.print(Rule(f"[bold]4. Pipeline as of {as_of:%Y-%m-%d}[/bold]", align="left"))
    _command(out, f"lifecycle report stages --level opportunity --as-of {_iso(as_of)}")
    counts = stages(view, as_of, OPPORTUNITY)
    shown = [{"stage": r["stage"], "label": r["label"], "opportunities": r["count"]}
             for r in counts["stages"] if r["count"]]
    out.print(table(shown, ["stage", "label", "opportunities"],
                    caption=f"{counts['total']} opportunities have a stage (Salesforce "
                            "StageName mapped by b2b-2024: won is customer, lost is "
                            "nurture); stages with none are left out."))
    _command(out, "lifecycle report funnel --level opportunity")
    document = funnel(view, level=OPPORTUNITY)
    rows = [{"stage": r["stage"], "reached": r["reached"],
             "share_of_cohort": _percent(r["share_of_cohort"]), "median_days": r["median_days"]}
            for r in document["rows"]]
    won = rows[-1]
    out.print(table(rows, ["stage", "reached", "share_of_cohort", "median_days"],
                    caption=f"{document['cohort']} opportunities opened at "
                            f"{document['entry_stage']}; {won['reached']} won "
                            f"({won['share_of_cohort']}), the rest lost or still open. "
                            "People holding a role on an opportunity follow its stage "
                            "(opportunity_cascade: contact_roles)."))
    out.print()


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _command(out: Any, text: str) -> None:
    """Echo the command that prints the same thing."""
    from rich.text import Text

    out.print(Text(f"  $ {text}", style="cyan"))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _quarter_start(moment: datetime) -> datetime:
    month = (moment.month - 1) // 3 * 3 + 1
    return datetime(moment.year, month, 1, tzinfo=UTC)


def _interesting_person(ledger: Any) -> Any:
    """A person with a skipped stage (an inferred stamp, preferably one skipped on the way
    up rather than below an entry), a backward move and a signal; the shortest such."""
    from lifecycle.application.audit import audit
    from lifecycle.domain.facts import Subject
    from lifecycle.reports.stages import moves, stamps

    inferred: dict[str, bool] = {}
    view = ledger.view()
    for row in stamps(view, level="person"):
        if row["inferred"]:
            inferred[row["subject_id"]] = inferred.get(row["subject_id"], False) \
                or row["stage"] != "new"
    backward = [r["subject_id"] for r in moves(view, level="person",
                                               directions=["backward"])]
    candidates = [pid for pid in dict.fromkeys(backward) if pid in inferred]
    candidates.sort(key=lambda pid: (not inferred[pid], len(pid), pid))
    best: tuple[int, int, Any] | None = None  # (rank, fact count, subject): smallest wins
    for pid in candidates[:80]:
        candidate = Subject("person", pid)
        document = audit(ledger, candidate)
        signal = any(f["derived"] == "signal" for f in document["facts"])
        key = (0 if signal and inferred[pid] else 1 if signal else 2, len(document["facts"]),
               candidate)
        if best is None or key[:2] < best[:2]:
            best = key
    return best[2] if best is not None else None
