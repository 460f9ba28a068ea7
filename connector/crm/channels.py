"""The channel report: for a date range and a set of stores, per sales channel (the one
taxonomy of platforms.base.CHANNELS) and currency: orders, revenue, revenue share,
customers, new customers, repeat rate, average order value, conversion where checkout
data allows, and a credit figure.

Definitions (also in the README): an order counts when it is live and not cancelled;
revenue is its total less refunds; a customer is a contact; a new customer is one whose
first counted order in these stores falls in the range, in this channel; the repeat
rate is the share of the channel's customers with more than one counted order up to the
range's end; conversion (online store only, where checkouts are held) is orders divided
by orders plus checkouts left unfinished; credit is the weighted sum of the channel's
shares of the metrics named in CONNECTOR_CHANNEL_CREDIT (default: half revenue share,
half new-customer share).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from connector.crm.insights import counted, net_total
from connector.db.models import Checkout, Order
from platforms.base import batched

CENT = Decimal("0.01")


@dataclass
class ChannelRow:
    channel: str
    currency: str | None
    orders: int = 0
    revenue: Decimal = Decimal("0.00")
    revenue_share: float = 0.0
    customers: int = 0
    new_customers: int = 0
    repeat_rate: float | None = None
    average_order_value: Decimal | None = None
    conversion: float | None = None  # needs checkout data; None where the platform gives none
    credit: float = 0.0

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["revenue"] = str(self.revenue)
        out["average_order_value"] = (
            None if self.average_order_value is None else str(self.average_order_value)
        )
        return out


def credit_formula(weights: tuple[tuple[str, float], ...]) -> str:
    return " + ".join(f"{w:g} x share of {m.replace('_', ' ')}" for m, w in weights)


def report(
    conn: Connection,
    store_ids: list[int],
    since: datetime,
    until: datetime,
    weights: tuple[tuple[str, float], ...],
) -> list[ChannelRow]:
    """Channel rows for orders created in [since, until), biggest revenue first."""
    o = Order.__table__
    in_range = (
        o.c.store_id.in_(store_ids)
        & counted(o)
        & (o.c.source_created_at >= since)
        & (o.c.source_created_at < until)
    )
    key = (func.coalesce(o.c.channel, "api_other"), o.c.currency)
    rows: dict[tuple[str, str | None], ChannelRow] = {}
    for channel, currency, orders, revenue in conn.execute(
        select(*key, func.count(), func.sum(net_total(o))).where(in_range).group_by(*key)
    ):
        rows[(channel, currency)] = ChannelRow(
            channel, currency, orders, Decimal(revenue or 0).quantize(CENT)
        )
    buyers: dict[tuple[str, str | None], set[int]] = defaultdict(set)
    for channel, currency, contact in conn.execute(
        select(*key, o.c.contact_id).where(in_range & o.c.contact_id.is_not(None)).distinct()
    ):
        buyers[(channel, currency)].add(contact)
    everyone = set().union(*buyers.values()) if buyers else set()
    history = _history(conn, store_ids, until, everyone)
    for k, row in rows.items():
        people = buyers.get(k, set())
        row.customers = len(people)
        row.new_customers = sum(1 for c in people if _first_is(history.get(c), k[0], since))
        row.repeat_rate = (sum(1 for c in people if history[c][2] > 1) / len(people)) if people else None
        row.average_order_value = (row.revenue / row.orders).quantize(CENT) if row.orders else None
    _conversion(conn, store_ids, since, until, rows)
    _shares(list(rows.values()), weights)
    return sorted(rows.values(), key=lambda r: (r.currency or "", -r.revenue, r.channel))


def _history(
    conn: Connection, store_ids: list[int], until: datetime, contacts: set[int]
) -> dict[int, tuple[datetime, str, int]]:
    """Per contact: first counted order's time and channel, and counted orders before `until`."""
    o = Order.__table__
    found: dict[int, tuple[datetime, str, int]] = {}
    for chunk in batched(sorted(contacts), 500):
        where = (
            o.c.store_id.in_(store_ids)
            & counted(o)
            & o.c.contact_id.in_(chunk)
            & (o.c.source_created_at < until)
        )
        for contact, at, channel in conn.execute(
            select(o.c.contact_id, o.c.source_created_at, func.coalesce(o.c.channel, "api_other"))
            .where(where)
            .order_by(o.c.contact_id, o.c.source_created_at, o.c.platform_id)
        ):
            first = found.get(contact)
            found[contact] = (first[0], first[1], first[2] + 1) if first else (at, channel, 1)
    return found


def _conversion(
    conn: Connection,
    store_ids: list[int],
    since: datetime,
    until: datetime,
    rows: dict[tuple[str, str | None], ChannelRow],
) -> None:
    """Online-store conversion: orders / (orders + checkouts left unfinished), over the stores
    whose checkouts we hold; other channels have no checkout to count against."""
    c, o = Checkout.__table__, Order.__table__
    holding = list(conn.execute(select(c.c.store_id).where(c.c.store_id.in_(store_ids)).distinct()).scalars())
    if not holding:
        return
    left: dict[str | None, int] = dict(
        conn.execute(
            select(c.c.currency, func.count())
            .where(
                c.c.store_id.in_(holding),
                c.c.deleted_at.is_(None),
                c.c.completed_at.is_(None),
                c.c.source_created_at >= since,
                c.c.source_created_at < until,
            )
            .group_by(c.c.currency)
        ).all()
    )
    bought: dict[str | None, int] = dict(
        conn.execute(
            select(o.c.currency, func.count())
            .where(
                o.c.store_id.in_(holding),
                counted(o),
                o.c.channel == "online_store",
                o.c.source_created_at >= since,
                o.c.source_created_at < until,
            )
            .group_by(o.c.currency)
        ).all()
    )
    for (channel, currency), row in rows.items():
        started = bought.get(currency, 0) + left.get(currency, 0)
        if channel == "online_store" and started:
            row.conversion = bought.get(currency, 0) / started


def _first_is(history: tuple[datetime, str, int] | None, channel: str, since: datetime) -> bool:
    return history is not None and history[0] >= since and history[1] == channel


def _shares(rows: list[ChannelRow], weights: tuple[tuple[str, float], ...]) -> None:
    by_currency: dict[str | None, list[ChannelRow]] = defaultdict(list)
    for row in rows:
        by_currency[row.currency].append(row)
    for group in by_currency.values():
        totals: dict[str, Decimal | int] = {
            "revenue": sum((r.revenue for r in group), Decimal(0)),
            "orders": sum(r.orders for r in group),
            "customers": sum(r.customers for r in group),
            "new_customers": sum(r.new_customers for r in group),
        }
        for row in group:
            share = {m: float(getattr(row, m)) / float(t) if t else 0.0 for m, t in totals.items()}
            row.revenue_share = share["revenue"]
            row.credit = sum(w * share[m] for m, w in weights)
