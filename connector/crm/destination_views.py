"""What goes to a destination, read from the store: each contact of the account as one
neutral record (name, e-mail, phone, address, consent per channel with its time, RFM and
segment, predicted value with its explanation, flags, first and last order, orders, spend,
first channel, stores and platforms, product subscriptions) and each order with its line
items. A contact merged away, erased, of another account, or known from no store any more (no
customer, order, checkout or subscription left: its only store was removed) is None: the
destination drops it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.engine import Connection

from connector.crm import consent, insights
from connector.db.id_sets import among
from connector.db.models import Checkout, Contact, Customer, Order, OrderLineItem, Store
from connector.db.people import ContactInsight, ProductSubscription

CONTACT_COLUMNS = (
    Contact.id,
    Contact.email,
    Contact.first_name,
    Contact.last_name,
    Contact.phone_e164,
    Contact.merge_provenance,
)
NO_ORDERS = {"orders": 0, "spend": Decimal("0")}  # a contact without insights (spread, never changed)
ADDRESS_KEYS = {
    "address": ("address1", "address_1", "street"),
    "city": ("city",),
    "zip": ("zip", "postcode"),
    "country": ("country_code", "country"),
}


def contacts(
    conn: Connection, account_id: int, ids: list[int], rules: insights.Rules, now: datetime
) -> dict[int, dict[str, Any] | None]:
    found: dict[int, dict[str, Any] | None] = dict.fromkeys(ids)
    rows = conn.execute(
        select(*CONTACT_COLUMNS).where(
            among(conn, Contact.id, ids),
            Contact.account_id == account_id,
            Contact.merged_into_id.is_(None),
            _known(),
        )
    ).all()
    live = [r for r in rows if not (r.merge_provenance or {}).get("redacted_at")]
    if not live:
        return found
    ours = [c.id for c in live]
    latest = consent.current(conn, ours)
    standing = _standing(conn, ours, rules, now)
    places = _places(conn, ours)
    subscribed = _subscriptions(conn, ours)
    for c in live:
        email, sms = latest.get((c.id, "email")), latest.get((c.id, "sms"))
        found[c.id] = {
            "id": c.id,
            "email": c.email,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "phone_e164": c.phone_e164,
            **places.get(c.id, {}),
            "email_consent": email.state if email else None,
            "email_consent_at": email.occurred_at if email else None,
            "sms_consent": sms.state if sms else None,
            "sms_consent_at": sms.occurred_at if sms else None,
            **standing.get(c.id, NO_ORDERS),
            "subscriptions": subscribed.get(c.id, []),
        }
    return found


def _known() -> ColumnElement[bool]:
    """The contact is one some store still knows: a customer, order, checkout or subscription
    of theirs (an EXISTS per table, each on its contact_id index)."""
    return or_(
        *(
            exists().where(model.contact_id == Contact.id)
            for model in (Customer, Order, Checkout, ProductSubscription)
        )
    )


def _standing(
    conn: Connection, ids: list[int], rules: insights.Rules, now: datetime
) -> dict[int, dict[str, Any]]:
    """A contact's insights across its stores: sums and extremes, and the newest store's scores."""
    per: dict[int, list[Any]] = defaultdict(list)
    for r in conn.execute(select(ContactInsight).where(among(conn, ContactInsight.contact_id, ids))).all():
        per[r.contact_id].append(r)
    firsts = _first_channels(conn, ids)
    out = {}
    for contact_id, rows in per.items():
        newest = max(rows, key=lambda r: (r.last_order_at is not None, r.last_order_at or now))
        scored = newest.rfm_r is not None
        flags = [insights.flags(r, rules, now) for r in rows]
        out[contact_id] = {
            "orders": sum(r.orders for r in rows),
            "spend": sum((r.spend for r in rows), Decimal("0")),
            "first_order_at": min((r.first_order_at for r in rows if r.first_order_at), default=None),
            "last_order_at": max((r.last_order_at for r in rows if r.last_order_at), default=None),
            "rfm": f"{newest.rfm_r}{newest.rfm_f}{newest.rfm_m}" if scored else None,
            "segment": newest.segment,
            "predicted_value": newest.predicted_value,
            "prediction": newest.prediction,
            "advocate": any(f["advocate"] for f in flags),
            "inactive": all(f["inactive"] for f in flags),
            "first_channel": firsts.get(contact_id),
        }
    return out


def _first_channels(conn: Connection, ids: list[int]) -> dict[int, str | None]:
    rows = conn.execute(
        select(Order.contact_id, Order.channel)
        .where(among(conn, Order.contact_id, ids), Order.deleted_at.is_(None))
        .order_by(Order.contact_id, Order.source_created_at.desc(), Order.id.desc())
    ).all()
    return {c: channel for c, channel in rows if c is not None}  # the last one seen is the earliest


def _places(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Stores and platforms a contact buys from, and the newest customer record's address."""
    rows = conn.execute(
        select(Customer.contact_id, Customer.default_address, Store.domain, Store.platform)
        .join(Store, Store.id == Customer.store_id)
        .where(among(conn, Customer.contact_id, ids), Customer.deleted_at.is_(None))
        .order_by(Customer.source_updated_at, Customer.id)  # ties (one person's stores) broken alike
    ).all()
    out: dict[int, dict[str, Any]] = {}
    for contact_id, address, domain, platform in rows:
        place = out.get(contact_id)
        if place is None:
            place = out[contact_id] = {"stores": {domain}, "platforms": {platform}}
        else:
            place["stores"].add(domain)
            place["platforms"].add(platform)
        if isinstance(address, dict):
            place |= {k: _first(address, keys) for k, keys in ADDRESS_KEYS.items()}
    for place in out.values():
        place["stores"], place["platforms"] = sorted(place["stores"]), sorted(place["platforms"])
    return out


