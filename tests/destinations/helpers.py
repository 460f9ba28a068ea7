"""What the destination tests share: a destination added (or reconnected) on the rig's account as
the CLI checks it, the pushes as the worker runs them, what the account should hold there (its
live contacts' and orders' views), the changes and faults the push tests put it through, and
HubSpot's records read from the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from sqlalchemy import delete, func, insert, select, update

import destinations as kinds
from connector.accounts import destinations
from connector.crm import consent, destination_outbox, destination_views, insights, privacy
from connector.db import get_engine, session
from connector.db.models import Account, Contact, Order, OrderLineItem, Store
from connector.db.operations import DeadLetter, Destination, DestinationMark, PrivacyRequest
from platforms.entities import CORE_ENTITIES
from sync.engine import run_step
from sync.push import Summary, push
from tests.rig import Rig


def add_destination(rig: Rig, kind: str, given: dict[str, str], api_url: str | None = None) -> int:
    """A `kind` destination on the account `test`, its credentials checked with the CRM first."""
    credentials = kinds.get(kind).check(given, api_url)
    with session(rig.app) as s, s.begin():
        return destinations.add(
            s, rig.app.extensions["crm.vault"], account="test", kind=kind, credentials=credentials
        ).id


def reconnect_destination(
    rig: Rig, dest_id: int, kind: str, given: dict[str, str], api_url: str | None = None
) -> None:
    credentials = kinds.get(kind).check(given, api_url)
    with session(rig.app) as s, s.begin():
        destinations.reconnect(
            s, rig.app.extensions["crm.vault"], destinations.find(s, str(dest_id)), credentials
        )


def add_hubspot(rig: Rig, token: str | None = None) -> int:
    token = token or rig.sandbox.world.hubspot.token
    return add_destination(rig, "hubspot", {"token": token}, rig.sandbox.url + "/hubspot")


def reconnect(rig: Rig, dest_id: int) -> None:
    given = {"token": rig.sandbox.world.hubspot.token}
    reconnect_destination(rig, dest_id, "hubspot", given, rig.sandbox.url + "/hubspot")


def sync_everything(rig: Rig) -> None:
    with rig.app.app_context():
        for store in (rig.shop, rig.site):
            for entity in CORE_ENTITIES:
                assert run_step(rig.app, store.id, entity, "test-owner").outcome == "done"


def push_until_done(app: Flask, dest_id: int, tries: int = 10) -> list[Summary]:
    summaries = []
    with app.app_context():
        for _ in range(tries):
            summaries.append(push(app, dest_id))
            if summaries[-1].outcome == "done":
                return summaries
    return summaries


def faults(rig: Rig, **body: Any) -> None:
    assert (
        requests.post(rig.sandbox.url + "/hubspot/_control/faults", json=body, timeout=10).status_code == 200
    )


def held(rig: Rig, obj: str) -> dict[str, dict[str, str]]:
    """HubSpot's records of an object, by the connector's id property."""
    key = {"contacts": "connector_contact_id", "orders": "connector_order_id"}[obj]
    portal = rig.sandbox.world.hubspot
    return {r.properties[key]: {**r.properties, "hs_object_id": r.id} for r in portal.records[obj].values()}


def live_views(rig: Rig) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """Every live contact and order of the rig's account (by its name: a store may be gone), as
    the push reads them: what a destination should hold."""
    with get_engine(rig.app).connect() as conn:
        account = conn.execute(select(Account.id).where(Account.name == "test")).scalar_one()
        ids = conn.execute(
            select(Contact.id).where(Contact.account_id == account, Contact.merged_into_id.is_(None))
        ).scalars()
        order_ids = conn.execute(
            select(Order.id)
            .join(Store, Store.id == Order.store_id)
            .where(Store.account_id == account, Order.deleted_at.is_(None))
        ).scalars()
        with rig.app.app_context():
            people = destination_views.contacts(
                conn, account, list(ids), insights.Rules.of(rig.app), datetime.now(UTC)
            )
        orders = destination_views.orders(conn, account, list(order_ids))
    return {i: v for i, v in people.items() if v}, {i: v for i, v in orders.items() if v}


def pushed(rig: Rig, dest_id: int) -> int:
    """The account backfilled and pushed to the destination in full."""
    sync_everything(rig)
    assert push_until_done(rig.app, dest_id)[-1].outcome == "done"
    return dest_id


def score(rig: Rig) -> None:
    """The hourly scoring (RFM, segments, predictions) of both stores."""
    with get_engine(rig.app).begin() as conn:
        assert all(insights.score(conn, s.id) for s in (rig.shop, rig.site))


def churn(rig: Rig) -> None:
    """New, updated and deleted customers and orders in both stores, synced."""
    for platform in ("shopify", "woocommerce"):
        rig.mutate(platform, "customers", "update", 5)
        rig.mutate(platform, "orders", "create", 6)
        rig.mutate(platform, "orders", "update", 4)
    sync_everything(rig)


def marks_left(rig: Rig) -> bool:
    with get_engine(rig.app).connect() as conn:
        return conn.execute(select(DestinationMark.id)).first() is not None


def someone_with_orders(rig: Rig) -> tuple[int, str, set[str]]:
    """A contact with an e-mail and orders: their id, e-mail and orders' ids."""
    with get_engine(rig.app).connect() as conn:
        contact_id, email = conn.execute(
            select(Contact.id, Contact.email)
            .join(Order, Order.contact_id == Contact.id)
            .where(Contact.email.is_not(None))
            .limit(1)
        ).one()
        their_orders = {
            str(o) for o in conn.execute(select(Order.id).where(Order.contact_id == contact_id)).scalars()
        }
    return int(contact_id), str(email), their_orders


