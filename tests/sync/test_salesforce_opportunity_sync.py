"""`lifecycle sync salesforce` for opportunities, contact roles and converted leads against
the local Salesforce REST API, on SQLite and PostgreSQL: what each object's queries ask
for, and the facts a later change in the org brings."""

from __future__ import annotations

from datetime import timedelta

from lifecycle.domain.timeutil import utc_now
from tests.sync.conftest import new_ledger, run, salesforce_source
from tests.sync.crm_data import CrmData, salesforce_time
from tests.sync.salesforce_server import SalesforceAPI

OBJECTS = ("Lead", "Opportunity", "OpportunityHistory", "OpportunityFieldHistory",
           "OpportunityContactRole")


def _facts(ledger, kind: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [r.fact.canonical() for _, recorded in ledger.iter_subjects() for r in recorded
            if r.fact.type == kind]


def test_opportunities_roles_and_converted_leads(
        store_url: str, definitions_yaml: str, salesforce: SalesforceAPI,
        crm: CrmData) -> None:
    with new_ledger(store_url, definitions_yaml) as ledger:
        report = run(ledger, salesforce_source(salesforce), OBJECTS)
        assert report.error is None
        leads = crm.salesforce["Lead"]
        converted = [lead for lead in leads if lead["IsConverted"]]
        assert 0 < len(converted) < len(leads)
        # only converted leads are asked for (WHERE IsConverted = true)
        assert report.objects[0].fetched == len(converted)
        merges = _facts(ledger, "merged")
        assert sorted((m["person_id"], m["merged_id"]) for m in merges) == sorted(
            (lead["ConvertedContactId"], lead["Id"]) for lead in converted)
        lead = converted[0]
        assert {"type": "merged", "person_id": lead["ConvertedContactId"],
                "merged_id": lead["Id"], "occurred_at": f"{lead['ConvertedDate']}T00:00:00Z",
                "source": "salesforce",
                "source_id": f"lead:{lead['Id']}:converted:{lead['ConvertedContactId']}"
                } in merges
        # queryAll: deleted roles are removed, deleted opportunities flagged
        roles = crm.salesforce["OpportunityContactRole"]
        removed = [r for r in _facts(ledger, "contact_role") if r["state"] == "removed"]
        assert len(removed) == sum(r["IsDeleted"] for r in roles) > 0
        deleted = [f for f in _facts(ledger, "status_changed") if f["field"] == "IsDeleted"]
        assert sorted(f["opportunity_id"] for f in deleted) == sorted(
            o["Id"] for o in crm.salesforce["Opportunity"] if o["IsDeleted"])
        links = _facts(ledger, "opportunity_linked")
        assert len(links) == len(crm.salesforce["Opportunity"])
        assert {link.get("kind") for link in links} == {
            None, "New Business", "Renewal", "Existing Customer - Upgrade"}

        # later: a role deleted and an opportunity won; the next sync reads from the cursor
        now = utc_now()
        role = next(r for r in roles if not r["IsDeleted"])
        role.update(IsDeleted=True, LastModifiedDate=salesforce_time(now),
                    SystemModstamp=salesforce_time(now))
        opportunity = role["OpportunityId"]
        crm.salesforce["OpportunityHistory"].append({
            "Id": crm.next_id("008"), "IsDeleted": False, "OpportunityId": opportunity,
            "CreatedById": "0055e000001AbCdAAK",
            "CreatedDate": salesforce_time(now + timedelta(seconds=1)),
            "StageName": "Closed Won"})
        again = run(ledger, salesforce_source(salesforce), OBJECTS)
        stored = {o.label.split()[-1]: o.stored for o in again.objects}
        assert stored == {"Lead": 0, "Opportunity": 0, "OpportunityHistory": 1,
                          "OpportunityFieldHistory": 0, "OpportunityContactRole": 1}
        facts = sorted((f.fact.canonical() for _, recorded in ledger.iter_subjects()
                        for f in recorded if f.fact.subject.id == opportunity),
                       key=lambda f: f["occurred_at"])
        assert [(f.get("state") or f.get("value"), f["occurred_at"]) for f in facts][-2:] == [
            ("removed", salesforce_time(now).replace(".000+0000", "Z")),
            ("Closed Won", salesforce_time(now + timedelta(seconds=1)).replace(
                ".000+0000", "Z"))]
