"""GDPR/CCPA requests, honoured for real: export everything held on a person, erase a
person, erase a shop. Each leaves a receipt row (platform ids only, never the details).

Erasing a person removes personal data from platform records, raw payloads and the
webhook inbox, and tombstones the customer; aggregates (amounts, counts) stay.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from connector import logs
from connector.models import Customer, Order, PrivacyRequest, Store, WebhookInbox
from connector.types import utcnow

log = logs.get(__name__)
CUSTOMER_PII = {
    "email": None,
    "email_normalized": None,
    "phone": None,
    "phone_e164": None,
    "first_name": None,
    "last_name": None,
    "default_address": None,
    "raw": None,
}
ORDER_PII = {"email": None, "email_normalized": None, "phone": None, "shipping_city": None, "raw": None}


def _receipt(
    conn: Connection,
    store_id: int | None,
    shop_domain: str | None,
    kind: str,
    subject: dict[str, Any],
    result: dict[str, Any],
) -> int:
    return int(
        conn.execute(
            insert(PrivacyRequest)
            .values(
                store_id=store_id,
                shop_domain=shop_domain,
                kind=kind,
                subject=subject,
                status="done",
                result=result,
                completed_at=utcnow(),
            )
            .returning(PrivacyRequest.id)
        ).scalar_one()
    )


def _orders_of(store_id: int, customer_id: int | None, order_ids: list[int], email: str | None) -> Any:
    conditions: list[Any] = [Order.platform_id.in_(order_ids)] if order_ids else []
    if customer_id is not None:
        conditions.append(Order.customer_platform_id == customer_id)
    if email:
        conditions.append(Order.email_normalized == email.strip().lower())
    return (Order.store_id == store_id) & (or_(*conditions) if conditions else False)


def export_customer(
    conn: Connection, store_id: int, customer: dict[str, Any], order_ids: list[int], exports: Path
) -> int:
    """customers/data_request: everything held on the person, as one JSON file."""
    customer_id = customer.get("id")
    customers = [
        dict(r._mapping)
        for r in conn.execute(
            select(Customer).where(Customer.store_id == store_id, Customer.platform_id == customer_id)
        )
    ]
    orders = [
        dict(r._mapping)
        for r in conn.execute(
            select(Order).where(_orders_of(store_id, customer_id, order_ids, customer.get("email")))
        )
    ]
    exports.mkdir(parents=True, exist_ok=True)
    receipt = _receipt(
        conn,
        store_id,
        None,
        "data_request",
        {"customer_id": customer_id, "orders": order_ids},
        {"customers": len(customers), "orders": len(orders)},
    )
    path = exports / f"privacy-request-{receipt}.json"
    path.write_text(json.dumps({"customers": customers, "orders": orders}, default=str, indent=2))
    path.chmod(0o600)
    conn.execute(
        update(PrivacyRequest)
        .where(PrivacyRequest.id == receipt)
        .values(result={"customers": len(customers), "orders": len(orders), "file": str(path)})
    )
    log.info("privacy export written", extra={"store_id": store_id, "receipt": receipt})
    return receipt


def redact_customer(conn: Connection, store_id: int, customer: dict[str, Any], order_ids: list[int]) -> int:
    """customers/redact: erase the person's data; keep only what is not personal."""
    customer_id = customer.get("id")
    email, phone = customer.get("email"), customer.get("phone")
    now = utcnow()
    customers = conn.execute(
        update(Customer)
        .where(Customer.store_id == store_id, Customer.platform_id == customer_id)
        .values(**CUSTOMER_PII, deleted_at=now, content_hash="redacted")
    ).rowcount
    orders = conn.execute(
        update(Order)
        .where(_orders_of(store_id, customer_id, order_ids, email))
        .values(**ORDER_PII, content_hash="redacted")
    ).rowcount
    inbox = _purge_inbox(conn, store_id, [str(customer_id), email, phone])
    receipt = _receipt(
        conn,
        store_id,
        None,
        "customer_redact",
        {"customer_id": customer_id, "orders": order_ids},
        {"customers": customers, "orders": orders, "inbox_deliveries": inbox},
    )
    log.info("customer redacted", extra={"store_id": store_id, "receipt": receipt})
    return receipt


def _purge_inbox(conn: Connection, store_id: int, needles: list[Any]) -> int:
    """Delete stored deliveries that mention the person (their bodies hold personal data)."""
    marks = [str(n).encode() for n in needles if n]
    doomed = [
        row.id
        for row in conn.execute(
            select(WebhookInbox.id, WebhookInbox.body).where(WebhookInbox.store_id == store_id)
        )
        if any(m in row.body for m in marks)
    ]
    if doomed:
        conn.execute(delete(WebhookInbox).where(WebhookInbox.id.in_(doomed)))
    return len(doomed)


def redact_shop(conn: Connection, store_id: int, shop_domain: str) -> int:
    """shop/redact: the shop's data goes, the store row with it (every record cascades)."""
    conn.execute(delete(Store).where(Store.id == store_id))
    receipt = _receipt(
        conn, None, shop_domain, "shop_redact", {"shop_domain": shop_domain}, {"store_deleted": True}
    )
    log.info("shop redacted", extra={"receipt": receipt})
    return receipt
