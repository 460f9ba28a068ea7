"""What the Zoho destination tests share: a Zoho destination on the rig's account (checked as
`add-zoho` checks it), the sandbox's Zoho faults, and what the sandbox's org holds, by the
connector's ids, compared field by field with what the store says should be there."""

from __future__ import annotations

from typing import Any

import requests

from destinations.zoho.mapper import DEFAULT_MAPPING, ID_FIELD, ordered_items, values
from sandbox.zoho.org import ZohoOrg
from tests.destinations.helpers import add_destination, live_views
from tests.rig import Rig


def org(rig: Rig) -> ZohoOrg:
    found = rig.sandbox.world.zoho
    assert found is not None
    return found


def grant(rig: Rig, **changes: str) -> dict[str, str]:
    z = rig.sandbox.world.manifest()["zoho"]
    given = {k: z[k] for k in ("client_id", "client_secret", "refresh_token", "accounts_url")}
    return given | changes


def add_zoho(rig: Rig) -> int:
    return add_destination(rig, "zoho", grant(rig))


def control(rig: Rig, what: str, body: dict[str, Any] | None = None) -> Any:
    answer = requests.post(f"{rig.sandbox.url}/_sandbox/crm/zoho/{what}", json=body or {}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def held(rig: Rig, obj: str) -> dict[str, dict[str, Any]]:
    """Zoho's records of an object (Contacts, Sales_Orders), by the connector's id field."""
    module = {"contacts": "Contacts", "orders": "Sales_Orders"}[obj]
    rows = org(rig).records[module].values()
    return {str(r.values.get(ID_FIELD[obj])): r.values | {"id": r.id} for r in rows}


def assert_zoho_matches(rig: Rig) -> None:
    """Zoho holds exactly the account's contacts and orders, each mapped field equal, each order's
    lines (product, quantity, price) and its contact right."""
    people, orders = live_views(rig)
    contacts, sales_orders = held(rig, "contacts"), held(rig, "orders")
    assert set(contacts) == {str(i) for i in people}
    assert set(sales_orders) == {str(i) for i in orders}
    for i, view in people.items():
        want = values(view, DEFAULT_MAPPING["contacts"])
        assert {f: contacts[str(i)].get(f) for f in want} == want, i
    zoho_contact = {c["id"]: key for key, c in contacts.items()}
    names = {str(p.values["Product_Name"]).lower(): p.id for p in org(rig).records["Products"].values()}
    for i, view in orders.items():
        got = sales_orders[str(i)]
        want = values(view, DEFAULT_MAPPING["orders"])
        assert {f: got.get(f) for f in want} == want, i
        lines = [
            (line["Product_Name"]["id"], line["Quantity"], line["List_Price"])
            for line in ordered_items(view, names)
        ]
        assert [
            (x["Product_Name"]["id"], x["Quantity"], x["List_Price"]) for x in got["Ordered_Items"]
        ] == lines
        person = (got.get("Contact_Name") or {}).get("id")
        assert (zoho_contact.get(person) if person else None) == (
            str(view["contact_id"]) if view["contact_id"] else None
        ), i
