"""The Overview read model: for a period (`period`) and the one before it, per currency
(an account's stores may sell in several, never added together) revenue, orders, average
order value and refunds; new and returning customers and the repeat rate; revenue over time
by channel and new vs returning over time; top products and regions; one line of sync
health per store. Orders count as in the channel report (live, not cancelled, net of refunds).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from connector.accounts.stores import describe
from connector.crm.insights import counted, net_total
from connector.db.models import Order, OrderLineItem, Refund, Store
from connector.db.types import Money, utcnow
from connector.web.queries.common import plain, store_ids
from connector.web.queries.period import Period, bucket_key, bucket_labels, period_of

CENT = Decimal("0.01")
TOP = 5


def overview(session: Session, account_id: int, args: Any) -> dict[str, Any]:
    """Everything the Overview page shows, JSON-ready (the API answers with the same)."""
    conn = session.connection()
    now = period_of(args, utcnow().date())
    ids = store_ids(conn, account_id)
    orders, before = _orders(conn, ids, now), _orders(conn, ids, now.previous())
    histories = _histories(conn, ids, (now.until, now.previous().until))
    return {
        "period": now.as_json(),
        "money": _money(orders, before, _refunds(conn, ids, now), _refunds(conn, ids, now.previous())),
        "customers": _customers(now, orders, before, histories),
        "revenue_by_channel": _revenue_by_channel(now, orders),
        "new_vs_returning": _new_vs_returning(now, orders, histories),
        "top_products": _top_products(conn, ids, now),
        "top_regions": _top_regions(orders),
        "stores": _store_lines(session, ids),
    }


def _orders(conn: Connection, ids: list[int], period: Period) -> list[Any]:
    o = Order.__table__
    return list(
        conn.execute(
            select(
                o.c.source_created_at.label("at"),
                func.coalesce(o.c.channel, "api_other").label("channel"),
                o.c.currency,
                net_total(o).label("net"),
                o.c.contact_id,
                o.c.shipping_country.label("country"),
                o.c.shipping_region.label("region"),
            ).where(
                o.c.store_id.in_(ids),
                counted(o),
                o.c.source_created_at >= period.since,
                o.c.source_created_at < period.until,
            )
        )
    )


def _refunds(conn: Connection, ids: list[int], period: Period) -> dict[str | None, Decimal]:
    r = Refund.__table__
    rows = conn.execute(
        select(r.c.currency, type_coerce(func.sum(func.coalesce(r.c.amount, 0)), Money()))
        .where(
            r.c.store_id.in_(ids),
            r.c.deleted_at.is_(None),
            r.c.refunded_at >= period.since,
            r.c.refunded_at < period.until,
        )
        .group_by(r.c.currency)
    )
    return {currency: Decimal(total or 0) for currency, total in rows}


def _histories(conn: Connection, ids: list[int], ends: tuple[Any, ...]) -> dict[int, tuple[Any, ...]]:
    """Per contact of these stores: their first counted order's time, and how many counted
    orders they had placed before each of `ends` (one pass over the stores' orders)."""
    o = Order.__table__
    before = [func.sum(case((o.c.source_created_at < end, 1), else_=0)) for end in ends]
    rows = conn.execute(
        select(o.c.contact_id, func.min(o.c.source_created_at), *before)
        .where(o.c.store_id.in_(ids), counted(o), o.c.contact_id.is_not(None))
        .group_by(o.c.contact_id)
    )
    return {row[0]: (_aware(row[1]), *(int(n or 0) for n in row[2:])) for row in rows}


def change(now: Any, before: Any) -> dict[str, Any]:
    """A figure, the previous period's, and the change as a fraction (None: nothing before)."""
    value, previous = Decimal(str(now or 0)), Decimal(str(before or 0))
    moved = float((value - previous) / previous) if previous else None
    return {"value": plain(now), "previous": plain(before), "change": moved}


def _money(
    orders: list[Any], before: list[Any], refunds: dict[Any, Decimal], refunded_before: dict[Any, Decimal]
) -> list[dict[str, Any]]:
    sums = {"now": _sums(orders), "before": _sums(before)}
    currencies = sorted(set(sums["now"]) | set(sums["before"]) | set(refunds) | set(refunded_before), key=str)
    rows = []
    for currency in currencies:
        (n_orders, revenue), (b_orders, b_revenue) = (
            sums["now"].get(currency, (0, Decimal(0))),
            sums["before"].get(currency, (0, Decimal(0))),
        )
        rows.append(
            {
                "currency": currency,
                "revenue": change(revenue.quantize(CENT), b_revenue.quantize(CENT)),
                "orders": change(n_orders, b_orders),
                "average_order_value": change(_mean(revenue, n_orders), _mean(b_revenue, b_orders)),
                "refunds": change(
                    refunds.get(currency, Decimal(0)).quantize(CENT),
                    refunded_before.get(currency, Decimal(0)).quantize(CENT),
                ),
            }
        )
    return sorted(rows, key=lambda r: -Decimal(r["revenue"]["value"]))


def _sums(orders: list[Any]) -> dict[Any, tuple[int, Decimal]]:
    out: dict[Any, tuple[int, Decimal]] = {}
    for o in orders:
        n, total = out.get(o.currency, (0, Decimal(0)))
        out[o.currency] = (n + 1, total + Decimal(o.net or 0))
    return out


def _mean(total: Decimal, n: int) -> Decimal:
    return (total / n).quantize(CENT) if n else Decimal("0.00")


def _customers(
    now: Period, orders: list[Any], before: list[Any], histories: dict[int, tuple[Any, ...]]
) -> dict[str, Any]:
    """New customers: their first order in these stores falls in the period; returning: they
    bought in the period and before it; repeat rate: the share of the period's customers with
    two counted orders or more by the period's end."""
    figures: dict[str, tuple[int, int, float | None]] = {}
    for end, period, rows in ((1, now, orders), (2, now.previous(), before)):
        people = {o.contact_id for o in rows if o.contact_id in histories}
        fresh = {c for c in people if histories[c][0] >= period.since}
        repeat = sum(1 for c in people if histories[c][end] > 1)
        figures[period.preset] = (len(fresh), len(people - fresh), repeat / len(people) if people else None)
    (new, returning, rate), (b_new, b_returning, b_rate) = figures[now.preset], figures["previous"]
    return {
        "customers": change(new + returning, b_new + b_returning),
        "new": change(new, b_new),
        "returning": change(returning, b_returning),
        "repeat_rate": {
            "value": rate,
            "previous": b_rate,
            "change": (rate - b_rate) if rate is not None and b_rate is not None else None,
        },
    }


def _aware(at: Any) -> Any:
    """SQLite hands times back without their zone: they are UTC."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _revenue_by_channel(period: Period, orders: list[Any]) -> list[dict[str, Any]]:
    """Per currency: the buckets, and each channel's net revenue in every bucket."""
    labels = bucket_labels(period)
    place = {label: i for i, label in enumerate(labels)}
    grid: dict[Any, dict[str, list[Decimal]]] = defaultdict(dict)
    for o in orders:
        row = grid[o.currency].setdefault(o.channel, [Decimal(0)] * len(labels))
        row[place[bucket_key(period.bucket, _aware(o.at))]] += Decimal(o.net or 0)
    return [
        {
            "currency": currency,
            "labels": labels,
            "channels": [
                {"channel": ch, "values": [plain(v.quantize(CENT)) for v in values]}
                for ch, values in sorted(by_channel.items(), key=lambda kv: -sum(kv[1]))
            ],
        }
        for currency, by_channel in sorted(grid.items(), key=lambda kv: str(kv[0]))
    ]


def _new_vs_returning(
    period: Period, orders: list[Any], histories: dict[int, tuple[Any, ...]]
) -> dict[str, Any]:
    """Per bucket: customers whose first order is in it (new) and the others who bought in it."""
    labels = bucket_labels(period)
    seen: dict[str, set[int]] = defaultdict(set)
    for o in orders:
        if o.contact_id is not None:
            seen[bucket_key(period.bucket, _aware(o.at))].add(o.contact_id)
    new, returning = [], []
    for label in labels:
        people = seen.get(label, set())
        fresh = {c for c in people if c in histories and bucket_key(period.bucket, histories[c][0]) == label}
        new.append(len(fresh))
        returning.append(len(people - fresh))
    return {"labels": labels, "new": new, "returning": returning}


def _top_products(conn: Connection, ids: list[int], period: Period) -> list[dict[str, Any]]:
    o, li = Order.__table__, OrderLineItem.__table__
    revenue = type_coerce(func.sum(func.coalesce(li.c.total, li.c.price * li.c.quantity)), Money())
    key = (li.c.store_id, li.c.product_platform_id, o.c.currency)
    rows = conn.execute(
        select(*key, func.max(li.c.title), func.sum(li.c.quantity), revenue)
        .select_from(
            li.join(o, and_(o.c.store_id == li.c.store_id, o.c.platform_id == li.c.order_platform_id))
        )
        .where(
            li.c.store_id.in_(ids),
            li.c.deleted_at.is_(None),
            counted(o),
            o.c.source_created_at >= period.since,
            o.c.source_created_at < period.until,
        )
        .group_by(*key)
    ).all()
    ranked = sorted(rows, key=lambda r: (str(r[2]), -Decimal(r[5] or 0), str(r[3])))
    out: list[dict[str, Any]] = []
    for store_id, product_id, currency, title, units, total in ranked:
        if sum(1 for p in out if p["currency"] == currency) < TOP:
            out.append(
                {
                    "store_id": store_id,
                    "product_id": product_id,
                    "title": title,
                    "currency": currency,
                    "units": int(units or 0),
                    "revenue": plain(Decimal(total or 0).quantize(CENT)),
                }
            )
    return out


def _top_regions(orders: list[Any]) -> list[dict[str, Any]]:
    sums: dict[tuple[Any, Any, Any], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for o in orders:
        entry = sums[(o.currency, o.country, o.region)]
        entry[0] += 1
        entry[1] += Decimal(o.net or 0)
    ranked = sorted(sums.items(), key=lambda kv: (str(kv[0][0]), -kv[1][1], str(kv[0][1:])))
    out: list[dict[str, Any]] = []
    for (currency, country, region), (n, total) in ranked:
        if sum(1 for r in out if r["currency"] == currency) < TOP:
            out.append(
                {
                    "currency": currency,
                    "country": country,
                    "region": region,
                    "orders": n,
                    "revenue": plain(total.quantize(CENT)),
                }
            )
    return out


def _store_lines(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """One line per store: its badge and reason, and its last finished sync."""
    stores = list(session.scalars(select(Store).where(Store.id.in_(ids)).order_by(Store.id)))
    lines = []
    for row in describe(session, stores):
        synced = [e["last_synced_at"] for e in row["entities"].values() if e["last_synced_at"]]
        lines.append(
            {
                "id": row["id"],
                "platform": row["platform"],
                "domain": row["domain"],
                "health": row["health"],
                "last_synced_at": max(synced) if synced else None,
            }
        )
    return lines
