"""Sample data and the `lifecycle demo` command.

`generate()` makes up a realistic, deterministic B2B history as canonical facts (SPEC §2):
HubSpot `lifecycle_stage` and Salesforce `Status` changes, hand raises of every fit,
disqualifications, backward moves, recycles, skipped stages, people joining, switching and
leaving accounts, and renewal / upgrade / at-risk flags on customer accounts. The bundled
`data/demo_facts.jsonl` is its output for `DEMO_PARAMS`; `bench/gen_facts.py` uses it to
write large files.

Every subject draws from its own random stream (seeded by the seed and its index), so a
subject's facts do not depend on how many others are generated. Output is sorted by
`occurred_at`, ties in generation order. Large runs are generated in chunks of subjects,
each sorted and spilled to a temporary file, then merged: memory stays flat.

`run_demo()` imports the bundled file into a throwaway store and prints what a RevOps
person would look at first: import counts, stage counts, recent backward moves, an audit.
"""

from __future__ import annotations

import bisect
import heapq
import json
import random
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parents[1] / "data" / "demo_facts.jsonl"
#: The parameters the bundled file was generated with.
DEMO_PARAMS: dict[str, Any] = {
    "persons": 300, "accounts": 40, "start": "2023-01-01T00:00:00Z", "years": 2, "seed": 2024,
}
DEFAULT_SEED = 2024
#: Subjects per chunk: what one sorted run holds in memory.
CHUNK = 10_000
#: About how many facts one person brings (with its share of account facts), for sizing.
FACTS_PER_PERSON = 6.0
PERSONS_PER_ACCOUNT = 7.5

DAY = 86_400
HOUR = 3_600
MINUTE = 60

SDRS = ["maria.lopez@northwind.example", "sam.okafor@northwind.example",
        "priya.natarajan@northwind.example", "jonas.berg@northwind.example"]
AES = ["dana.kim@northwind.example", "luis.ferreira@northwind.example",
       "grace.ohara@northwind.example"]
CSMS = ["tom.weller@northwind.example", "aiko.sato@northwind.example"]
MARKETING = ["workflow: lifecycle sync", "workflow: lead scoring",
             "ops.rhea@northwind.example"]

#: First touch: (source, weight, campaigns)
FIRST_TOUCH = [
    ("hubspot", 30, ["ebook-revops-benchmarks", "newsletter", "blog-subscribe",
                     "pricing-page"]),
    ("paid_search", 18, ["ppc-brand", "ppc-competitor", "ppc-category"]),
    ("webinar", 16, ["webinar-pipeline-hygiene", "webinar-forecasting-101",
                     "webinar-attribution"]),
    ("linkedin_ads", 10, ["li-abm-q", "li-retarget"]),
    ("event", 8, ["saastr-booth", "revops-summit", "field-dinner"]),
    ("salesforce", 12, ["outbound-sdr", "list-import"]),
    ("partner", 6, ["partner-referral"]),
]
_TOUCH_WEIGHTS = [w for _, w, _ in FIRST_TOUCH]
DQ_REASONS = ["no budget", "not a decision maker", "student", "competitor",
              "bad contact data", "chose a competitor", "timing"]
ACCOUNT_DQ_REASONS = ["outside ICP", "competitor", "too small", "duplicate company"]
_FACT_KEYS = ["type", "person_id", "account_id", "occurred_at", "field", "value",
              "previous", "kind", "fit", "reason", "flag", "state", "source", "source_id",
              "actor", "campaign"]


class _End(Exception):
    """The journey ran past the end of the window."""


def person_id(index: int) -> str:
    """A HubSpot-style numeric contact id."""
    return str(10_001 + index)


def account_id(index: int) -> str:
    """A Salesforce-style 18-character account id."""
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    body, n = "", index
    for _ in range(5):
        n, r = divmod(n, 62)
        body = digits[r] + body
    return f"0018c00002{body}AAQ"


