"""A contact's 360° view: who they are and which platform customers they were merged from,
their consent now and its history, their latest orders with shipments, their product
subscriptions, and their insights per store, all within the merchant account's stores.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from connector.crm import consent, insights
from connector.db.models import Contact, Customer, Order, Store
from connector.db.people import ConsentEvent, ContactInsight, ProductSubscription
from connector.db.types import utcnow
from connector.web.queries.common import plain, store_ids
from connector.web.queries.orders import shipments

LATEST_ORDERS = 100


def contact_360(
    conn: Connection, account_id: int, contact_id: int, rules: insights.Rules
) -> dict[str, Any] | None:
    c = conn.execute(
        select(Contact).where(Contact.id == contact_id, Contact.account_id == account_id)
    ).first()
    if c is None:
        return None
    stores = store_ids(conn, account_id)
    domains = dict(conn.execute(select(Store.id, Store.domain).where(Store.id.in_(stores))).all())
    return {
        "id": c.id,
        "email": c.email,
        "phone": c.phone_e164,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "merged_from": [m["contact_id"] for m in (c.merge_provenance or {}).get("merged", [])],
        "platform_customers": _platform_customers(conn, contact_id, stores),
        "consent": {ch: consent.state_of(conn, contact_id, ch) for ch in consent.CHANNELS},
        "consent_history": _consent_history(conn, contact_id),
        "orders": _latest_orders(conn, contact_id, stores, domains),
        "subscriptions": _subscriptions(conn, contact_id),
        "insights": _insights(conn, contact_id, stores, domains, rules),
    }


def _platform_customers(conn: Connection, contact_id: int, stores: list[int]) -> list[dict[str, Any]]:
    return [
        {"store_id": r.store_id, "platform_id": r.platform_id, "email": r.email}
        for r in conn.execute(
            select(Customer.store_id, Customer.platform_id, Customer.email).where(
                Customer.contact_id == contact_id, Customer.store_id.in_(stores)
            )
        )
    ]


def _consent_history(conn: Connection, contact_id: int) -> list[dict[str, Any]]:
    return [
        plain({"channel": e.channel, "state": e.state, "source": e.source, "occurred_at": e.occurred_at})
        for e in conn.execute(
            select(ConsentEvent)
            .where(ConsentEvent.contact_id == contact_id)
            .order_by(ConsentEvent.occurred_at)
        )
    ]


def _latest_orders(
    conn: Connection, contact_id: int, stores: list[int], domains: dict[int, str]
) -> list[dict[str, Any]]:
    orders = conn.execute(
        select(Order)
        .where(Order.contact_id == contact_id, Order.store_id.in_(stores))
        .order_by(Order.source_created_at.desc())
        .limit(LATEST_ORDERS)
    ).all()
    tracking = shipments(conn, [(o.store_id, o.platform_id) for o in orders])
    return [
        plain(
            {
                "id": o.id,
                "store_id": o.store_id,
                "store": domains.get(o.store_id),
                "name": o.name,
                "created_at": o.source_created_at,
                "total": o.total_price,
                "currency": o.currency,
                "channel": o.channel,
                "financial_status": o.financial_status,
                "fulfillment_status": o.fulfillment_status,
                "shipments": tracking.get((o.store_id, o.platform_id), []),
            }
        )
        for o in orders
    ]


def _subscriptions(conn: Connection, contact_id: int) -> list[dict[str, Any]]:
    return [
        plain(
            {
                "store_id": s.store_id,
                "scope": s.scope_type,
                "value": s.scope_value,
                "confirmed_at": s.confirmed_at,
                "unsubscribed_at": s.unsubscribed_at,
            }
        )
        for s in conn.execute(select(ProductSubscription).where(ProductSubscription.contact_id == contact_id))
    ]


def _insights(
    conn: Connection, contact_id: int, stores: list[int], domains: dict[int, str], rules: insights.Rules
) -> list[dict[str, Any]]:
    found = conn.execute(
        select(ContactInsight).where(
            ContactInsight.contact_id == contact_id, ContactInsight.store_id.in_(stores)
        )
    ).all()
    now = utcnow()
    return [_insight(r, domains, rules, now) for r in found]


def _insight(r: Any, domains: dict[int, str], rules: insights.Rules, now: datetime) -> dict[str, Any]:
    return plain(
        {
            "store_id": r.store_id,
            "store": domains.get(r.store_id),
            "orders": r.orders,
            "spend": r.spend,
            "currency": r.currency,
            "first_order_at": r.first_order_at,
            "last_order_at": r.last_order_at,
            "average_order_value": (r.spend / r.orders) if r.orders else None,
            "rfm": [r.rfm_r, r.rfm_f, r.rfm_m] if r.rfm_r else None,
            "segment": r.segment,
            "predicted_value": r.predicted_value,
            "prediction": r.prediction,
            "platform_spend_tier": r.platform_spend_tier,
            "platform_rfm_group": r.platform_rfm_group,
            **insights.flags(r, rules, now),
        }
    )