def _first(address: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((address[k] for k in keys if address.get(k)), None)


def _subscriptions(conn: Connection, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for s in conn.execute(
        select(ProductSubscription)
        .where(
            among(conn, ProductSubscription.contact_id, ids), ProductSubscription.unsubscribed_at.is_(None)
        )
        .order_by(ProductSubscription.id)
    ).all():
        out[s.contact_id].append(f"{s.scope_type}:{s.scope_value}" if s.scope_value else s.scope_type)
    return out


def orders(conn: Connection, account_id: int, ids: list[int]) -> dict[int, dict[str, Any] | None]:
    """Each order with its line items; one deleted, of an erased person or another account is None."""
    found: dict[int, dict[str, Any] | None] = dict.fromkeys(ids)
    rows = conn.execute(
        select(Order, Store.domain.label("store_domain"), Contact.merge_provenance.label("redaction"))
        .join(Store, Store.id == Order.store_id)
        .outerjoin(Contact, Contact.id == Order.contact_id)
        .where(among(conn, Order.id, ids), Store.account_id == account_id, Order.deleted_at.is_(None))
    ).all()
    live = [(o, o.store_domain) for o in rows if not (o.redaction or {}).get("redacted_at")]
    items, lines = _line_items(conn, [(o.store_id, o.platform_id) for o, _d in live])
    for o, domain in live:
        found[o.id] = {
            "id": o.id,
            **{k: getattr(o, k) for k in ORDER_FIELDS},
            "created_at": o.source_created_at,
            "store": domain,
            "contact_id": o.contact_id,
            "line_items": items.get((o.store_id, o.platform_id), []),
            "lines": lines.get((o.store_id, o.platform_id), []),
        }
    return found


ORDER_FIELDS = (
    "name",
    "currency",
    "subtotal",
    "total_tax",
    "total_discounts",
    "total_shipping",
    "total_price",
    "total_refunded",
    "fulfillment_status",
    "financial_status",
    "shipping_city",
    "shipping_region",
    "shipping_country",
    "channel",
)


def _line_items(
    conn: Connection, keys: list[tuple[int, int]]
) -> tuple[dict[tuple[int, int], list[str]], dict[tuple[int, int], list[dict[str, Any]]]]:
    """Per order, its lines as `quantity x title (sku)` (Zoho's Connector_Line_Items text), and
    the same lines as the connector's line id, quantity, title, sku, unit price and total (the
    CRMs' own line objects: HubSpot line items, Salesforce OrderItems, Zoho Ordered_Items)."""
    out: dict[tuple[int, int], list[str]] = defaultdict(list)
    lines: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for store_id in {s for s, _p in keys}:
        wanted = [p for s, p in keys if s == store_id]
        for li in conn.execute(
            select(OrderLineItem)
            .where(OrderLineItem.store_id == store_id, OrderLineItem.order_platform_id.in_(wanted))
            .order_by(OrderLineItem.order_platform_id, OrderLineItem.platform_id)
        ).all():
            sku = f" ({li.sku})" if li.sku else ""
            out[(store_id, li.order_platform_id)].append(f"{li.quantity} x {li.title or ''}{sku}")
            line = {
                "id": li.id,
                "quantity": li.quantity,
                "title": li.title,
                "sku": li.sku,
                "price": li.price,
                "total": li.total if li.total is not None else _times(li.price, li.quantity),
            }
            lines[(store_id, li.order_platform_id)].append(line)
    return out, lines


def _times(price: Decimal | None, quantity: int | None) -> Decimal | None:
    return None if price is None else price * (quantity or 0)
