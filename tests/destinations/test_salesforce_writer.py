"""The Salesforce session on its own against the sandbox's org: a batch past 2,000 records goes
as Bulk API 2.0 jobs (Accounts, then Contacts), every field as the mapper made it, a refused
person named with Salesforce's words and no Account left behind for them; orders linked to
their person's Account and Contact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import destinations as kinds
from destinations.records import Record
from destinations.salesforce.client import BULK_FROM
from destinations.salesforce.mapper import ACCOUNT_ID_FIELD, DEFAULT_MAPPING, ID_FIELD, values
from sandbox.server import SandboxServer
from tests.destinations.salesforce_rig import app_credentials, held, the_org

START = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def person(i: int) -> Record:
    return Record(
        i,
        {
            "id": i,
            "email": f"p{i}@example.com" if i != 7 else "not an e-mail",
            "first_name": f"First{i}",
            "last_name": None if i % 10 == 0 else f"Last{i}",
            "orders": i % 4,
            "spend": Decimal(i) / 4,
            "advocate": i % 3 == 0,
            "stores": ["a.example", "b.example"],
            "email_consent": "subscribed",
            "email_consent_at": START + timedelta(minutes=i),
        },
    )


def test_a_large_batch_goes_by_bulk_api_2_field_by_field(org_server: SandboxServer) -> None:
    # given a session on the org, its fields made
    kind = kinds.get("salesforce")
    session = kind.open_session(kind.check(app_credentials(org_server), None), None)
    assert session.prepare() == []
    people = [person(i) for i in range(1, BULK_FROM + 301)]
    # when more people than BULK_FROM are upserted, then their orders
    outcome = session.upsert("contacts", people, DEFAULT_MAPPING)
    orders = [
        Record(
            10_000 + r.record_id,
            {"id": 10_000 + r.record_id, "name": f"#{r.record_id}", "created_at": START},
            r.record_id,
        )
        for r in people[:50]
    ]
    placed = session.upsert("orders", orders, DEFAULT_MAPPING)
    session.close()
    # then Bulk API 2.0 jobs carried them, and all but the refused person are there, field by field
    org = the_org(org_server)
    assert {j.object for j in org.jobs.values()} >= {"Account", "Contact"}
    assert set(outcome.refused) == {7} and "invalid email address" in outcome.refused[7]
    contacts = held(org_server, "Contact", ID_FIELD["contacts"])
    assert len(contacts) == len(people) - 1 == len(outcome.pushed)
    for r in people[:40] + people[-40:]:
        if r.record_id == 7:
            continue
        got = contacts[str(r.record_id)]
        for crm, want in values("contacts", r.fields, DEFAULT_MAPPING["contacts"]).items():
            if crm.endswith("_At__c") and want:
                assert got[crm][:23] == want[:23], crm
            elif crm in ("Connector_Advocate__c", "Connector_Inactive__c"):
                assert got[crm] is bool(want), crm
            else:
                assert got[crm] == want, (crm, got[crm], want)
    assert contacts["10"]["LastName"] == "[not provided]"
    accounts = held(org_server, "Account", ACCOUNT_ID_FIELD)
    assert "7" not in accounts and len(accounts) == len(contacts)
    # and each order names its person's Account and Contact
    assert set(placed.refused) == {10_007} and len(placed.pushed) == 49
    for key, order in held(org_server, "Order", ID_FIELD["orders"]).items():
        owner = contacts[str(int(key) - 10_000)]
        assert (order["AccountId"], order["BillToContactId"]) == (owner["AccountId"], owner["Id"])
