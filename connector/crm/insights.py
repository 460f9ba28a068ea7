"""Insights per contact and store: orders, spend, first and last order, average order
value, the inactive and advocate flags, RFM scores with a named segment, and a predicted
12-month value with its one-line explanation.

`refresh` recomputes the aggregates of only the contacts a batch touched, from their own
orders (an indexed read), so applying N orders costs time in N, not in the store's size.
`score` ranks one store's contacts into RFM quintiles and predicts value; it runs per
store on a schedule (`score_all`), since quintiles move with the whole store.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import and_, bindparam, delete, func, select, type_coerce, update
from sqlalchemy.engine import Connection

from connector import logs
from connector.config import declared_default
from connector.context import settings_of
from connector.crm import destination_outbox
from connector.db import get_engine
from connector.db.models import Customer, Order, Store
from connector.db.people import ContactInsight
from connector.db.types import Money, utcnow
from connector.db.upsert import dialect_insert
from platforms.base import batched

log = logs.get(__name__)
CENT = Decimal("0.01")
# (name, rule on R score, combined F+M score, order count); the first that holds names the segment
SEGMENTS: tuple[tuple[str, Any], ...] = (
    ("champions", lambda r, fm, n: r >= 4 and fm >= 4),
    ("new_customers", lambda r, fm, n: r >= 4 and n == 1),
    ("potential_loyalists", lambda r, fm, n: r >= 4),
    ("loyal", lambda r, fm, n: r == 3 and fm >= 3),
    ("need_attention", lambda r, fm, n: r == 3),
    ("cant_lose", lambda r, fm, n: r == 1 and fm >= 4),
    ("at_risk", lambda r, fm, n: fm >= 3),
    ("hibernating", lambda r, fm, n: r == 2),
    ("lost", lambda r, fm, n: True),
)


@dataclass(frozen=True)
class Rules:
    inactive_days: int = declared_default("inactive_days")
    advocate_min_orders: int = declared_default("advocate_min_orders")
    advocate_window_days: int = declared_default("advocate_window_days")

    @classmethod
    def of(cls, app: Flask) -> Rules:
        s = settings_of(app)
        return cls(s.inactive_days, s.advocate_min_orders, s.advocate_window_days)

    @classmethod
    def current(cls) -> Rules:
        """The running app's rules; the defaults outside an app (benches, scripts)."""
        return cls.of(current_app) if has_app_context() else cls()

    def inactive_before(self, now: datetime) -> datetime:
        return now - timedelta(days=self.inactive_days)

    def advocate_after(self, now: datetime) -> datetime:
        return now - timedelta(days=self.advocate_window_days)


def counted(table: Any = Order.__table__) -> Any:
    """The orders insights count: live and not cancelled."""
    return and_(table.c.deleted_at.is_(None), table.c.cancelled_at.is_(None))


def net_total(table: Any = Order.__table__) -> Any:
    """An order's total less refunds, typed as Money so sums come back exact."""
    return type_coerce(
        func.coalesce(table.c.total_price, 0) - func.coalesce(table.c.total_refunded, 0), Money()
    )


def refresh(conn: Connection, contact_ids: Iterable[int | None], rules: Rules) -> int:
    """Recompute the aggregates of these contacts in every store they bought from."""
    ids = sorted({c for c in contact_ids if c is not None})
    rows = 0
    for chunk in batched(ids, 500):
        fresh = _aggregates(conn, list(chunk), rules.advocate_min_orders)
        held = conn.execute(
            select(ContactInsight.store_id, ContactInsight.contact_id).where(
                ContactInsight.contact_id.in_(chunk)
            )
        ).all()
        gone = {tuple(pair) for pair in held} - {(r["store_id"], r["contact_id"]) for r in fresh}
        for store_id, contact_id in gone:  # no counted order left in that store
            conn.execute(
                delete(ContactInsight).where(
                    ContactInsight.store_id == store_id, ContactInsight.contact_id == contact_id
                )
            )
        if fresh:
            stmt = dialect_insert(conn, ContactInsight.__table__)
            names = ("orders", "spend", "currency", "first_order_at", "last_order_at", "advocate_since")
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["store_id", "contact_id"],
                    set_={**{n: stmt.excluded[n] for n in names}, "updated_at": utcnow()},
                ),
                fresh,
            )
        rows += len(fresh)
    return rows


