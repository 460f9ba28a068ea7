""" "Notify me about new products": subscriptions with double opt-in, and the matching of
newly published products to them.

A subscription has a scope (the whole store, a collection or category, a tag, a vendor
or brand, a product type) and is pending until the person follows the link e-mailed to
them; confirming records a grant in the consent ledger. A product published after a
subscription was confirmed, and matching its scope, puts one message per contact and
product in the outbox (its dedup key makes that hold however often the product is
synced or delivered), and only for contacts whose current e-mail consent is a grant.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from connector.crm import consent, destination_outbox
from connector.db.models import Contact, Store
from connector.db.operations import NotificationOutbox
from connector.db.people import ProductSubscription
from connector.db.types import utcnow
from connector.db.upsert import dialect_insert
from connector.errors import BadInput
from platforms.base import normalize_email

LIVE = (None, "active", "publish")  # product statuses a customer can see
SCOPES = ("store", "collection", "tag", "vendor", "product_type")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def subscribe(conn: Connection, store: Any, email: str, scope: str, value: str | None) -> tuple[Any, bool]:
    """A pending subscription (or the existing one for the same person and scope) and
    whether a confirmation must be sent. Bad input raises BadInput and writes nothing."""
    address = (email or "").strip()
    if not EMAIL.match(address) or len(address) > 320:
        raise BadInput("email: give a valid e-mail address")
    if scope not in SCOPES:
        raise BadInput(f"scope: one of {', '.join(SCOPES)}")
    value = (value or "").strip() or None
    if scope != "store" and not value:
        raise BadInput(f"value: name the {scope.replace('_', ' ')} to follow")
    if value and len(value) > 255:
        raise BadInput("value: at most 255 characters")
    contact_id = _contact_for(conn, store.account_id, address)
    existing = conn.execute(
        select(ProductSubscription).where(
            ProductSubscription.store_id == store.id,
            ProductSubscription.contact_id == contact_id,
            ProductSubscription.scope_type == scope,
            ProductSubscription.scope_value.is_(None)
            if value is None
            else ProductSubscription.scope_value == value,
            ProductSubscription.unsubscribed_at.is_(None),
        )
    ).first()
    if existing is not None:
        return existing, existing.confirmed_at is None
    row = {
        "store_id": store.id,
        "contact_id": contact_id,
        "scope_type": scope,
        "scope_value": value,
        "channel": "email",
        "token": secrets.token_urlsafe(24),
        "source": "form",
    }
    made = conn.execute(insert(ProductSubscription).values(**row).returning(ProductSubscription)).one()
    destination_outbox.mark_contacts(conn, [contact_id])  # a new contact, or a new subscription
    return made, True


def _contact_for(conn: Connection, account_id: int, email: str) -> int:
    key = normalize_email(email)
    found = conn.execute(
        select(Contact.id).where(
            Contact.account_id == account_id,
            Contact.email_normalized == key,
            Contact.merged_into_id.is_(None),
        )
    ).scalar()
    if found is not None:
        return int(found)
    values = {"account_id": account_id, "email": email, "email_normalized": key}
    return int(conn.execute(insert(Contact).values(**values).returning(Contact.id)).scalar_one())


def queue_confirmation(conn: Connection, subscription: Any, store: Any, confirm_url: str) -> None:
    recipient = conn.execute(select(Contact.email).where(Contact.id == subscription.contact_id)).scalar_one()
    what = describe(subscription.scope_type, subscription.scope_value)
    _queue(
        conn,
        {
            "store_id": store.id,
            "contact_id": subscription.contact_id,
            "subscription_id": subscription.id,
            "kind": "confirm",
            "dedup_key": f"confirm:{subscription.id}",
            "recipient": recipient,
            "subject": f"Confirm: tell me about new products ({what})",
            "body": (
                f"Someone, hopefully you, asked {store.name or store.domain} to e-mail this address "
                f"about new products ({what}).\n\nConfirm here: {confirm_url}\n\nIf it was not you, "
                "ignore this message: nothing will be sent."
            ),
        },
    )


def confirm(conn: Connection, token: str) -> Any:
    """Confirm a subscription by its token; records the grant. None if the token is unknown."""
    sub = conn.execute(select(ProductSubscription).where(ProductSubscription.token == token)).first()
    if sub is None or sub.unsubscribed_at is not None:
        return None
    if sub.confirmed_at is None:
        now = utcnow()
        conn.execute(
            update(ProductSubscription).where(ProductSubscription.id == sub.id).values(confirmed_at=now)
        )
        claim = consent.Claim(sub.contact_id, sub.store_id, "email", consent.GRANT, "form", now, now)
        consent.record(conn, [claim])
        destination_outbox.mark_contacts(conn, [sub.contact_id])
    return sub


def unsubscribe(conn: Connection, subscription_id: int) -> Any:
    """Stop a subscription and record the refusal; pending messages to the person are dropped."""
    sub = conn.execute(select(ProductSubscription).where(ProductSubscription.id == subscription_id)).first()
    if sub is None:
        return None
    now = utcnow()
    conn.execute(
        update(ProductSubscription)
        .where(ProductSubscription.id == sub.id, ProductSubscription.unsubscribed_at.is_(None))
        .values(unsubscribed_at=now)
    )
    claim = consent.Claim(
        sub.contact_id, sub.store_id, "email", consent.REFUSAL, "unsubscribe_link", now, now
    )
    consent.record(conn, [claim])
    destination_outbox.mark_contacts(conn, [sub.contact_id])
    conn.execute(
        update(NotificationOutbox)
        .where(NotificationOutbox.contact_id == sub.contact_id, NotificationOutbox.status == "pending")
        .values(status="cancelled", last_error="the person unsubscribed")
    )
    return sub


def describe(scope: str, value: str | None) -> str:
    return "everything new" if scope == "store" else f"{scope.replace('_', ' ')} {value}"


def matches(sub: Any, product: dict[str, Any]) -> bool:
    value = (sub.scope_value or "").casefold()
    if sub.scope_type == "store":
        return True
    if sub.scope_type == "tag":
        return value in {t.strip().casefold() for t in (product.get("tags") or "").split(",")}
    if sub.scope_type == "collection":
        groups = (product.get("collections") or {}).values()  # Shopify collections, WooCommerce categories
        return value in {str(n).casefold() for names in groups for n in names or []}
    return value == str(product.get(sub.scope_type) or "").casefold()


def notify_new_products(conn: Connection, store_id: int, products: list[dict[str, Any]]) -> int:
    """Outbox messages for the published products of a batch; returns how many were new."""
    published = [
        p
        for p in products
        if p.get("published_at") is not None and p.get("status") in LIVE and not p.get("deleted_at")
    ]
    if not published:
        return 0
    subs = conn.execute(
        select(ProductSubscription.__table__, Contact.email.label("recipient"))
        .join(Contact, Contact.id == ProductSubscription.contact_id)
        .where(
            ProductSubscription.store_id == store_id,
            ProductSubscription.confirmed_at.is_not(None),
            ProductSubscription.unsubscribed_at.is_(None),
        )
    ).all()
    if not subs:
        return 0
    allowed = consent.consented(conn, {s.contact_id for s in subs})
    store = conn.execute(select(Store.name, Store.domain).where(Store.id == store_id)).one()
    domain = store.name or store.domain  # the name the store gave itself, else its address
    added = 0
    for product in published:
        for sub in subs:
            confirmed = sub.confirmed_at.replace(microsecond=0)  # platform times have whole seconds
            if sub.contact_id not in allowed or not sub.recipient or confirmed > product["published_at"]:
                continue
            if matches(sub, product):
                added += _queue(conn, _product_message(store_id, domain, sub, sub.recipient, product))
    return added


def _product_message(
    store_id: int, domain: str, sub: Any, email: str, product: dict[str, Any]
) -> dict[str, Any]:
    title = product.get("title") or "A new product"
    return {
        "store_id": store_id,
        "contact_id": sub.contact_id,
        "subscription_id": sub.id,
        "kind": "product",
        "dedup_key": f"product:{store_id}:{product['platform_id']}:{sub.contact_id}:email",
        "product_platform_id": product["platform_id"],
        "recipient": email,
        "subject": f"New at {domain}: {title}",
        "body": (
            f"{title} is new at {domain}"
            + (f" (from {product['vendor']})" if product.get("vendor") else "")
            + f".\n\nYou asked to hear about {describe(sub.scope_type, sub.scope_value)}."
        ),
    }


def _queue(conn: Connection, message: dict[str, Any]) -> int:
    stmt = dialect_insert(conn, NotificationOutbox.__table__).values(
        **message, channel="email", status="pending", attempts=0, created_at=utcnow()
    )
    return int(conn.execute(stmt.on_conflict_do_nothing(index_elements=["dedup_key"])).rowcount or 0)