def _parse_start(start: datetime | date | str) -> datetime:
    if isinstance(start, str):
        start = datetime.fromisoformat(start.replace("Z", "+00:00"))
    if not isinstance(start, datetime):
        start = datetime(start.year, start.month, start.day, tzinfo=UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return start.astimezone(UTC)


class _Clock:
    """Seconds from the window's start to text, fast (one cached string per day)."""

    def __init__(self, start: datetime, years: int):
        self.start = start
        try:
            end = start.replace(year=start.year + years)
        except ValueError:  # 29 February
            end = start + timedelta(days=365 * years)
        self.span = int((end - start).total_seconds())
        self._offset = start.hour * HOUR + start.minute * MINUTE + start.second
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        days = (self.span + self._offset) // DAY + 2
        self._days = [(midnight + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(days)]
        self.weekday0 = midnight.weekday()

    def text(self, t: int) -> str:
        day, rest = divmod(t + self._offset, DAY)
        hour, rest = divmod(rest, HOUR)
        minute, second = divmod(rest, MINUTE)
        return f"{self._days[day]}T{hour:02d}:{minute:02d}:{second:02d}Z"

    def day_of(self, t: int) -> tuple[int, int]:
        """(midnight of t's day, weekday) in window seconds."""
        day = (t + self._offset) // DAY
        return day * DAY - self._offset, (self.weekday0 + day) % 7


class _Subject:
    """One subject's journey: facts at strictly increasing times, cut at the window end."""

    def __init__(self, clock: _Clock, rng: random.Random, kind: str, sid: str, tag: str):
        self.clock, self.rng, self.kind, self.sid, self.tag = clock, rng, kind, sid, tag
        self.t = 0
        self.facts: list[tuple[int, dict[str, Any]]] = []
        self.k = 0

    # -- time --
    def at(self, t: int) -> None:
        self.t = max(t, self.t)

    def soon(self, lo_min: float, hi_min: float) -> None:
        self.t += int(self.rng.uniform(lo_min, hi_min) * MINUTE) + 1

    def later(self, lo_days: float, hi_days: float) -> None:
        """Some days on, in working hours (13:00-23:00 UTC, US office hours), Mon-Fri."""
        t = self.t + int(self.rng.uniform(lo_days, hi_days) * DAY)
        midnight, weekday = self.clock.day_of(t)
        if weekday >= 5:
            midnight += (7 - weekday) * DAY
        t = midnight + 13 * HOUR + self.rng.randrange(10 * HOUR)
        self.t = max(t, self.t + MINUTE)

    # -- facts --
    def emit(self, type_: str, source: str | None, *, id_: bool = True, **fields: Any) -> None:
        if self.t >= self.clock.span:
            raise _End
        self.k += 1
        fact: dict[str, Any] = {"type": type_, f"{self.kind}_id": self.sid}
        fact.update(fields)
        if source is not None:
            fact["source"] = source
            if id_:
                fact["source_id"] = self._source_id(source)
        self.facts.append((self.t, fact))
        self.t += 1

    def _source_id(self, source: str) -> str:
        if source == "salesforce":
            return f"017{self.tag}{self.k:04d}"
        if source == "hubspot":
            return f"{self.kind[0]}{self.sid}-{self.k}"
        return f"{source[:3]}-{self.tag}-{self.k}"

    def status(self, value: str, source: str, previous: str | None = None,
               actor: str | None = None, campaign: str | None = None) -> None:
        field = "Status" if source == "salesforce" else "lifecycle_stage"
        fields: dict[str, Any] = {"field": field, "value": value}
        if previous is not None:
            fields["previous"] = previous
        self.emit("status_changed", source, **fields, **_opt(actor=actor, campaign=campaign))


def _opt(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


# ---- accounts -----------------------------------------------------------------------------

class _AccountPlan:
    __slots__ = ("won_at", "ae")

    def __init__(self, won_at: int | None, ae: str):
        self.won_at, self.ae = won_at, ae


def _account_rng(seed: int, index: int) -> random.Random:
    return random.Random(f"{seed}:account:{index}")


def _plan(rng: random.Random, span: int) -> _AccountPlan:
    ae = rng.choice(AES)
    won_at = None
    if rng.random() < 0.4:
        won_at = int(rng.uniform(0.12, 0.92) * span)
    return _AccountPlan(won_at, ae)


def _account(clock: _Clock, seed: int, index: int) -> list[tuple[int, dict[str, Any]]]:
    rng = _account_rng(seed, index)
    plan = _plan(rng, clock.span)
    acc = _Subject(clock, rng, "account", account_id(index), f"Ac{index:08d}")
    try:
        if plan.won_at is None:
            if rng.random() < 0.12:
                acc.at(int(rng.uniform(0.1, 0.9) * clock.span))
                acc.later(0, 1)
                acc.emit("disqualified", "salesforce", reason=rng.choice(ACCOUNT_DQ_REASONS),
                         actor=plan.ae)
            return acc.facts
        acc.at(max(0, plan.won_at - int(rng.uniform(30, 80) * DAY)))
        acc.later(0, 1)
        acc.status("opportunity", "hubspot", actor=MARKETING[0])
        acc.at(plan.won_at)
        acc.soon(5, 90)
        acc.status("customer", "hubspot", previous="opportunity", actor=MARKETING[0])
        csm = rng.choice(CSMS)
        anniversary = plan.won_at
        while True:
            if rng.random() < 0.3:  # an expansion conversation
                acc.at(anniversary + int(rng.uniform(60, 200) * DAY))
                acc.later(0, 1)
                acc.emit("renewal_flagged", "salesforce", flag="upgrade", state="raised",
                         actor=plan.ae)
                acc.later(20, 70)
                acc.emit("renewal_flagged", "salesforce", flag="upgrade", state="cleared",
                         actor=plan.ae)
            at_risk = rng.random() < 0.25
            if at_risk:
                acc.at(anniversary + int(rng.uniform(150, 240) * DAY))
                acc.later(0, 1)
                acc.emit("renewal_flagged", "salesforce", flag="at_risk", state="raised",
                         actor=csm)
            acc.at(anniversary + 275 * DAY)
            acc.later(0, 3)
            acc.emit("renewal_flagged", "salesforce", flag="renewal", state="raised",
                     actor=csm)
            if at_risk and rng.random() < 0.5:
                return acc.facts  # still at risk, renewal still open
            anniversary += 365 * DAY
            acc.at(anniversary)
            acc.later(-10, 2)
            if at_risk:
                acc.emit("renewal_flagged", "salesforce", flag="at_risk", state="cleared",
                         actor=csm)
                acc.soon(1, 30)
            acc.emit("renewal_flagged", "salesforce", flag="renewal", state="cleared",
                     actor=csm)
    except _End:
        pass
    return acc.facts


# ---- persons ------------------------------------------------------------------------------

class _Person(_Subject):
    """A person's walk down the funnel; `stage` is where the generator thinks it is."""

    def __init__(self, clock: _Clock, seed: int, index: int, plans: list[_AccountPlan],
                 cum_weights: list[float]):
        super().__init__(clock, random.Random(f"{seed}:person:{index}"), "person",
                         person_id(index), f"Pe{index:08d}")
        self.plans, self.cum_weights = plans, cum_weights
        self.account: int | None = None
        self.stage: str | None = None
        self.sdr = self.rng.choice(SDRS)
        self.champion = False

    def pick_account(self, avoid: int | None = None) -> int | None:
        if not self.plans:
            return None
        total = self.cum_weights[-1]
        for _ in range(4):
            index = bisect.bisect_right(self.cum_weights, self.rng.random() * total)
            index = min(index, len(self.plans) - 1)
            if index != avoid:
                return index
        return None

    def link(self, index: int) -> None:
        self.account = index
        source = self.rng.choice(["hubspot", "hubspot", "salesforce"])
        self.emit("person_linked", source, account_id=account_id(index),
                  actor=MARKETING[0] if source == "hubspot" else self.sdr)

    def hand(self, kind: str, fit: str | None, source: str, campaign: str | None) -> None:
        fields = _opt(fit=fit, campaign=campaign)
        # Webinar platforms and paid-search forms often come without an id of their own.
        with_id = source in ("hubspot", "salesforce") or self.rng.random() < 0.7
        self.emit("hand_raised", source, id_=with_id, kind=kind, **fields)

    def journey(self) -> list[tuple[int, dict[str, Any]]]:
        rng = self.rng
        span = self.clock.span
        try:
            # Arrivals grow over the window (more marketing, more leads).
            self.at(int(span * rng.random() ** 0.8))
            self.later(0, 0)
            if rng.random() < 0.88:
                account = self.pick_account()
                if account is not None:
                    self.link(account)
                    self.soon(1, 20)
            plan = self.plans[self.account] if self.account is not None else None
            self.champion = bool(plan and plan.won_at and plan.won_at - self.t > 45 * DAY
                                 and rng.random() < 0.35)
            self.arrive()
            steps = 0
            while self.stage is not None and steps < 14:
                steps += 1
                if not getattr(self, f"from_{self.stage}")():
                    break
        except _End:
            pass
        return self.facts

    def arrive(self) -> None:
        rng = self.rng
        source, _, campaigns = rng.choices(FIRST_TOUCH, _TOUCH_WEIGHTS)[0]
        campaign = rng.choice(campaigns)
        roll = rng.random()
        if source == "salesforce":
            self.status("Open - Not Contacted", "salesforce", actor=self.sdr,
                        campaign=campaign)
            self.stage = "verified"
        elif source in ("webinar", "event"):
            self.hand("webinar" if source == "webinar" else "event_scan", None, source,
                      campaign)
            self.soon(30, 600)
            self.status("subscriber", "hubspot", actor=MARKETING[0], campaign=campaign)
            self.stage = "new"
        elif roll < 0.12 or (self.champion and roll < 0.3):
            # Straight in with a demo request: entry into mql.
            self.hand("demo_request", rng.choice(["high", "medium"]), source, campaign)
            self.stage = "mql"
            self.soon(1, 10)
            self.status("marketingqualifiedlead", "hubspot", actor=MARKETING[1])
        elif roll < 0.55:
            self.status("subscriber", "hubspot", actor=MARKETING[0], campaign=campaign)
            self.stage = "new"
        else:
            self.status("lead", "hubspot", actor=MARKETING[0], campaign=campaign)
            self.stage = "verified"

    # Each from_<stage> takes one step; False ends the journey.

    def from_new(self) -> bool:
        rng = self.rng
        roll = rng.random()
        if not self.champion and roll < 0.35:
            if roll < 0.04:
                return self.leave()
            if rng.random() < 0.4:  # a webinar sign-up that moves nothing
                self.later(10, 120)
                self.hand("webinar", None, "webinar",
                          rng.choice(FIRST_TOUCH[2][2]))
            return False
        self.later(3, 60)
        if roll < 0.45 and not self.champion:  # hand raised straight from subscriber
            self.hand(rng.choice(["demo_request", "contact_sales"]), "high", "hubspot",
                      rng.choice(FIRST_TOUCH[0][2]))
            self.stage = "mql"
            return True
        self.status("lead", "hubspot", previous="subscriber", actor=MARKETING[0])
        self.stage = "verified"
        return True

    def from_verified(self) -> bool:
        rng = self.rng
        roll = 0.2 if self.champion else rng.random()
        if roll < 0.12:  # a low-fit hand raise: recorded, derives nothing
            self.later(2, 40)
            self.hand("demo_request", "low", "paid_search", rng.choice(FIRST_TOUCH[1][2]))
            return rng.random() < 0.5
        if roll < 0.5:
            self.later(2, 50)
            if rng.random() < 0.6:
                source = rng.choice(["hubspot", "paid_search", "webinar", "linkedin_ads"])
                self.hand(rng.choice(["demo_request", "contact_sales"]),
                          rng.choice(["high", "medium"]), source, _campaign_of(rng, source))
                self.soon(1, 15)
                self.status("marketingqualifiedlead", "hubspot", previous="lead",
                            actor=MARKETING[1])
            else:
                self.status("marketingqualifiedlead", "hubspot", previous="lead",
                            actor=MARKETING[1])
            self.stage = "mql"
            return True
        if roll < 0.58:  # sales takes it straight to SQL: mql, sal, meeting_set skipped
            self.later(5, 40)
            self.status("salesqualifiedlead", "hubspot", previous="lead", actor=self.sdr)
            self.stage = "sql"
            return True
        if roll < 0.68:
            self.later(10, 90)
            self.emit("disqualified", "salesforce", reason=rng.choice(DQ_REASONS),
                      actor=self.sdr)
            self.stage = "disqualified"
            return True
        if roll < 0.76:
            return self.leave()
        return False

    def from_mql(self) -> bool:
        rng = self.rng
        roll = 0.1 if self.champion else rng.random()
        if roll < 0.7:
            # SDR follow-up: usually within the 24h SLA, sometimes days late.
            if rng.random() < 0.7:
                self.soon(20, 20 * 60)
            else:
                self.later(1, 6)
            self.status("Working - Contacted", "salesforce", previous="Open - Not Contacted",
                        actor=self.sdr)
            self.stage = "sal"
            return True
        self.later(3, 30)
        if roll < 0.85:  # marketing recycles it to lead: a backward move
            self.status("", "hubspot", previous="marketingqualifiedlead", actor=MARKETING[2])
            self.soon(1, 5)
            self.status("lead", "hubspot", actor=MARKETING[2])
            self.stage = "verified"
        else:
            self.status("Closed - Not Converted", "salesforce",
                        previous="Open - Not Contacted", actor=self.sdr)
            self.stage = "disqualified"
        return True

    def from_sal(self) -> bool:
        rng = self.rng
        if rng.random() < 0.25:  # asks again while already being worked: a signal
            self.later(1, 10)
            self.hand(rng.choice(["demo_request", "contact_sales"]),
                      rng.choice(["high", "medium"]), "hubspot", None)
        roll = 0.1 if self.champion else rng.random()
        self.later(2, 25)
        if roll < 0.55:
            self.status("Closed - Converted", "salesforce", previous="Working - Contacted",
                        actor=self.sdr)
            self.soon(1, 30)
            self.status("salesqualifiedlead", "hubspot", previous="marketingqualifiedlead",
                        actor=MARKETING[0])
            self.stage = "sql"
        elif roll < 0.85:
            self.status("Closed - Not Converted", "salesforce", previous="Working - Contacted",
                        actor=self.sdr)
            self.stage = "disqualified"
        else:
            self.status("lead", "hubspot", previous="marketingqualifiedlead",
                        actor=MARKETING[2])
            self.stage = "verified"
        return True

    def from_sql(self) -> bool:
        rng = self.rng
        plan = self.plans[self.account] if self.account is not None else None
        if rng.random() < 0.2:  # a signal from a hot prospect
            self.later(1, 15)
            self.hand("contact_sales", "high", rng.choice(["hubspot", "webinar"]), None)
        roll = 0.1 if self.champion else rng.random()
        if roll < 0.55:
            if plan and plan.won_at and plan.won_at > self.t:
                self.at(plan.won_at - int(rng.uniform(20, 70) * DAY))
            self.later(3, 40)
            self.status("opportunity", "hubspot", previous="salesqualifiedlead",
                        actor=plan.ae if plan else rng.choice(AES))
            self.stage = "late_stage"
            return True
        self.later(7, 60)
        if roll < 0.8:  # back to lead: HubSpot needs the stage cleared first
            self.status("", "hubspot", previous="salesqualifiedlead", actor=MARKETING[2])
            self.soon(1, 3)
            self.status("lead", "hubspot", actor=MARKETING[2])
            self.stage = "verified"
        else:
            self.emit("disqualified", "salesforce", reason=rng.choice(DQ_REASONS),
                      actor=plan.ae if plan else rng.choice(AES))
            self.stage = "disqualified"
        return True

    def from_late_stage(self) -> bool:
        rng = self.rng
        plan = self.plans[self.account] if self.account is not None else None
        if plan and plan.won_at and plan.won_at > self.t:
            self.at(plan.won_at)
            self.soon(10, 240)
            won = True
        else:
            self.later(14, 75)
            # An expansion deal at a customer, or a new logo without an account plan.
            won = rng.random() < (0.6 if plan and plan.won_at else 0.3)
        if won:
            self.status("customer", "hubspot", previous="opportunity",
                        actor=plan.ae if plan else rng.choice(AES))
            self.stage = "customer"
            return True
        if rng.random() < 0.5:
            self.emit("disqualified", "salesforce", reason="chose a competitor",
                      actor=plan.ae if plan else rng.choice(AES))
            self.stage = "disqualified"
        else:  # lost for now: back to SQL for a later quarter
            self.status("salesqualifiedlead", "hubspot", previous="opportunity",
                        actor=MARKETING[2])
            self.stage = "sql"
        return True

    def from_customer(self) -> bool:
        rng = self.rng
        roll = rng.random()
        if roll < 0.12:
            self.later(90, 400)
            return self.leave()
        if roll < 0.2:  # a champion moves to another account: they come along
            self.later(120, 400)
            new = self.pick_account(avoid=self.account)
            if new is not None:
                self.link(new)
            return False
        if roll < 0.35:  # a signal: the customer wants to talk about more seats
            self.later(30, 300)
            self.hand("contact_sales", "high", "hubspot", "expansion-nurture")
        return False

    def from_disqualified(self) -> bool:
        rng = self.rng
        if rng.random() >= 0.35:
            return False
        # Recycled: a hand raise after disqualification is only a signal; marketing then
        # re-opens the person as a lead (a re-entry).
        self.later(60, 240)
        if rng.random() < 0.5:
            self.hand("demo_request", rng.choice(["high", "medium"]), "hubspot",
                      "recycle-nurture")
            self.soon(30, 24 * 60)
        if rng.random() < 0.5:
            self.status("Open - Not Contacted", "salesforce", previous="Closed - Not Converted",
                        actor=self.sdr, campaign="recycle-nurture")
        else:
            self.status("lead", "hubspot", actor=MARKETING[1], campaign="recycle-nurture")
        self.stage = "verified"
        return True

    def from_inactive(self) -> bool:
        rng = self.rng
        if rng.random() >= 0.4:
            return False
        self.later(20, 150)  # turns up at a new company and re-engages
        new = self.pick_account(avoid=self.account)
        if new is not None:
            self.link(new)
            self.soon(60, 3 * 24 * 60)
        self.status("lead", "hubspot", actor=MARKETING[0],
                    campaign="job-change-alert")
        self.stage = "verified"
        return True

    def leave(self) -> bool:
        self.later(30, 200)
        if self.account is None:
            return False
        self.emit("person_left", "salesforce", actor=self.sdr)
        self.stage = "inactive"
        return True


def _campaign_of(rng: random.Random, source: str) -> str | None:
    for name, _, campaigns in FIRST_TOUCH:
        if name == source:
            return rng.choice(campaigns)
    return None


# ---- the stream ---------------------------------------------------------------------------

def _units(persons: int, accounts: int) -> list[tuple[str, int, int]]:
    """Chunks of subjects: (kind, first index, end index), accounts first."""
    units = [("account", lo, min(lo + CHUNK, accounts)) for lo in range(0, accounts, CHUNK)]
    units += [("person", lo, min(lo + CHUNK, persons)) for lo in range(0, persons, CHUNK)]
    return units


def _chunk(clock: _Clock, seed: int, unit: tuple[str, int, int], plans: list[_AccountPlan],
           cum_weights: list[float], offset: int) -> list[tuple[int, int, dict[str, Any]]]:
    """One chunk's facts as (t, sequence, fact), sorted."""
    kind, lo, hi = unit
    rows: list[tuple[int, int, dict[str, Any]]] = []
    seq = offset
    for index in range(lo, hi):
        if kind == "account":
            facts = _account(clock, seed, index)
        else:
            facts = _Person(clock, seed, index, plans, cum_weights).journey()
        for number, (t, fact) in enumerate(facts):
            rows.append((t, seq, fact))
            seq += 1
            # A webhook delivered twice now and then: the ledger stores it once.
            if kind == "person" and fact.get("source") == "hubspot" and "source_id" in fact \
                    and (index * 31 + number) % 97 == 0:
                rows.append((t, seq, dict(fact)))
                seq += 1
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def _finish(clock: _Clock, fact: dict[str, Any], t: int) -> dict[str, Any]:
    fact["occurred_at"] = clock.text(t)
    return {k: fact[k] for k in _FACT_KEYS if k in fact}


def generate_lines(persons: int, accounts: int, start: datetime | date | str,
                   years: int = 2, seed: int = DEFAULT_SEED) -> Iterator[str]:
    """Like `generate`, one compact JSON text per fact (no newline)."""
    if persons < 0 or accounts < 0 or years < 1:
        raise ValueError("persons and accounts must be >= 0 and years >= 1")
    clock = _Clock(_parse_start(start), years)
    plans = [_plan(_account_rng(seed, j), clock.span) for j in range(accounts)]
    # A few big accounts and a long tail; customers attract more people.
    weights = [(2.0 if p.won_at else 1.0) / (1 + j % 17) ** 0.7 for j, p in enumerate(plans)]
    cum_weights, total = [], 0.0
    for w in weights:
        total += w
        cum_weights.append(total)
    units = _units(persons, accounts)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    if len(units) <= 1:
        rows = _chunk(clock, seed, units[0], plans, cum_weights, 0) if units else []
        for t, _, fact in rows:
            yield dumps(_finish(clock, fact, t))
        return
    with ExitStack() as stack:
        folder = tempfile.mkdtemp(prefix="lifecycle-gen-")
        stack.callback(shutil.rmtree, folder, True)
        runs = []
        offset = 0
        for number, unit in enumerate(units):
            rows = _chunk(clock, seed, unit, plans, cum_weights, offset)
            offset += len(rows) + 1
            path = Path(folder) / f"run{number:05d}.txt"
            with path.open("w", encoding="utf-8") as out:
                # Fixed-width (time, sequence) prefix: plain string order is the order.
                out.writelines(f"{t:012d}{s:014d}\t{dumps(_finish(clock, fact, t))}\n"
                               for t, s, fact in rows)
            del rows
            runs.append(stack.enter_context(path.open(encoding="utf-8")))
        for line in heapq.merge(*runs):
            yield line[27:-1]


def generate(persons: int, accounts: int, start: datetime | date | str, years: int = 2,
             seed: int = DEFAULT_SEED) -> Iterator[dict[str, Any]]:
    """Canonical facts for `persons` people and `accounts` companies over `years` years
    from `start`, sorted by `occurred_at`; the same arguments give the same facts."""
    for line in generate_lines(persons, accounts, start, years, seed):
        yield json.loads(line)


def write_jsonl(path: Path | str, lines: Iterator[str]) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(line)
            out.write("\n")
            count += 1
    return count


def demo_lines() -> Iterator[str]:
    """The bundled file's lines, regenerated."""
    return generate_lines(**DEMO_PARAMS)


# ---- the demo -----------------------------------------------------------------------------

def run_demo(keep: str | None) -> None:
    """Import the bundled sample into a throwaway store (or `keep`) and show the main job."""
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="lifecycle-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _run(folder, kept=keep is not None)
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def _run(folder: Path, kept: bool) -> None:
    from rich.rule import Rule

    from lifecycle.application.audit import audit
    from lifecycle.application.importing import import_rows
    from lifecycle.application.ledger import Ledger
    from lifecycle.console.progress import Progress
    from lifecycle.console.render import console, print_audit, table
    from lifecycle.domain.definitions import load_definitions
    from lifecycle.domain.facts import ACCOUNT, PERSON
    from lifecycle.domain.starters import starter_text
    from lifecycle.importers.canonical import read_jsonl
    from lifecycle.reports.stages import moves, stages

    out = console()
    start = _parse_start(DEMO_PARAMS["start"])
    clock = _Clock(start, DEMO_PARAMS["years"])
    end = start + timedelta(seconds=clock.span)
    as_of = end - timedelta(seconds=1)
    quarter = _quarter_start(as_of)
    db = folder / "demo.db"

    out.print(Rule("[bold]lifecycle demo[/bold]", align="left"))
    out.print(
        f"Sample data: {DEMO_PARAMS['persons']} people at {DEMO_PARAMS['accounts']} accounts "
        f"over {DEMO_PARAMS['years']} years ({start:%Y-%m-%d} to {as_of:%Y-%m-%d}): HubSpot "
        "lifecycle stages, Salesforce lead statuses, hand raises, disqualifications, "
        "recycles, job changes and renewal flags.")
    out.print(f"Store: {db}" + ("" if kept else " (a throwaway folder, deleted at the end)"))
    out.print("Definitions: b2b-2024 (the starter B2B stages)\n")

    ledger = Ledger(f"sqlite:///{db}")
    try:
        text = starter_text("b2b-2024")
        assert text is not None
        ledger.publish(load_definitions(text))

        def rows() -> Iterator[Any]:
            with DATA_FILE.open("rb") as stream:
                yield from read_jsonl(stream)

        with Progress("Importing demo facts") as progress:
            summary = import_rows(ledger, rows, progress=progress.update)
        out.print(Rule("[bold]1. Import[/bold]", align="left"))
        _command(out, f"lifecycle import {DATA_FILE}")
        out.print(table([{"read": summary.read, "stored": summary.stored,
                          "duplicate": summary.duplicate, "rejected": summary.rejected}],
                        ["read", "stored", "duplicate", "rejected"]))
        out.print("[dim]Duplicates are the same event delivered twice (same source and "
                  "source_id): stored once. Importing the file again stores nothing.[/dim]\n")

        out.print(Rule(f"[bold]2. Stages as of {as_of:%Y-%m-%d}[/bold]", align="left"))
        _command(out, f"lifecycle report stages --as-of {_iso(as_of)} --level person|account")
        by_level = {level: stages(ledger, as_of, level) for level in (PERSON, ACCOUNT)}
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
        backward = moves(ledger, directions=["backward"], since=quarter, until=end)
        shown = backward[:15]
        more = len(backward) - len(shown)
        out.print(table(shown, ["subject_type", "subject_id", "occurred_at", "from_stage",
                                "to_stage"],
                        caption=f"{len(backward)} backward move(s) this quarter"
                                + (f", first {len(shown)} shown" if more else "")
                                + ": leads sent back to marketing, deals reopened."))
        out.print()

        subject = _interesting_person(ledger)
        if subject is not None:
            out.print(Rule(f"[bold]4. Audit of person {subject.id}[/bold]", align="left"))
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
    for row in stamps(ledger, level="person"):
        if row["inferred"]:
            inferred[row["subject_id"]] = inferred.get(row["subject_id"], False) \
                or row["stage"] != "new"
    backward = [r["subject_id"] for r in moves(ledger, level="person",
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