def _aggregates(conn: Connection, ids: list[int], nth: int) -> list[dict[str, Any]]:
    """Per (store, contact): counted orders, spend, currency, first and last order, and the
    nth newest order's time, from one indexed read of the contacts' orders."""
    o = Order.__table__
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for store_id, contact_id, at, net, currency in conn.execute(
        select(o.c.store_id, o.c.contact_id, o.c.source_created_at, net_total(o), o.c.currency)
        .where(o.c.contact_id.in_(ids), counted(o))
        .order_by(o.c.contact_id, o.c.store_id, o.c.source_created_at.desc().nulls_last())
    ):
        entry = found.setdefault((store_id, contact_id), _empty(store_id, contact_id, at))
        entry["orders"] += 1
        entry["spend"] += net or 0
        entry["currency"] = entry["currency"] or currency
        entry["first_order_at"] = at or entry["first_order_at"]  # newest first: the last row is the first
        if entry["orders"] == nth:  # and the nth row is the nth newest order
            entry["advocate_since"] = at
    now = utcnow()
    return [{**e, "spend": Decimal(e["spend"]).quantize(CENT), "updated_at": now} for e in found.values()]


def _empty(store_id: int, contact_id: int, at: datetime | None) -> dict[str, Any]:
    return {
        "store_id": store_id,
        "contact_id": contact_id,
        "orders": 0,
        "spend": Decimal(0),
        "currency": None,
        "first_order_at": at,
        "last_order_at": at,
        "advocate_since": None,
    }


def contacts_of_orders(conn: Connection, store_id: int, platform_ids: Iterable[int]) -> set[int]:
    """The contacts of stored orders (before a deletion or a move changes them)."""
    ids = list(platform_ids)
    found: set[int] = set()
    for chunk in batched(ids, 500):
        found |= {
            int(c)
            for c in conn.execute(
                select(Order.contact_id).where(
                    Order.store_id == store_id, Order.platform_id.in_(chunk), Order.contact_id.is_not(None)
                )
            ).scalars()
            if c is not None
        }
    return found


def quintile(sorted_values: list[Any], value: Any) -> int:
    """1..5 by position among the store's values; equal values share a score."""
    return 1 + (5 * bisect_left(sorted_values, value)) // max(len(sorted_values), 1)


def segment_of(r: int, f: int, m: int, orders: int) -> str:
    fm = round((f + m) / 2)
    return next(name for name, rule in SEGMENTS if rule(r, fm, orders))


def score(conn: Connection, store_id: int, now: datetime | None = None) -> int:
    """RFM quintiles, segment and predicted value for every contact of one store."""
    now = now or utcnow()
    rows = conn.execute(
        select(ContactInsight).where(
            ContactInsight.store_id == store_id, ContactInsight.last_order_at.is_not(None)
        )
    ).all()
    if not rows:
        return 0
    recency = sorted(r.last_order_at for r in rows)
    frequency = sorted(r.orders for r in rows)
    monetary = sorted(r.spend for r in rows)
    repeat_share = sum(1 for r in rows if r.orders > 1) / len(rows)
    platform = _platform_statistics(conn, store_id)
    updates = []
    for r in rows:
        rfm = (quintile(recency, r.last_order_at), quintile(frequency, r.orders), quintile(monetary, r.spend))
        value, why = predict(
            r.orders, r.spend, r.first_order_at, r.last_order_at, r.currency, repeat_share, now
        )
        tier, group = platform.get(r.contact_id, (None, None))
        updates.append(
            {
                "s": store_id,
                "c": r.contact_id,
                "rfm_r": rfm[0],
                "rfm_f": rfm[1],
                "rfm_m": rfm[2],
                "segment": segment_of(*rfm, r.orders),
                "predicted_value": value,
                "prediction": why,
                "platform_spend_tier": tier,
                "platform_rfm_group": group,
                "scored_at": now,
            }
        )
    t: Any = ContactInsight.__table__
    conn.execute(
        update(t)
        .where(t.c.store_id == bindparam("s"), t.c.contact_id == bindparam("c"))
        .values({k: bindparam(k) for k in updates[0] if k not in ("s", "c")}),
        updates,
    )
    scored = ("rfm_r", "rfm_f", "rfm_m", "segment", "predicted_value", "prediction")
    changed = [
        u["c"] for r, u in zip(rows, updates, strict=True) if any(getattr(r, k) != u[k] for k in scored)
    ]
    destination_outbox.mark_contacts(conn, changed)  # their scores go to the destinations
    return len(updates)


