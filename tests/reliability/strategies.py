"""Hypothesis strategies for adversarial input, and the checks every fuzz test shares.

Example counts are bounded for CI: `LIFECYCLE_FUZZ_EXAMPLES` (default 25) per test; set it
to thousands for a long local run. Runs are derandomized (the same examples every time)
unless `LIFECYCLE_FUZZ_RANDOM=1`.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from click.testing import CliRunner, Result
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("LIFECYCLE_FUZZ_EXAMPLES", "25"))
RANDOM = os.environ.get("LIFECYCLE_FUZZ_RANDOM") == "1"


def fuzz_settings(scale: float = 1.0) -> settings:
    return settings(max_examples=max(1, int(EXAMPLES * scale)), deadline=None,
                    derandomize=not RANDOM,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.filter_too_much])


# ---- text --------------------------------------------------------------------------------

SQLISH = ["'; DROP TABLE stored_events; --", "\"; DROP TABLE fact_index; --",
          "1 OR 1=1", "' OR ''='", "Robert'); DROP TABLE lc_current;--", "%", "_", "\\",
          "%' --", "$1", "?", ":name", "{}", "{0}", "%s", "%(x)s", "${HOME}", "$(id)",
          "`id`", "__import__('os').system('id')", "{{7*7}}", "<script>x</script>"]
CONTROL = "".join(chr(c) for c in range(1, 32)) + "\x7f\x85\u2028\u2029"
BIDI = "\u202e\u202d\u202a\u202b\u202c\u2066\u2067\u2068\u2069\u200f\u200e\u061c"
ODD = ("שלום", "مرحبا", "\u202eevil\u202c", "a\u0301", "𝔘𝔫𝔦", "🙂", "\ufeff", "\u00a0",
       "ＡＢＣ", "ǅ", "ß", "İ", "\u200b", "e\u0301\u0301\u0301", "[bold]x[/bold]", "[red]",
       " ", "  padded  ", "\t", "-", "--db", "-h", "@file", "..", "../../etc/passwd",
       "NULL", "null", "None", "true", "0", "-0", "1e999", "NaN")


@cache  # strategies are costly to build: build each once
def odd_text(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Text meant to break things: SQL, control characters, bidi marks, look-alikes."""
    chars = st.one_of(
        st.characters(blacklist_categories=("Cs",)),
        st.sampled_from(CONTROL + BIDI + "'\";,\\%_\n\r"),
    )
    return st.one_of(
        st.sampled_from(SQLISH + list(ODD)),
        st.text(chars, min_size=min_size, max_size=max_size),
        st.builds(lambda a, b: a + b, st.sampled_from(SQLISH + list(ODD)),
                  st.text(chars, max_size=8)),
    ).filter(lambda s: min_size <= len(s))


@cache  # strategies are costly to build: build each once
def odd_ids() -> st.SearchStrategy[str]:
    """Subject ids a source system might really send: anything 1..512 characters except NUL
    (which neither store can keep: such ids are rejected), including huge ones."""
    return st.one_of(
        odd_text(min_size=1),
        st.builds(lambda part, n: (part * n)[:512], odd_text(min_size=1, max_size=6),
                  st.integers(100, 512)),
    ).filter(lambda s: "\x00" not in s and 1 <= len(s) <= 512)


@cache  # strategies are costly to build: build each once
def timestamps() -> st.SearchStrategy[str]:
    """ISO 8601 instants, good and bad: edges of the calendar, odd offsets, no offset."""
    good = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
    edges = st.sampled_from([
        "0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-23:59", "9999-12-31T23:59:59.999999-01:00",
        "2024-02-30T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z",
        "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+99:99", "2024-01-01",
        "2024-01-01T00:00:00", "2024-01-01 00:00:00Z", "20240101T000000Z", "now", "",
        " ", "Z", "T", "2024-01-01T00:00:00Z\x00", "２０２４-01-01T00:00:00Z",
        "-2024-01-01T00:00:00Z", "+002024-01-01T00:00:00Z", "1e10", "0", "-1",
        "1970-01-01T00:00:00.0000000001Z", "2024-W01-1T00:00:00Z", "2024-001T00:00:00Z",
    ])
    return st.one_of(good, edges, odd_text(max_size=30))


@cache  # strategies are costly to build: build each once
def zones() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
                         "Mars/Olympus_Mons", "", " ", "../../../etc/passwd", "/etc/localtime",
                         "UTC\x00", "Europe/Berlin ", "utc", "+01:00", "GMT+5", "EST5EDT",
                         "Etc/GMT-14", "posixrules", "zone.tab", "." * 300, "A" * 5000]),
        odd_text(max_size=30),
    )


# ---- JSON --------------------------------------------------------------------------------

@cache  # strategies are costly to build: build each once
def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.integers(min_value=10**20, max_value=10**40),
        st.floats(allow_nan=False, allow_infinity=False), odd_text(max_size=20),
    )
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(odd_text(max_size=10), inner, max_size=4)),
        max_leaves=max_leaves)


def nested(depth: int) -> str:
    """A JSON value nested `depth` levels deep (as text: json.dumps would refuse)."""
    return "[" * depth + "1" + "]" * depth


FACT_FIELDS = ["type", "person_id", "account_id", "occurred_at", "source", "source_id",
               "actor", "campaign", "field", "value", "previous", "kind", "fit", "reason",
               "flag", "state", "target_event_id", "attributes"]
FACT_TYPES = ["status_changed", "hand_raised", "disqualified", "renewal_flagged",
              "person_linked", "person_left", "retracted"]


