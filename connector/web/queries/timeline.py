"""A contact's orders over time: counted orders (live, not cancelled) per calendar month (UTC)
and per store of the account, every month from their first order to their last included.
Called only once the contact is known to be the account's (the 360° view checked it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from connector.crm.insights import counted
from connector.db.models import Order, Store
from connector.web.queries.common import store_ids


def orders_by_month(conn: Connection, account_id: int, contact_id: int) -> list[dict[str, Any]]:
    o = Order.__table__
    rows = conn.execute(
        select(o.c.source_created_at, Store.domain)
        .join(Store, Store.id == o.c.store_id)
        .where(
            o.c.contact_id == contact_id,
            o.c.store_id.in_(store_ids(conn, account_id)),
            counted(o),
            o.c.source_created_at.is_not(None),
        )
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for at, domain in rows:
        month = counts.setdefault(at.strftime("%Y-%m"), {})
        month[domain] = month.get(domain, 0) + 1
    return (
        [{"month": m, "orders": counts.get(m, {})} for m in _months(min(counts), max(counts))]
        if counts
        else []
    )


def _months(first: str, last: str) -> list[str]:
    at, end, out = datetime.strptime(first, "%Y-%m"), datetime.strptime(last, "%Y-%m"), []
    while at <= end:
        out.append(at.strftime("%Y-%m"))
        at = at.replace(year=at.year + at.month // 12, month=at.month % 12 + 1)
    return out