def predict(
    orders: int,
    spend: Decimal,
    first: datetime,
    last: datetime,
    currency: str | None,
    repeat_share: float,
    now: datetime,
) -> tuple[Decimal, str]:
    """Expected spend over the next 12 months: yearly order rate x average order value x
    the chance the contact is still buying (decaying with time since the last order,
    measured in the contact's own gaps between orders)."""
    aov = (spend / orders).quantize(CENT)
    if orders > 1:
        span_days = max((last - first).total_seconds() / 86400, 30.0)
        per_year = (orders - 1) / span_days * 365
        basis = f"{orders} orders over {span_days:.0f} days"
    else:
        per_year = repeat_share
        basis = f"one order; {repeat_share:.0%} of this store's buyers come back"
    gap_days = 365 / per_year if per_year > 0 else 365.0
    idle_days = max((now - last).total_seconds() / 86400, 0.0)
    alive = math.exp(-idle_days / (2 * gap_days))
    value = (Decimal(str(per_year)) * aov * Decimal(str(alive))).quantize(CENT)
    return value, (
        f"{per_year:.1f} orders/yr ({basis}) x {aov} {currency or ''} average order x "
        f"{alive:.0%} chance still buying (last order {idle_days:.0f} days ago) = {value} {currency or ''}"
    ).replace("  ", " ")


def _platform_statistics(conn: Connection, store_id: int) -> dict[int, tuple[str | None, str | None]]:
    """Shopify's own predicted spend tier and RFM group, where its payload carried them."""
    found: dict[int, tuple[str | None, str | None]] = {}
    rows = conn.execute(
        select(Customer.contact_id, Customer.raw).where(
            Customer.store_id == store_id, Customer.contact_id.is_not(None), Customer.raw.is_not(None)
        )
    )
    for contact_id, raw in rows:
        stats = (raw or {}).get("statistics") if isinstance(raw, dict) else None
        if stats:
            found[contact_id] = (stats.get("predictedSpendTier"), stats.get("rfmGroup"))
    return found


def flags(row: Any, rules: Rules, now: datetime) -> dict[str, Any]:
    """The inactive and advocate flags of an insight row, with the rule that set each."""
    inactive = row.last_order_at is not None and row.last_order_at < rules.inactive_before(now)
    advocate = row.advocate_since is not None and row.advocate_since >= rules.advocate_after(now)
    return {
        "inactive": inactive,
        "inactive_rule": f"no order in {rules.inactive_days} days",
        "advocate": advocate,
        "advocate_rule": f"{rules.advocate_min_orders}+ orders in {rules.advocate_window_days} days",
    }


def score_all() -> dict[str, int]:
    """Cron job: rescore every active store."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    scored: dict[str, int] = {}
    with get_engine(app).begin() as conn:
        stores = conn.execute(select(Store.id).where(Store.status == "active")).scalars().all()
    for store_id in stores:
        with get_engine(app).begin() as conn:
            scored[str(store_id)] = score(conn, store_id)
        log.info("insights scored", extra={"store_id": store_id, "contacts": scored[str(store_id)]})
    return scored