def forget(rig: Rig, contact_id: int) -> int:
    """The person erased, as a privacy request of their account: its receipt."""
    with get_engine(rig.app).connect() as conn:
        account = conn.execute(select(Contact.account_id).where(Contact.id == contact_id)).scalar_one()
    with rig.app.app_context(), get_engine(rig.app).begin() as conn:
        receipt = privacy.forget(
            conn,
            account,
            {contact_id},
            Path(rig.app.instance_path),
            store_id=None,
            subject={"contact": contact_id},
        )
    return int(receipt)


def receipt_result(rig: Rig, receipt: int) -> dict[str, Any]:
    with get_engine(rig.app).connect() as conn:
        result = conn.execute(select(PrivacyRequest.result).where(PrivacyRequest.id == receipt)).scalar_one()
    return dict(result)


def spoil_an_email(rig: Rig) -> tuple[int, str]:
    """A contact's e-mail made one no CRM takes: the contact's id and its e-mail before."""
    with get_engine(rig.app).begin() as conn:
        bad, good = conn.execute(
            select(Contact.id, Contact.email).where(Contact.email.is_not(None)).limit(1)
        ).one()
        conn.execute(update(Contact).where(Contact.id == bad).values(email="not an e-mail"))
    return int(bad), str(good)


def destination_letters(rig: Rig) -> list[Any]:
    """The dead letters destinations left (rows of the dead-letter table)."""
    with get_engine(rig.app).connect() as conn:
        return list(conn.execute(select(DeadLetter).where(DeadLetter.kind == "destination")).all())


def assert_optout_read(rig: Rig, dest_id: int, contact_id: int, source: str) -> Any:
    """One push reads back the e-mail opt-out made in the CRM: the ledger's refusal, from
    `source`, is returned."""
    summary = push_until_done(rig.app, dest_id)[-1]
    assert summary.optouts == 1
    with get_engine(rig.app).connect() as conn:
        event = consent.current(conn, [contact_id])[(contact_id, "email")]
    assert (event.state, event.source) == ("unsubscribed", source)
    return event


def edit_lines(rig: Rig, dest_id: int) -> int:
    """An order of a contact, with three lines or more, edited as a refund and an edit leave it:
    its first line refunded to quantity 0, its second bought twice more at a new price, its last
    removed, and one new line added; the order marked for the destination. The order's id."""
    with get_engine(rig.app).begin() as conn:
        count = func.count(OrderLineItem.id)
        store_id, platform_id = conn.execute(
            select(OrderLineItem.store_id, OrderLineItem.order_platform_id)
            .join(
                Order,
                (Order.store_id == OrderLineItem.store_id)
                & (Order.platform_id == OrderLineItem.order_platform_id),
            )
            .where(Order.contact_id.is_not(None), Order.deleted_at.is_(None))
            .group_by(OrderLineItem.store_id, OrderLineItem.order_platform_id)
            .having(count >= 3)
            .limit(1)
        ).one()
        lines = list(
            conn.execute(
                select(OrderLineItem)
                .where(OrderLineItem.store_id == store_id, OrderLineItem.order_platform_id == platform_id)
                .order_by(OrderLineItem.platform_id)
            ).all()
        )
        first, second, last = lines[0], lines[1], lines[-1]
        conn.execute(update(OrderLineItem).where(OrderLineItem.id == first.id).values(quantity=0))
        price = Decimal(second.price or 0) + Decimal("1.25")
        conn.execute(
            update(OrderLineItem)
            .where(OrderLineItem.id == second.id)
            .values(quantity=second.quantity + 2, price=price, total=price * (second.quantity + 2))
        )
        conn.execute(delete(OrderLineItem).where(OrderLineItem.id == last.id))
        conn.execute(
            insert(OrderLineItem).values(
                store_id=store_id,
                platform_id=last.platform_id + 1_000_000,
                source_updated_at=datetime.now(UTC),
                order_platform_id=platform_id,
                sku="ADDED-1",
                title="Added in an edit",
                quantity=1,
                price=Decimal("9.50"),
                total=Decimal("9.50"),
            )
        )
        order_id = conn.execute(
            select(Order.id).where(Order.store_id == store_id, Order.platform_id == platform_id)
        ).scalar_one()
        destination_outbox.mark(conn, [dest_id], "orders", [order_id])
    return int(order_id)


def make_property(rig: Rig, name: str, obj: str = "contacts") -> None:
    """What the merchant does in HubSpot first: a property of their own on `obj`."""
    portal = rig.sandbox.world.hubspot
    assert portal is not None
    group = f"{obj.removesuffix('s')}information"  # contactinformation, orderinformation
    spec = {"name": name, "label": name, "type": "string", "fieldType": "text", "groupName": group}
    answer = requests.post(
        f"{rig.sandbox.url}/hubspot/crm/v3/properties/{obj}",
        json=spec,
        headers={"Authorization": f"Bearer {portal.token}"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text


def destination_state(rig: Rig) -> tuple[str, str | None]:
    """The (only) destination's status and its reason."""
    with get_engine(rig.app).connect() as conn:
        status, reason = conn.execute(select(Destination.status, Destination.status_reason)).one()
    return str(status), reason
