"""Sample opportunities (SPEC §7) and what people do on them: contact roles, and Salesforce
leads converted into contacts (SPEC §8).

An account's opportunities are planned from its own random stream and its account
journey: a won account gets its new-business opportunity closed won at the moment it
became a customer (sometimes after an earlier attempt that was lost, now and then one
that was lost and reopened), a renewal opportunity while each renewal flag is up and an
upgrade opportunity for each expansion conversation; other accounts now and then have a
lost or a still-open opportunity. Stages are Salesforce's default StageName values.

People add no randomness to their own journeys here: contact roles and conversions draw
from streams of their own, so the person facts the generator wrote before opportunities
existed are unchanged (only added to, or, for converted leads, recorded under the lead
id until the conversion).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from lifecycle.sample.accounts import AccountPlan, account_journey
from lifecycle.sample.journey import AES, DAY, HOUR, MINUTE, Clock, Journey, account_id

NEW_BUSINESS, RENEWAL, UPGRADE = "New Business", "Renewal", "Existing Customer - Upgrade"
WON, LOST = "Closed Won", "Closed Lost"
ROLES = ["Decision Maker", "Economic Buyer", "Technical Buyer", "Evaluator", "Influencer",
         "Business User"]
DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(n: int, width: int) -> str:
    body = ""
    for _ in range(width):
        n, r = divmod(n, 62)
        body = DIGITS[r] + body
    return body


def opportunity_id(account: int, number: int) -> str:
    """A Salesforce-style 18-character opportunity id (key prefix 006)."""
    return f"0068c00003{_base62(account * 16 + number, 5)}AAW"


def lead_id(person: int) -> str:
    """A Salesforce-style 18-character lead id (key prefix 00Q)."""
    return f"00Q8c00001{_base62(person, 5)}EAA"


@dataclass
class Deal:
    """One planned opportunity: its account, Type, and StageName changes (window seconds)."""

    id: str
    account: int
    kind: str
    stages: list[tuple[int, str]] = field(default_factory=list)

    @property
    def created(self) -> int:
        return self.stages[0][0]

    @property
    def closed(self) -> int | None:
        """When it was last closed (won or lost), None while open."""
        last_t, last = self.stages[-1]
        return last_t if last in (WON, LOST) else None


def _walk(rng: random.Random, start: int, path: list[str], end: str | None,
          close_at: int | None = None) -> list[tuple[int, str]]:
    """StageName changes from `start`: each step some days on, `end` at `close_at`
    (or some days after the last step)."""
    stages, t = [], start
    for name in path:
        stages.append((t, name))
        t += int(rng.uniform(2, 12) * DAY) + rng.randrange(8 * HOUR)
    if end is not None:
        t = max(t, close_at) if close_at is not None else t
        stages.append((t, end))
    return stages


def plan_deals(clock: Clock, seed: int, index: int, plan: AccountPlan) -> list[Deal]:
    """The account's opportunities, in creation order, cut at the window's end."""
    rng = random.Random(f"{seed}:opportunities:{index}")
    deals: list[Deal] = []

    def add(kind: str, stages: list[tuple[int, str]]) -> None:
        stages = [(t, s) for t, s in stages if 0 <= t < clock.span]
        if stages:
            deals.append(Deal(opportunity_id(index, len(deals)), index, kind, stages))

    if plan.won_at is None:
        # Prospects the sellers try now and then: lost attempts, the last one maybe open.
        attempts = 1 + (rng.random() < 0.75) + (rng.random() < 0.45) + (rng.random() < 0.2)
        start = int(rng.uniform(0.02, 0.5) * clock.span)
        for attempt in range(attempts):
            if attempt == attempts - 1 and rng.random() < 0.35:
                add(NEW_BUSINESS, _walk(rng, start, ["Prospecting", "Qualification",
                                                     "Proposal/Price Quote"], None))
            else:
                path = ["Prospecting", "Qualification"][:1 + (rng.random() < 0.7)]
                add(NEW_BUSINESS, _walk(rng, start, path, LOST))
            start += int(rng.uniform(60, 240) * DAY)
        return deals
    won = plan.won_at
    if rng.random() < 0.6:  # an earlier attempt, lost
        add(NEW_BUSINESS, _walk(rng, won - int(rng.uniform(150, 260) * DAY),
                                ["Prospecting", "Qualification", "Needs Analysis"], LOST))
    path = ["Prospecting", "Qualification", "Proposal/Price Quote", "Negotiation/Review"]
    stages = _walk(rng, max(0, won - int(rng.uniform(45, 85) * DAY)), path, None)
    if rng.random() < 0.15:  # lost on paper, then reopened and won
        lost_at = stages[-1][0] + int(rng.uniform(1, 5) * DAY)
        stages += [(lost_at, LOST), (lost_at + int(rng.uniform(3, 10) * DAY),
                                     "Negotiation/Review")]
    stages.append((max(won, stages[-1][0] + MINUTE), WON))
    add(NEW_BUSINESS, stages)
    _renewals_and_upgrades(rng, clock, seed, index, add)
    return deals


def _renewals_and_upgrades(rng: random.Random, clock: Clock, seed: int, index: int,
                           add: Any) -> None:
    """A renewal opportunity while each renewal flag is up (won when it is cleared), an
    upgrade opportunity for each expansion conversation (won or lost when it ends)."""
    raised: dict[str, int] = {}
    for t, fact in account_journey(clock, seed, index):
        if fact["type"] != "renewal_flagged" or fact["flag"] not in ("renewal", "upgrade"):
            continue
        flag = fact["flag"]
        if fact["state"] == "raised":
            raised[flag] = t
            continue
        start = raised.pop(flag, None)
        if start is None:
            continue
        if flag == "renewal":
            add(RENEWAL, _walk(rng, start + HOUR, ["Qualification", "Negotiation/Review"],
                               WON, close_at=t))
        else:
            add(UPGRADE, _walk(rng, start + HOUR, ["Qualification", "Proposal/Price Quote"],
                               WON if rng.random() < 0.6 else LOST, close_at=t))
    for flag, start in raised.items():  # still up at the window's end: still open
        kind = RENEWAL if flag == "renewal" else UPGRADE
        add(kind, _walk(rng, start + HOUR, ["Qualification"], None))


def deal_facts(clock: Clock, deal: Deal) -> list[tuple[int, dict[str, Any]]]:
    """The opportunity's facts: linked to its account with its Type, then each StageName
    change from OpportunityHistory."""
    rng = random.Random(deal.id)
    journey = Journey(clock, rng, "opportunity", deal.id, f"Op{deal.id[10:15]}")
    owner = AES[deal.account % len(AES)]
    journey.at(deal.created)
    journey.emit("opportunity_linked", "salesforce", account_id=account_id(deal.account),
                 kind=deal.kind, actor=owner)
    previous = None
    for t, stage in deal.stages:
        journey.at(t)
        fields: dict[str, Any] = {"field": "StageName", "value": stage, "actor": owner}
        if previous:
            fields["previous"] = previous
        journey.emit("status_changed", "salesforce", **fields)
        previous = stage
    return journey.facts


def contact_roles(clock: Clock, seed: int, index: int, links: list[tuple[int, int | None]],
                  deals: list[list[Deal]], person: str) -> list[tuple[int, dict[str, Any]]]:
    """Roles the person holds on the opportunities of the accounts it works at: added a
    little after the opportunity opens (or the person arrives), now and then removed."""
    rng = random.Random(f"{seed}:roles:{index}")
    facts: list[tuple[int, dict[str, Any]]] = []
    for number, (since, account) in enumerate(links):
        if account is None:
            continue
        until = links[number + 1][0] if number + 1 < len(links) else clock.span
        for deal in deals[account]:
            if deal.kind != NEW_BUSINESS:
                # SPEC §7 cascades every kind: a role on a renewal in Qualification would
                # send the customer's contacts back to sql. Sellers here name roles on new
                # business only (docs/concepts.md, "Opportunities").
                continue
            closed = deal.closed if deal.closed is not None else clock.span
            start = max(deal.created, since)
            if start >= min(until, closed) or rng.random() >= 0.45:
                continue
            at = start + int(rng.uniform(1, 48) * HOUR)
            if at >= min(until, closed, clock.span):
                continue
            role = rng.choice(ROLES)
            key = f"00K{deal.id[5:15]}{index:07d}"
            facts.append((at, _role(deal, person, role, "added", key)))
            if rng.random() < 0.12:
                gone = at + int(rng.uniform(2, 20) * DAY)
                if gone < min(closed, clock.span):
                    facts.append((gone, _role(deal, person, role, "removed", key + ":del")))
    return facts


def _role(deal: Deal, person: str, role: str, state: str, key: str) -> dict[str, Any]:
    return {"type": "contact_role", "opportunity_id": deal.id, "person_id": person,
            "role": role, "state": state, "source": "salesforce", "source_id": key}


def convert_lead(index: int, person: str, facts: list[tuple[int, dict[str, Any]]]
                 ) -> list[tuple[int, dict[str, Any]]]:
    """A person who arrived as a Salesforce lead and was converted: its lead statuses up to
    `Closed - Converted` stay on the lead id (as Salesforce keeps them), and a `merged` fact
    joins the lead to the contact (ConvertedContactId). Others are returned unchanged."""
    first = next((f for _, f in facts if f["type"] == "status_changed"), None)
    if first is None or first.get("field") != "Status":
        return facts
    converted = next((t for t, f in facts if f.get("field") == "Status"
                      and f.get("value") == "Closed - Converted"), None)
    if converted is None:
        return facts
    lead = lead_id(index)
    out = []
    for t, fact in facts:
        if t <= converted and fact["type"] == "status_changed" and fact["field"] == "Status":
            fact = {**fact, "person_id": lead}
        out.append((t, fact))
    out.append((converted + 1, {"type": "merged", "person_id": person, "merged_id": lead,
                                "source": "salesforce", "source_id": f"converted:{lead}"}))
    return out
