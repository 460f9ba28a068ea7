"""What the API and the dashboard show, as plain data: a contact list with filters and
cursor pages, a contact's 360° view, order and product pages, and the reports, all
scoped to one merchant account. Both the JSON API and the server-rendered pages call
these, so they always agree.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Response
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.engine import Connection

from connector.crm import channels, consent, insights, reengage, reports
from connector.db.models import Contact, Customer, Fulfillment, Order, OrderLineItem, Product, Store
from connector.db.people import ConsentEvent, ContactInsight, ProductSubscription
from connector.db.types import utcnow
from connector.errors import BadInput, NotFound

MAX_LIMIT = 200


def plain(value: Any) -> Any:
    """JSON-ready: times in ISO 8601, money as strings with two decimals."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Page:
    limit: int = 50
    after: int | None = None

    @classmethod
    def of(cls, args: Any) -> Page:
        try:
            limit = int(args.get("limit") or 50)
        except ValueError:
            raise BadInput("limit: a whole number from 1 to 200") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise BadInput("limit: a whole number from 1 to 200")
        return cls(limit, decode_cursor(args.get("cursor")))


def encode_cursor(last_id: int) -> str:
    """Pages are keyset pages by id: the cursor is the last id seen, to go on after."""
    return str(last_id)


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 18:
        raise BadInput("cursor: pass back the next_cursor of the previous page")
    return int(cursor)


def store_ids(conn: Connection, account_id: int) -> list[int]:
    return list(conn.execute(select(Store.id).where(Store.account_id == account_id)).scalars())


def _flag(args: Any, name: str) -> bool | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    if raw not in ("true", "false"):
        raise BadInput(f"{name}: true or false")
    return raw == "true"


