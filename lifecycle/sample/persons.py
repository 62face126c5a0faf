"""A sample person's journey: first touch, hand raises, qualification, recycles,
disqualifications, job changes, customer."""

from __future__ import annotations

import bisect
import random
from typing import Any

from lifecycle.sample.accounts import AccountPlan
from lifecycle.sample.journey import (
    AES,
    DAY,
    DQ_REASONS,
    FIRST_TOUCH,
    MARKETING,
    SDRS,
    TOUCH_WEIGHTS,
    Clock,
    End,
    Journey,
    account_id,
    opt,
    person_id,
)


class PersonJourney(Journey):
    """A person's walk down the funnel; `stage` is where the generator thinks it is."""

    def __init__(self, clock: Clock, seed: int, index: int, plans: list[AccountPlan],
                 cum_weights: list[float]):
        super().__init__(clock, random.Random(f"{seed}:person:{index}"), "person",
                         person_id(index), f"Pe{index:08d}")
        self.plans, self.cum_weights = plans, cum_weights
        self.account: int | None = None
        self.stage: str | None = None
        self.sdr = self.rng.choice(SDRS)
        self.champion = False
        #: (when, account index or None after leaving): where the person works, over time.
        self.links: list[tuple[int, int | None]] = []

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
        self.links.append((self.t, index))
        source = self.rng.choice(["hubspot", "hubspot", "salesforce"])
        self.emit("person_linked", source, account_id=account_id(index),
                  actor=MARKETING[0] if source == "hubspot" else self.sdr)

    def hand(self, kind: str, fit: str | None, source: str, campaign: str | None) -> None:
        fields = opt(fit=fit, campaign=campaign)
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
        except End:
            pass
        return self.facts

    def arrive(self) -> None:
        rng = self.rng
        source, _, campaigns = rng.choices(FIRST_TOUCH, TOUCH_WEIGHTS)[0]
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
        self.links.append((self.t, None))
        self.emit("person_left", "salesforce", actor=self.sdr)
        self.stage = "inactive"
        return True


def _campaign_of(rng: random.Random, source: str) -> str | None:
    for name, _, campaigns in FIRST_TOUCH:
        if name == source:
            return rng.choice(campaigns)
    return None
