"""What every sample journey shares: the parameters of the bundled file, the cast (sellers,
campaigns, reasons), ids, the window's clock and one subject's stream of facts."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parents[1] / "data" / "demo_facts.jsonl"
#: The parameters the bundled file was generated with.
DEMO_PARAMS: dict[str, Any] = {
    "persons": 300, "accounts": 40, "start": "2023-01-01T00:00:00Z", "years": 2, "seed": 2024,
}
DEFAULT_SEED = 2024
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
TOUCH_WEIGHTS = [w for _, w, _ in FIRST_TOUCH]
DQ_REASONS = ["no budget", "not a decision maker", "student", "competitor",
              "bad contact data", "chose a competitor", "timing"]
ACCOUNT_DQ_REASONS = ["outside ICP", "competitor", "too small", "duplicate company"]
FACT_KEYS = ["type", "person_id", "account_id", "opportunity_id", "merged_id",
             "occurred_at", "field", "value", "previous", "kind", "fit", "reason", "flag",
             "state", "role", "source", "source_id", "actor", "campaign"]


class End(Exception):
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


def parse_start(start: datetime | date | str) -> datetime:
    if isinstance(start, str):
        start = datetime.fromisoformat(start.replace("Z", "+00:00"))
    if not isinstance(start, datetime):
        start = datetime(start.year, start.month, start.day, tzinfo=UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return start.astimezone(UTC)


class Clock:
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


class Journey:
    """One subject's journey: facts at strictly increasing times, cut at the window end."""

    def __init__(self, clock: Clock, rng: random.Random, kind: str, sid: str, tag: str):
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
            raise End
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
        self.emit("status_changed", source, **fields, **opt(actor=actor, campaign=campaign))


def opt(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}