def valid_fact(draw: Any, ids: st.SearchStrategy[str] | None = None) -> dict[str, Any]:
    """One valid canonical fact (ids may be odd)."""
    ids = st.sampled_from(["p1", "p2", "p3"]) if ids is None else ids
    kind = draw(st.sampled_from(FACT_TYPES[:-1]))
    when = draw(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2025, 1, 1)))
    fact: dict[str, Any] = {"type": kind, "occurred_at": when.isoformat() + "Z"}
    if kind in ("renewal_flagged",):
        fact["account_id"] = draw(ids)
        fact["flag"] = draw(st.sampled_from(["renewal", "upgrade", "at_risk"]))
        fact["state"] = draw(st.sampled_from(["raised", "cleared"]))
    elif kind in ("status_changed", "disqualified") and draw(st.booleans()):
        fact["account_id"] = draw(ids)
    else:
        fact["person_id"] = draw(ids)
    if kind == "status_changed":
        fact["value"] = draw(st.sampled_from(["lead", "customer", "marketingqualifiedlead",
                                              "", "unknown"]))
    elif kind == "hand_raised":
        fact["kind"] = draw(st.sampled_from(["demo_request", "contact_sales", "ebook"]))
    elif kind == "person_linked":
        fact["account_id"] = draw(ids)
    if draw(st.booleans()):
        fact["source"], fact["source_id"] = "fuzz", draw(odd_text(min_size=1, max_size=12))
    return fact


@st.composite
def valid_facts(draw: Any, ids: st.SearchStrategy[str] | None = None) -> dict[str, Any]:
    return valid_fact(draw, ids)


@st.composite
def fact_like(draw: Any) -> dict[str, Any]:
    """A valid fact with some fields replaced by wrong types, huge or odd values."""
    fact = valid_fact(draw)
    for name in draw(st.lists(st.sampled_from(FACT_FIELDS), max_size=3)):
        fact[name] = draw(st.one_of(
            json_values(), timestamps(), odd_text(),
            st.builds(lambda c, n: c * n, odd_text(min_size=1, max_size=1),
                      st.integers(10_001, 10_050)),
            st.just({"$gt": ""}), st.just([fact.get(name)]),
        ))
    if draw(st.booleans()):
        fact.pop(draw(st.sampled_from(FACT_FIELDS)), None)
    return fact


@st.composite
def jsonl_lines(draw: Any) -> list[str]:
    """Lines of a JSON Lines file: valid facts, broken ones, non-JSON, deep nesting."""
    return draw(st.lists(st.one_of(
        st.builds(lambda f: json.dumps(f, ensure_ascii=False), valid_facts()),
        st.builds(lambda f: json.dumps(f, ensure_ascii=False), fact_like()),
        st.builds(json.dumps, json_values()),
        st.sampled_from([nested(5000), "{" * 3000, '{"type": "status_changed"', "", " ",
                         "\ufeff{}", "null", "[]", "1", '"x"', "{}", "NaN", "Infinity",
                         '{"type": "status_changed", "type": "hand_raised"}',
                         '{"occurred_at": "2024-01-01T00:00:00Z", "__proto__": 1}']),
        odd_text(max_size=60),
    ), max_size=12))


def csv_text(header: Sequence[str], rows: list[list[str]]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


# ---- running the CLI ---------------------------------------------------------------------

def invoke(args: Sequence[str], input: str | bytes | None = None) -> Result:
    """Run `lifecycle` in-process and insist on a clean end: exit 0-3, no traceback, no
    exception escaping the program, an `Error:` line whenever it failed, and nothing a
    terminal would act on (see `assert_terminal_safe`)."""
    from cli import main

    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=True)
    assert_clean(result, args)
    return result


def assert_clean(result: Result, args: Sequence[str]) -> None:
    shown = " ".join(repr(a) if len(a) < 80 else repr(a[:80] + "…") for a in args)
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        import traceback

        raise AssertionError(
            f"lifecycle {shown} raised {type(exc).__name__}: {exc}\n"
            + "".join(traceback.format_exception(exc))) from exc
    assert "Traceback" not in result.output, f"lifecycle {shown}:\n{result.output}"
    assert result.exit_code in (0, 1, 2, 3, 4), (result.exit_code, shown, result.output)
    if result.exit_code == 4:  # stored, but the projections could not follow
        assert "Warning: stored, but the projections are behind" in result.output, shown
    if result.exit_code == 2 or (result.exit_code == 1 and "verify" not in args):
        assert "Error" in result.output, (shown, result.output)  # (verify lists problems)
    assert_terminal_safe(result, args)


#: What a terminal acts on instead of showing (escape sequences, C1 controls, bidi
#: overrides): the characters `lifecycle.console.render.printable` escapes, newline and tab
#: aside. Written out here rather than imported, so the test does not trust the code.
TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f"
                             "\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def assert_terminal_safe(result: Result, args: Sequence[str]) -> None:
    """Issue 19, point 8: whatever ids and values a hostile file or option carries (the
    fuzz strategies put ESC, C1 and bidi controls in them), what is printed for a person
    (tables, captions, messages, errors: everything but `--format json/csv`, which keep
    the exact value on stdout) holds none of them raw."""
    joined = " ".join(args)
    verbatim = re.search(r"--format[= ](json|csv)\b", joined) is not None
    texts = [result.stderr] if verbatim else [result.stderr, result.stdout]
    for text in texts:
        found = TERMINAL_UNSAFE.search(text)
        assert found is None, (f"raw {found.group()!r} printed by lifecycle "
                               f"{printable(joined[:200])}: "
                               f"{printable(text[max(0, found.start() - 80):found.end() + 80])}")


def printable(text: str) -> str:
    return "".join(c if c in string.printable else f"\\u{ord(c):04x}" for c in text)
