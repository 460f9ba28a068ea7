"""The report read models: products with their stock cover, sales by channel (with the
credit formula) and by region, segments, and the contacts to win back; each over the
account's stores, with its dates and options checked (`common`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from connector.crm import channels, insights, reengage, reports
from connector.db.models import Product
from connector.db.people import ContactInsight
from connector.db.types import utcnow
from connector.errors import BadInput
from connector.web.queries.common import date_range, only, own_store, plain, store_ids, whole_number
from connector.web.queries.period import PRESETS, period_of

CHANNEL_DAYS = PRESETS["12m"]  # the channel report's default: the Overview's 12 months, the demo summary's


def products(conn: Connection, account_id: int, args: Any) -> list[dict[str, Any]]:
    store_id = own_store(conn, account_id, args)
    window = whole_number(args, "window_days") if args.get("window_days") else 30
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


def channel_report(
    conn: Connection, account_id: int, args: Any, weights: tuple[tuple[str, float], ...]
) -> dict[str, Any]:
    only(args, ("since", "until"), "the channel report")
    since, until = _channel_range(args)
    rows = channels.report(conn, store_ids(conn, account_id), since, until, weights)
    return {
        "since": plain(since),
        "until": plain(until),
        "credit_formula": channels.credit_formula(weights),
        "channels": [r.as_json() for r in rows],
    }


def _channel_range(args: Any) -> tuple[datetime, datetime]:
    """The period asked for; with no dates, the Overview's 12 months (365 UTC days, today
    included) up to now, so the two pages and the demo summary name the same days."""
    if args.get("since") or args.get("until"):
        return date_range(args, CHANNEL_DAYS)
    now = utcnow()
    return period_of({"period": "12m"}, now.date()).since, now


def sales_by_region(conn: Connection, account_id: int, args: Any) -> dict[str, Any]:
    only(args, ("since", "until", "period"), "sales by region")
    since, until = date_range(args, 90)
    period = args.get("period") or "month"
    if period not in reports.PERIODS:
        raise BadInput("period: day, week or month")
    rows = reports.sales_by_region(conn, store_ids(conn, account_id), since, until, period)
    return {"since": plain(since), "until": plain(until), "period": period, "rows": rows}


def segments(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            ContactInsight.store_id,
            ContactInsight.segment,
            ContactInsight.currency,
            func.count(),
            func.sum(ContactInsight.spend),
        )
        .where(ContactInsight.store_id.in_(store_ids(conn, account_id)), ContactInsight.segment.is_not(None))
        .group_by(ContactInsight.store_id, ContactInsight.segment, ContactInsight.currency)
        .order_by(ContactInsight.store_id, func.count().desc(), ContactInsight.segment)
    ).all()
    return [  # spend in each currency the store's contacts paid in (one, for nearly every store)
        {
            "store_id": s,
            "segment": name,
            "contacts": n,
            "spend": plain(Decimal(spend or 0)),
            "currency": currency,
        }
        for s, name, currency, n, spend in rows
    ]


def reengagement(conn: Connection, account_id: int, rules: insights.Rules) -> list[dict[str, Any]]:
    return [plain(e) for e in reengage.reengagement(conn, store_ids(conn, account_id), rules, utcnow())]
