"""A sample account's journey: opportunity, customer, then renewals, upgrades and at-risk
flags each year."""

from __future__ import annotations

import random
from typing import Any

from lifecycle.sample.journey import (
    ACCOUNT_DQ_REASONS,
    AES,
    CSMS,
    DAY,
    MARKETING,
    Clock,
    End,
    Journey,
    account_id,
)


class AccountPlan:
    __slots__ = ("won_at", "ae")

    def __init__(self, won_at: int | None, ae: str):
        self.won_at, self.ae = won_at, ae


def account_rng(seed: int, index: int) -> random.Random:
    return random.Random(f"{seed}:account:{index}")


def plan_account(rng: random.Random, span: int) -> AccountPlan:
    ae = rng.choice(AES)
    won_at = None
    if rng.random() < 0.4:
        won_at = int(rng.uniform(0.12, 0.92) * span)
    return AccountPlan(won_at, ae)


def account_journey(clock: Clock, seed: int, index: int) -> list[tuple[int, dict[str, Any]]]:
    rng = account_rng(seed, index)
    plan = plan_account(rng, clock.span)
    acc = Journey(clock, rng, "account", account_id(index), f"Ac{index:08d}")
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
    except End:
        pass
    return acc.facts
