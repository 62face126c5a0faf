"""Generate the reference pages in docs/ from the code, so they cannot drift from it.

    python docs/generate.py               # write docs/definitions.md and docs/cli.md
    python docs/generate.py definitions   # only docs/definitions.md
    python docs/generate.py cli           # only docs/cli.md
    python docs/generate.py --check       # exit 1 if a checked-in page is stale

`definitions.md` is built from the pydantic model `lifecycle.domain.definitions.Definitions` and
its nested models: every key with its type, default and constraints is read from the
model; what a key means and an example come from FIELDS below (a key missing from FIELDS
is an error, so a new key cannot go undocumented). `cli.md` is the `--help` of every
command and subcommand, found by click introspection. tests/docs/test_generated.py fails
when either checked-in page differs from what this script writes.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import yaml
from annotated_types import MaxLen, MinLen
from pydantic import BaseModel, StringConstraints

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
if str(ROOT) not in sys.path:  # `python docs/generate.py` from a checkout
    sys.path.insert(0, str(ROOT))

from lifecycle.domain import definitions as model  # noqa: E402
from lifecycle.domain.starters import DATA, STARTERS  # noqa: E402

# ---- definitions.md ----------------------------------------------------------------------

#: (model, where its keys sit in the document, heading)
SECTIONS: list[tuple[type[BaseModel], str, str]] = [
    (model.Definitions, "", "Top level"),
    (model.Stage, "stages[]", "A stage: `stages[]`"),
    (model.StageMap, "map", "What moves a subject: `map`"),
    (model.HandRaisedMap, "map.hand_raised", "Hand raises: `map.hand_raised`"),
    (model.Sla, "sla[]", "Service levels: `sla[]`"),
]

#: "Model.field" -> (what it means, a YAML example). Every field of every model above needs
#: an entry; `generate` refuses to run otherwise.
FIELDS: dict[str, tuple[str, str]] = {
    "Definitions.version": (
        "A unique label for this version of the definitions. Publishing the same label "
        "again with the same content is a no-op; with other content it is an error, so a "
        "label always names one content. Reports say which version they were derived under.",
        'version: "b2b-2025.1"'),
    "Definitions.stages": (
        "The stages, in the order reports list them. At least one. See "
        "[A stage](#a-stage-stages).",
        "stages:\n"
        "  - {key: lead, label: \"Lead\", kind: path, rank: 1}\n"
        "  - {key: mql, label: \"Marketing Qualified\", kind: path, rank: 2}\n"
        "  - {key: disqualified, kind: exit}"),
    "Definitions.map": (
        "Which facts move a subject into which stage. Facts that no mapping names derive "
        "nothing and show as *unmapped* in `lifecycle audit`. See "
        "[What moves a subject](#what-moves-a-subject-map).",
        "map:\n"
        "  status:\n"
        "    lifecycle_stage: {lead: lead, marketingqualifiedlead: mql}\n"
        "  disqualified: disqualified"),
    "Definitions.account_rollup": (
        "How an account's stage is found. `most_advanced`: the highest-ranked stage among "
        "the account's own stage and the stages of its members at that moment: the persons "
        "linked to it and the opportunities that belong to it (on equal rank a path stage "
        "beats an off-path one, then the stage listed first). `none`: only the account's "
        "own facts count.",
        "account_rollup: none"),
    "Definitions.opportunity_cascade": (
        "`contact_roles`: a person holding a role on an opportunity (a `contact_role` fact) "
        "takes the stage of each of the opportunity's transitions while it holds the role, "
        "and the opportunity's stage when the role is added: qualified, committed, won, back "
        "to nurture when lost, in any direction. `none` (the default): opportunities move "
        "only themselves and their accounts.",
        "opportunity_cascade: contact_roles"),
    "Definitions.opportunity_closed": (
        "Stages in which an opportunity is no longer open (won, lost); exit stages never "
        "are. Only open opportunities give their accounts flags.",
        "opportunity_closed: [customer, nurture]"),
    "Definitions.opportunity_flags": (
        "Flags an account has while an open opportunity of a listed kind belongs to it (the "
        "`kind` of its `opportunity_linked`: Salesforce's Opportunity Type, HubSpot's "
        "`dealtype`; matched trimmed and case-insensitively), besides those raised by "
        "`renewal_flagged` facts. Keys: `renewal`, `upgrade`, `at_risk`.",
        "opportunity_flags: {renewal: [Renewal], upgrade: [\"Existing Customer - Upgrade\"]}"),
    "Definitions.stamp_skipped": (
        "When a subject jumps over path stages (lead straight to customer), stamp the "
        "skipped ones too, as *inferred* (first reached at the jump, `times_reached` 0), so "
        "that funnels and velocity count everyone who got past a stage. `false`: only "
        "stages really entered get stamps.",
        "stamp_skipped: false"),
    "Definitions.sla": (
        "Service levels: how long a subject may stay in a stage. `lifecycle report sla` "
        "lists the intervals that lasted (or have lasted so far) longer.",
        "sla:\n"
        "  - {name: mql_follow_up, stage: mql, within: 24h}"),
    "Stage.key": (
        "The stage's name in reports, mappings and options such as `--stage`. Unique "
        "within the definitions.",
        "key: mql"),
    "Stage.label": (
        "A name for people, shown beside the key in tables.",
        'label: "Marketing Qualified"'),
    "Stage.kind": (
        "`path`: a step of the main journey, ordered by `rank`. `off_path`: a side state "
        "(nurture, recycle) that sits beside the path stage of the same rank. `exit`: out "
        "of the journey (disqualified, churned); moving into one is an `exit`, out of one a "
        "`reentry`.",
        "kind: off_path"),
    "Stage.rank": (
        "Position on the path, higher is further. Path stages have distinct ranks; an "
        "off-path stage takes the rank of the path stage it sits beside; an exit stage has "
        "none. Directions (forward, backward, lateral) compare ranks.",
        "rank: 3"),
    "StageMap.status": (
        "`status_changed` facts: field name -> raw value -> stage. The field name matches "
        "exactly (`lifecyclestage` from a HubSpot export, `Status` from a Salesforce lead "
        "history, `lifecycle_stage` when a fact names no field); values match "
        "case-insensitively after trimming. A cleared value (`\"\"`) and a value not listed "
        "give no stage: the subject stays where it is.",
        "status:\n"
        "  lifecyclestage: {lead: lead, marketingqualifiedlead: mql}\n"
        "  Status: {\"Open - Not Contacted\": lead, \"Working - Contacted\": mql}"),
    "StageMap.hand_raised": (
        "`hand_raised` facts (demo requests, contact-sales forms). See "
        "[Hand raises](#hand-raises-maphand_raised).",
        "hand_raised: {kinds: [demo_request], to: mql, min_fit: medium}"),
    "StageMap.disqualified": (
        "The stage a `disqualified` fact moves a subject to, from wherever it is. Usually "
        "an exit stage. Not set: the fact derives nothing.",
        "disqualified: disqualified"),
    "StageMap.person_left": (
        "The stage a `person_left` fact (the person no longer works at their account) "
        "moves the person to. Not set: the fact only ends the person's membership.",
        "person_left: inactive"),
    "HandRaisedMap.kinds": (
        "The hand-raise kinds that count, matched case-insensitively. Other kinds derive "
        "nothing (`lifecycle report signals --reason unlisted_kind` lists them).",
        "kinds: [demo_request, contact_sales]"),
    "HandRaisedMap.to": (
        "The stage a qualifying hand raise moves a subject to. A hand raise only moves "
        "forward: from no stage, or from a stage ranked lower. Otherwise it is a *signal* "
        "(`lifecycle report signals`), and it never brings a subject back from an exit.",
        "to: mql"),
    "HandRaisedMap.min_fit": (
        "The least fit (`low` < `medium` < `high`) a hand raise needs to count; a hand "
        "raise without a fit then does not count. Not set: every fit counts.",
        "min_fit: high"),
    "Sla.name": (
        "The SLA's name in reports (`lifecycle report sla --sla NAME`).",
        "name: sal_to_meeting"),
    "Sla.stage": (
        "The stage whose time it limits: each stay in it is one interval.",
        "stage: sal"),
    "Sla.within": (
        "The longest a stay may last: a number and a unit, `m` (minutes), `h` (hours), "
        "`d` (days) or `w` (weeks).",
        "within: 14d"),
}

#: How a default reads better in words than as a value.
DEFAULT_WORDS = {"Stage.label": "the stage's `key`", "Stage.rank": "none (required unless "
                 "`kind: exit`)"}

#: The checks that span several keys (the model validators), in words.
RULES = [
    "Stage keys are unique.",
    "`path` stages have distinct ranks.",
    "An `off_path` stage has a rank, and a path stage has the same rank.",
    "An `exit` stage has no rank; `path` and `off_path` stages need one.",
    "Every stage a mapping or an SLA names (`map.status`, `map.hand_raised.to`, "
    "`map.disqualified`, `map.person_left`, `sla[].stage`) exists.",
    "Within one status field, an empty value cannot be mapped (it means *cleared*), and two "
    "spellings of one value (`Lead`, `lead `) cannot map to different stages.",
    "Unknown keys are errors, at every level (a misspelt key never passes silently).",
    "Only `true`/`false` are booleans: `yes`, `no`, `on` and `off` stay strings, so a "
    "status value `no` needs no quotes.",
]

#: Broken definitions whose error messages the page shows (run at generation time).
BAD_EXAMPLES = [
    ("A misspelt key", "version: x\nstages:\n  - {key: lead, kind: path, rank: 1}\n"
     "stamp_skiped: true\n"),
    ("A mapping to a stage that does not exist",
     "version: x\nstages:\n  - {key: lead, kind: path, rank: 1}\n"
     "map:\n  status:\n    lifecyclestage: {lead: lead, customer: won}\n"),
    ("An exit stage with a rank", "version: x\nstages:\n  - {key: lead, kind: path, rank: 1}\n"
     "  - {key: churned, kind: exit, rank: 9}\n"),
    ("A duration without a unit", "version: x\nstages:\n  - {key: mql, kind: path, rank: 1}\n"
     "sla:\n  - {name: follow_up, stage: mql, within: 24}\n"),
]


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def describe_type(annotation: Any) -> str:
    """A type as a reader of YAML thinks of it."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        limits = _limits(args[1:])
        return describe_type(args[0]) + (f" ({limits})" if limits else "")
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        return " or ".join(describe_type(a) for a in kept) + (
            ", optional" if len(kept) < len(args) else "")
    if origin is list:
        return f"list of {describe_type(args[0])}"
    if origin is dict:
        inner = describe_type(args[1])
        inner = f"({inner})" if inner.startswith("mapping") else inner
        return f"mapping: {describe_type(args[0])} → {inner}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        anchor = next((_anchor_of(heading) for cls, _, heading in SECTIONS
                       if cls is annotation), None)
        return f"[{annotation.__name__}](#{anchor})" if anchor else annotation.__name__
    names = {str: "string", int: "integer", bool: "boolean", float: "number"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _anchor_of(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = "".join(ch for ch in heading.lower() if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def _limits(metadata: Any) -> str:
    """`1-100 characters`, `at least 1` from pydantic's length constraints."""
    low = high = None
    for item in metadata:
        if isinstance(item, StringConstraints | MinLen | MaxLen):
            low = getattr(item, "min_length", None) or low
            high = getattr(item, "max_length", None) or high
    if low and high:
        return f"{low}-{high} characters"
    if low:
        return f"at least {low}"
    return f"at most {high}" if high else ""


def _field_type(field: Any) -> str:
    """The field's type, with the limits pydantic keeps on the field itself."""
    text = describe_type(field.annotation)
    limits = _limits(field.metadata)
    if limits and text.startswith("list"):
        return f"{text} (at least {limits.split()[-1]})" if limits.startswith("at least") \
            else f"{text} ({limits})"
    return f"{text} ({limits})" if limits else text


def _default(name: str, field: Any) -> str:
    if name in DEFAULT_WORDS:
        return DEFAULT_WORDS[name]
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()
        value = value.model_dump() if isinstance(value, BaseModel) else value
    else:
        value = field.default
    if value is None:
        return "not set"
    if isinstance(value, dict) and not any(value.values()) or value == []:
        return "empty"
    return f"`{_yaml_scalar(value)}`"


def _yaml_scalar(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _check_fields() -> None:
    names = {f"{cls.__name__}.{key}" for cls, _, _ in SECTIONS for key in cls.model_fields}
    missing = sorted(names - FIELDS.keys())
    stale = sorted(FIELDS.keys() - names)
    if missing or stale:
        raise SystemExit(
            "docs/generate.py: FIELDS is out of step with lifecycle.domain.definitions: "
            + (f"undocumented {', '.join(missing)}" if missing else "")
            + ("; " if missing and stale else "")
            + (f"no longer in the model {', '.join(stale)}" if stale else ""))
    for name, (_, example) in FIELDS.items():
        try:
            yaml.safe_load(example)
        except yaml.YAMLError as exc:
            raise SystemExit(
                f"docs/generate.py: the example of {name} is not YAML: {exc}") from None


def render_definitions() -> str:
    _check_fields()
    out = [
        "<!-- Generated by `python docs/generate.py definitions` from "
        "lifecycle/domain/definitions.py: do not edit. -->",
        "",
        "# Definitions reference",
        "",
        "Definitions say which stages exist and which facts move a subject into which stage "
        "(see [Concepts](concepts.md)). They are a YAML file, checked when loaded: "
        "`lifecycle definitions validate FILE` checks one without publishing it, `lifecycle "
        "init --definitions FILE` publishes the first version and `lifecycle backfill FILE` "
        "the next ones; `lifecycle definitions check [--definitions FILE]` lists every "
        "status field and value in the ledger with the stage it maps to, or `unmapped` "
        "(field names match exactly, values trimmed and case-insensitively). This page "
        "lists every key, its type, its default and an example; it "
        "is generated from the model in `lifecycle/domain/definitions.py`.",
        "",
        "A complete file: the bundled starter `b2b-2024` "
        "([lifecycle/data/b2b-2024.yaml](../lifecycle/data/b2b-2024.yaml)).",
        "",
        "```yaml",
        (DATA / "b2b-2024.yaml").read_text("utf-8").rstrip(),
        "```",
        "",
    ]
    for cls, where, heading in SECTIONS:
        out += [f"## {heading}", ""]
        doc = (cls.__doc__ or "").strip()
        if doc and cls is model.Definitions:
            out += [doc, ""]
        out += ["| key | type | default |", "|---|---|---|"]
        for key, field in cls.model_fields.items():
            name = f"{cls.__name__}.{key}"
            out.append(f"| `{_path(where, key)}` | {_field_type(field)} | "
                       f"{_default(name, field)} |")
        out.append("")
        for key in cls.model_fields:
            name = f"{cls.__name__}.{key}"
            text, example = FIELDS[name]
            out += [f"### `{_path(where, key)}`", "", text, "", "```yaml", example, "```", ""]
    out += ["## Rules that span keys", ""]
    out += [f"- {rule}" for rule in RULES]
    out += ["", "## Error messages", "",
            "A file that breaks a rule is refused with a message that names the key (a "
            "stage by its position and key), never a traceback. For example:", ""]
    for title, text in BAD_EXAMPLES:
        try:
            model.load_definitions(text)
        except model.DefinitionsError as exc:
            message = str(exc)
        else:  # pragma: no cover - the examples are broken on purpose
            raise SystemExit(f"docs/generate.py: {title!r} was accepted")
        out += [f"{title}:", "", "```yaml", text.rstrip(), "```", "", "```text",
                f"Error: FILE: {message}", "```", ""]
    out += ["## Starters", "",
            "Bundled definitions, usable by name wherever a definitions file is asked for "
            "(`lifecycle init --definitions hubspot-default`). Copy one to start your own.", "",
            "| name | stages | what it is | file |", "|---|---|---|---|"]
    for name, what in STARTERS.items():
        loaded = model.load_definitions((DATA / f"{name}.yaml").read_text("utf-8"))
        out.append(f"| `{name}` | {len(loaded.stages)} | {what} | "
                   f"[{name}.yaml](../lifecycle/data/{name}.yaml) |")
    out.append("")
    return "\n".join(out)


# ---- cli.md --------------------------------------------------------------------------------

WIDTH = 100


def commands() -> list[tuple[str, click.Command, click.Context]]:
    """Every command and subcommand with its full name, parents first, in help order."""
    from cli import main

    found: list[tuple[str, click.Command, click.Context]] = []

    def walk(command: click.Command, ctx: click.Context) -> None:
        found.append((ctx.command_path, command, ctx))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    walk(sub, sub.make_context(name, [], parent=ctx, resilient_parsing=True))

    # make_context, as click does when it runs a command: context_settings (-h) apply.
    walk(main, main.make_context("lifecycle", [], resilient_parsing=True,
                                 terminal_width=WIDTH, max_content_width=WIDTH))
    return found


def help_text(command: click.Command, ctx: click.Context) -> str:
    return command.get_help(ctx).rstrip()


def render_cli() -> str:
    found = commands()
    out = [
        "<!-- Generated by `python docs/generate.py cli` from the --help of every command: "
        "do not edit. -->",
        "",
        "# Command-line reference",
        "",
        "Every command's `--help`, as `lifecycle` prints it. Global options (`--db`) come "
        "before the command: `lifecycle --db sqlite:///ledger.db report stages ...`. Rows "
        "come out as a table for people, or with `--format json` / `--format csv` for "
        "scripts. Errors print `Error: ...` on stderr and exit with status 1 (nothing of the "
        "failing write was stored; an import that failed part-way says how many facts it "
        "had stored); usage errors exit with 2; an import that rejected rows exits with 3; "
        "a write that was stored but whose projections could not be brought up to date "
        "prints `Warning: stored, but the projections are behind ...` and exits with 4 "
        "(the next report or `lifecycle project` catches up); SIGTERM stops a command "
        "cleanly with 143. The [tutorial](tutorial.md) shows the commands at work.",
        "",
    ]
    for name, command, _ in found:
        depth = name.count(" ")
        summary = command.get_short_help_str(limit=90)
        out.append(f"{'  ' * max(depth - 1, 0)}- [`{name}`](#{_anchor_of(name)})"
                   + (f": {summary}" if depth and summary else ""))
    out.append("")
    for name, command, ctx in found:
        out += [f"## {name}", "", "```text", help_text(command, ctx), "```", ""]
    return "\n".join(out)


# ---- the command line ----------------------------------------------------------------------

PAGES: dict[str, tuple[Path, Callable[[], str]]] = {
    "definitions": (DOCS / "definitions.md", render_definitions),
    "cli": (DOCS / "cli.md", render_cli),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", metavar="PAGE",
                        help=f"{' or '.join(PAGES)} (default: all)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a page is stale")
    args = parser.parse_args(argv)
    unknown = [page for page in args.pages if page not in PAGES]
    if unknown:
        parser.error(f"unknown page {unknown[0]!r} (pages: {', '.join(PAGES)})")
    stale = []
    for page in args.pages or list(PAGES):
        path, render = PAGES[page]
        text = render()
        current = path.read_text("utf-8") if path.exists() else None
        if current == text:
            continue
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if args.check:
            stale.append(shown)
        else:
            path.write_text(text, "utf-8")
            print(f"wrote {shown}")
    for path in stale:
        print(f"{path} is stale: run `python docs/generate.py`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
