"""Two more dashboard lists (`listing.Listing`): the Stores page's cards, in the order they
were connected or by name, status or last sync, filtered by platform and status; and the
low-stock table of Sales & stock, sorted by any column and filtered by store and product.
Both are a handful of rows already computed per store (health, stock cover), so they are
sorted and paged in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

import platforms
from connector.accounts.health import BADGES
from connector.crm.reports import LOW_STOCK_DAYS, Cover
from connector.db.models import Store
from connector.db.operations import DeadLetter
from connector.errors import BadInput
from connector.web.listing import Column, Listing, Shown, rows_page, view_of

STORES = Listing(
    "stores",
    (
        Column("id", "connected"),  # the default: in the order they were connected
        Column("name", "name"),
        Column("domain", "address", sortable=False),
        Column("platform", "platform"),
        Column("status", "status"),
        Column("reason", "why", sortable=False),
        Column("last_sync", "last sync"),
    ),
    "id",
    ("platform", "status"),
)


def stores(described: list[dict[str, Any]], args: Any) -> Shown:
    """The account's stores (`accounts.stores.describe`) as the page lists them."""
    view = view_of(STORES, args)
    platform, status = args.get("platform") or "", args.get("status") or ""
    if platform and platform not in platforms.names():
        raise BadInput(f"platform: one of {', '.join(platforms.names())}")
    if status and status not in BADGES:
        raise BadInput(f"status: one of {', '.join(BADGES)}")
    rows = [_store_row(r) for r in described]
    rows = [r for r in rows if platform in ("", r["platform"]) and status in ("", r["status"])]
    shown = rows_page(view, rows)
    shown.extra = {"every": len(described), "filtered": bool(platform or status)}
    return shown


def _store_row(described: dict[str, Any]) -> dict[str, Any]:
    synced = [e["last_synced_at"] for e in described["entities"].values() if e["last_synced_at"]]
    return {
        **described,
        "name": described.get("name") or described["domain"],
        "store_status": described["status"],
        "status": described["health"]["state"],
        "reason": described["health"]["reason"],
        "last_sync": max(synced) if synced else None,  # ISO 8601 in UTC: sorts as text
    }


def open_letters(conn: Connection, account_id: int, newest: int = 100) -> list[Any]:
    """The account's newest failed records not yet resolved (the Stores page's retry list;
    every one of them is on the Failed records page)."""
    return list(
        conn.execute(
            select(DeadLetter, Store.domain.label("store"))
            .join(Store, Store.id == DeadLetter.store_id)
            .where(Store.account_id == account_id, DeadLetter.resolved_at.is_(None))
            .order_by(DeadLetter.id.desc())
            .limit(newest)
        ).all()
    )


def domains(conn: Connection, account_id: int) -> dict[int, str]:
    return dict(conn.execute(select(Store.id, Store.domain).where(Store.account_id == account_id)).all())


LOW_STOCK = Listing(
    "low-stock",
    (
        Column("store", "store"),
        Column("title", "product"),
        Column("stock", "stock"),
        Column("units_sold", "sold (30 d)"),
        Column("cover_days", "days of cover"),
    ),
    "cover_days",
    ("l_store", "l_product"),
    prefix="l_",
)


def low_stock(covers: Iterable[Cover], domains: dict[int, str], args: Any) -> Shown:
    """The products that sell and run out within LOW_STOCK_DAYS, filtered by store address
    and product name (each a piece of text, any case)."""
    view = view_of(LOW_STOCK, args, checked=False)
    wanted = {}
    for name in ("store", "product"):
        value = (args.get(f"l_{name}") or "").strip().casefold()
        if len(value) > 200:
            raise BadInput(f"l_{name}: at most 200 characters")
        wanted[name] = value
    rows = [
        {**asdict(c), "store": domains.get(c.store_id, str(c.store_id))}
        for c in covers
        if c.cover_days is not None and c.cover_days < LOW_STOCK_DAYS
    ]
    rows = [
        r
        for r in rows
        if wanted["store"] in r["store"].casefold() and wanted["product"] in (r["title"] or "").casefold()
    ]
    shown = rows_page(view, rows)
    shown.extra = {"filtered": bool(wanted["store"] or wanted["product"])}
    return shown