def contacts(
    conn: Connection, account_id: int, args: Any, rules: insights.Rules, page: Page | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Contacts of the account matching the filters, one page, by id."""
    page = page or Page.of(args)
    now, stores = utcnow(), store_ids(conn, account_id)
    ci = ContactInsight
    where: list[Any] = [Contact.account_id == account_id, Contact.merged_into_id.is_(None)]
    query = (args.get("q") or "").strip()
    if query:
        like = f"%{query.lower()}%"
        full_name = func.coalesce(Contact.first_name, "") + " " + func.coalesce(Contact.last_name, "")
        matches = [Contact.email_normalized.like(like), func.lower(full_name).like(like)]
        digits = "".join(ch for ch in query if ch.isdigit())
        if len(digits) >= 4 and not set(query) - set("0123456789+-() ."):  # it looks like a phone
            matches.append(Contact.phone_e164.like(f"%{digits}%"))
        where.append(or_(*matches))
    mine = and_(ci.contact_id == Contact.id, ci.store_id.in_(stores))
    segment = args.get("segment")
    if segment:
        if segment not in {name for name, _rule in insights.SEGMENTS}:
            raise BadInput(f"segment: one of {', '.join(n for n, _r in insights.SEGMENTS)}")
        where.append(exists().where(mine, ci.segment == segment))
    advocate, inactive = _flag(args, "advocate"), _flag(args, "inactive")
    if advocate is not None:
        test = exists().where(mine, ci.advocate_since >= rules.advocate_after(now))
        where.append(test if advocate else ~test)
    if inactive is not None:
        recent = exists().where(mine, ci.last_order_at >= rules.inactive_before(now))
        bought = exists().where(mine)
        where.append((bought & ~recent) if inactive else recent)
    channel = args.get("channel")
    if channel:
        where.append(
            exists().where(
                Order.contact_id == Contact.id, Order.store_id.in_(stores), Order.channel == channel
            )
        )
    subscribed = _flag(args, "subscribed")
    if subscribed is not None:
        test = exists().where(
            ProductSubscription.contact_id == Contact.id,
            ProductSubscription.confirmed_at.is_not(None),
            ProductSubscription.unsubscribed_at.is_(None),
        )
        where.append(test if subscribed else ~test)
    if page.after is not None:
        where.append(Contact.id > page.after)
    rows = conn.execute(select(Contact).where(*where).order_by(Contact.id).limit(page.limit + 1)).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    summary = _summaries(conn, [r.id for r in rows], stores, rules, now)
    items = [
        {
            "id": r.id,
            "email": r.email,
            "phone": r.phone_e164,
            "first_name": r.first_name,
            "last_name": r.last_name,
            **summary.get(r.id, _no_summary()),
        }
        for r in rows
    ]
    return items, encode_cursor(rows[-1].id) if more and rows else None


CSV_FIELDS = ("id", "email", "phone", "first_name", "last_name", "orders", "spend", "segment", "advocate",
              "inactive", "last_order_at")  # fmt: skip


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run (OWASP CSV injection): text beginning with =, +, -,
    @, tab or carriage return is prefixed with a single quote; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def contacts_csv(conn: Connection, account_id: int, args: Any, rules: insights.Rules) -> str:
    """The whole filtered contact list (every page) as CSV; paging parameters are checked
    like any other, though every page is exported."""
    Page.of(args)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    page: Page | None = Page(MAX_LIMIT)
    while page is not None:
        items, cursor = contacts(conn, account_id, args, rules, page)
        for item in items:
            spend = "; ".join(f"{amount} {currency}" for currency, amount in item["spend"].items())
            writer.writerow({k: csv_cell(v) for k, v in {**item, "spend": spend}.items()})
        page = Page(MAX_LIMIT, decode_cursor(cursor)) if cursor else None
    return out.getvalue()


def csv_answer(text: str) -> Response:
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="contacts.csv"'}
    )


def _no_summary() -> dict[str, Any]:
    return {
        "orders": 0,
        "spend": {},
        "segment": None,  # in the store where they spent most
        "segments": [],  # in every store they bought from
        "advocate": False,
        "inactive": False,
        "last_order_at": None,
    }


def _summaries(
    conn: Connection, ids: list[int], stores: list[int], rules: insights.Rules, now: datetime
) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    if not ids:
        return out
    for r in conn.execute(
        select(ContactInsight)
        .where(ContactInsight.contact_id.in_(ids), ContactInsight.store_id.in_(stores))
        .order_by(ContactInsight.spend.desc())
    ):
        entry = out.setdefault(r.contact_id, _no_summary())
        entry["orders"] += r.orders
        currency = r.currency or "?"
        entry["spend"][currency] = entry["spend"].get(currency, Decimal(0)) + r.spend
        entry["segment"] = entry["segment"] or r.segment
        if r.segment and r.segment not in entry["segments"]:
            entry["segments"].append(r.segment)
        entry["advocate"] |= insights.flags(r, rules, now)["advocate"]
        entry["last_order_at"] = max(filter(None, (entry["last_order_at"], r.last_order_at)), default=None)
    for entry in out.values():
        last = entry["last_order_at"]
        entry["inactive"] = last is not None and last < rules.inactive_before(now)
    return {contact: plain(entry) for contact, entry in out.items()}


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
    now = utcnow()
    orders = conn.execute(
        select(Order)
        .where(Order.contact_id == contact_id, Order.store_id.in_(stores))
        .order_by(Order.source_created_at.desc())
        .limit(100)
    ).all()
    tracking = _tracking(conn, [(o.store_id, o.platform_id) for o in orders])
    found = conn.execute(
        select(ContactInsight).where(
            ContactInsight.contact_id == contact_id, ContactInsight.store_id.in_(stores)
        )
    ).all()
    return {
        "id": c.id,
        "email": c.email,
        "phone": c.phone_e164,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "merged_from": [m["contact_id"] for m in (c.merge_provenance or {}).get("merged", [])],
        "platform_customers": [
            {"store_id": r.store_id, "platform_id": r.platform_id, "email": r.email}
            for r in conn.execute(
                select(Customer.store_id, Customer.platform_id, Customer.email).where(
                    Customer.contact_id == contact_id, Customer.store_id.in_(stores)
                )
            )
        ],
        "consent": {ch: consent.state_of(conn, contact_id, ch) for ch in consent.CHANNELS},
        "consent_history": [
            plain({"channel": e.channel, "state": e.state, "source": e.source, "occurred_at": e.occurred_at})
            for e in conn.execute(
                select(ConsentEvent)
                .where(ConsentEvent.contact_id == contact_id)
                .order_by(ConsentEvent.occurred_at)
            )
        ],
        "orders": [
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
        ],
        "subscriptions": [
            plain(
                {
                    "store_id": s.store_id,
                    "scope": s.scope_type,
                    "value": s.scope_value,
                    "confirmed_at": s.confirmed_at,
                    "unsubscribed_at": s.unsubscribed_at,
                }
            )
            for s in conn.execute(
                select(ProductSubscription).where(ProductSubscription.contact_id == contact_id)
            )
        ],
        "insights": [
            plain(
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
            for r in found
        ],
    }


def _tracking(conn: Connection, keys: list[tuple[int, int]]) -> dict[tuple[int, int], list[dict[str, Any]]]:
    out: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for store_id in {s for s, _ in keys}:
        ids = [p for s, p in keys if s == store_id]
        for f in conn.execute(
            select(Fulfillment).where(
                Fulfillment.store_id == store_id,
                Fulfillment.order_platform_id.in_(ids),
                Fulfillment.deleted_at.is_(None),
            )
        ):
            out.setdefault((store_id, f.order_platform_id), []).append(
                plain(
                    {
                        "status": f.shipment_status or f.status,
                        "carrier": f.carrier,
                        "tracking_number": f.tracking_number,
                        "tracking_url": f.tracking_url,
                        "shipped_at": f.shipped_at,
                        "delivered_at": f.delivered_at,
                    }
                )
            )
    return out


def orders(conn: Connection, account_id: int, args: Any) -> tuple[list[dict[str, Any]], str | None]:
    page = Page.of(args)
    where: list[Any] = [Order.store_id.in_(store_ids(conn, account_id)), Order.deleted_at.is_(None)]
    if args.get("store_id"):
        where.append(Order.store_id == _int(args, "store_id"))
    if page.after is not None:
        where.append(Order.id > page.after)
    rows = conn.execute(select(Order).where(*where).order_by(Order.id).limit(page.limit + 1)).all()
    more, rows = len(rows) > page.limit, rows[: page.limit]
    return [order_summary(o) for o in rows], encode_cursor(rows[-1].id) if more and rows else None


def order_summary(o: Any) -> dict[str, Any]:
    fields = (
        "id", "store_id", "platform_id", "name", "contact_id", "email", "currency", "total_price",
        "total_refunded", "financial_status", "fulfillment_status", "channel", "utm_source", "utm_medium",
        "utm_campaign", "referrer_domain", "landing_page", "shipping_country", "shipping_region",
        "source_created_at", "cancelled_at",
    )  # fmt: skip
    return {f: plain(getattr(o, f)) for f in fields}


def order_detail(conn: Connection, account_id: int, order_id: int) -> dict[str, Any] | None:
    o = conn.execute(
        select(Order).where(Order.id == order_id, Order.store_id.in_(store_ids(conn, account_id)))
    ).first()
    if o is None:
        return None
    lines = conn.execute(
        select(OrderLineItem).where(
            OrderLineItem.store_id == o.store_id, OrderLineItem.order_platform_id == o.platform_id
        )
    ).all()
    return {
        **order_summary(o),
        "deleted_at": plain(o.deleted_at),
        "line_items": [
            plain(
                {
                    "product_id": li.product_platform_id,
                    "sku": li.sku,
                    "title": li.title,
                    "quantity": li.quantity,
                    "price": li.price,
                    "total": li.total,
                }
            )
            for li in lines
        ],
        "shipments": _tracking(conn, [(o.store_id, o.platform_id)]).get((o.store_id, o.platform_id), []),
    }


def _int(args: Any, name: str) -> int:
    try:
        value = int(args.get(name))
    except (TypeError, ValueError):
        raise BadInput(f"{name}: a whole number") from None
    if not 1 <= value <= 2**63 - 1:
        raise BadInput(f"{name}: a whole number from 1 to 2^63-1")
    return value


def _store(conn: Connection, account_id: int, args: Any) -> int:
    store_id = _int(args, "store_id")
    if store_id not in store_ids(conn, account_id):
        raise NotFound("store")
    return store_id


def products(conn: Connection, account_id: int, args: Any) -> list[dict[str, Any]]:
    store_id = _store(conn, account_id, args)
    window = _int(args, "window_days") if args.get("window_days") else 30
    if not 1 <= window <= 365:
        raise BadInput("window_days: 1 to 365")
    covers = {c.product_id: c for c in reports.inventory_cover(conn, store_id, utcnow(), window)}
    rows = conn.execute(
        select(Product).where(Product.store_id == store_id, Product.deleted_at.is_(None)).order_by(Product.id)
    ).all()
    return [
        {
            "id": p.id,
            "platform_id": p.platform_id,
            "title": p.title,
            "vendor": p.vendor,
            "product_type": p.product_type,
            "status": p.status,
            "stock": covers[p.platform_id].stock if p.platform_id in covers else None,
            "units_sold": covers[p.platform_id].units_sold if p.platform_id in covers else 0,
            "cover_days": _round(covers[p.platform_id].cover_days) if p.platform_id in covers else None,
            "low_stock": p.platform_id in covers
            and covers[p.platform_id].cover_days is not None
            and (covers[p.platform_id].cover_days or 0) < reports.LOW_STOCK_DAYS,
        }
        for p in rows
    ]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _moment(args: Any, name: str) -> datetime | None:
    """An ISO 8601 date or time from the query (UTC unless it says otherwise), or None."""
    raw = args.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadInput(f"{name}: an ISO 8601 date, e.g. 2026-01-31") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not EARLIEST <= moment <= LATEST:
        raise BadInput(f"{name}: a date from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}")
    return moment


def date_range(args: Any, default_days: int = 30) -> tuple[datetime, datetime]:
    until = _moment(args, "until") or utcnow()
    since = _moment(args, "since") or until - timedelta(days=default_days)
    if since >= until:
        raise BadInput("since: must be before until")
    return since, until


def channel_report(
    conn: Connection, account_id: int, args: Any, weights: tuple[tuple[str, float], ...]
) -> dict[str, Any]:
    since, until = date_range(args)
    rows = channels.report(conn, store_ids(conn, account_id), since, until, weights)
    return {
        "since": plain(since),
        "until": plain(until),
        "credit_formula": channels.credit_formula(weights),
        "channels": [r.as_json() for r in rows],
    }


def sales_by_region(conn: Connection, account_id: int, args: Any) -> dict[str, Any]:
    since, until = date_range(args, 90)
    period = args.get("period") or "month"
    if period not in reports.PERIODS:
        raise BadInput("period: day, week or month")
    rows = reports.sales_by_region(conn, store_ids(conn, account_id), since, until, period)
    return {"since": plain(since), "until": plain(until), "period": period, "rows": rows}


def segments(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(ContactInsight.store_id, ContactInsight.segment, func.count(), func.sum(ContactInsight.spend))
        .where(ContactInsight.store_id.in_(store_ids(conn, account_id)), ContactInsight.segment.is_not(None))
        .group_by(ContactInsight.store_id, ContactInsight.segment)
        .order_by(ContactInsight.store_id, func.count().desc())
    ).all()
    return [
        {"store_id": s, "segment": name, "contacts": n, "spend": plain(Decimal(spend or 0))}
        for s, name, n, spend in rows
    ]


def reengagement(conn: Connection, account_id: int, rules: insights.Rules) -> list[dict[str, Any]]:
    return [plain(e) for e in reengage.reengagement(conn, store_ids(conn, account_id), rules, utcnow())]
