"""The straightforward implementation the connector is measured against (DESIGN §7): the
platforms' own Python clients paging sequentially, and one ORM `merge` per order and per
line item, committed per page. Same sandbox, same SQLite, same fields that matter."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import shopify
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.accounts.stores import account_named
from connector.db import make_engine, upgrade
from connector.db.models import Order, OrderLineItem, Store
from platforms.base import parse_time
from sandbox.clients import woo_api

VERSION = "2026-07"
ORDERS_PAGE = """query($after: String) { orders(first: 25, after: $after) {
  nodes { id name email updatedAt createdAt currencyCode totalPriceSet { shopMoney { amount } }
    lineItems(first: 10) { nodes { id sku title quantity originalUnitPriceSet { shopMoney { amount } } } } }
  pageInfo { hasNextPage endCursor } } }"""


def _session(folder: Path, platform: str, domain: str) -> tuple[Session, int]:
    folder.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{folder / 'baseline.sqlite3'}")
    upgrade(engine)
    s = Session(engine)
    account = account_named(s, "baseline")
    store = Store(account_id=account.id, platform=platform, domain=domain, store_key=f"baseline-{platform}")
    s.add(store)
    s.commit()
    return s, store.id


def baseline_shopify(manifest: dict[str, Any], folder: Path, limit: int) -> float:
    shop = manifest["shopify"]["shops"][0]
    base = manifest["shopify"]["shop_url_template"].format(shop=shop["domain"])
    shopify.ShopifyResource.set_site(f"{base}/admin/api/{VERSION}")
    shopify.ShopifyResource.set_headers({"X-Shopify-Access-Token": shop["access_token"]})
    s, store_id = _session(folder, "shopify", shop["domain"])
    started, done, after = time.perf_counter(), 0, None
    while done < limit:
        page = json.loads(shopify.GraphQL().execute(ORDERS_PAGE, {"after": after}))["data"]["orders"]
        for node in page["nodes"]:
            order_id = int(node["id"].rsplit("/", 1)[-1])
            _merge_order(
                s, store_id, order_id, node["updatedAt"], node["totalPriceSet"]["shopMoney"]["amount"], node
            )
            for item in node["lineItems"]["nodes"]:
                price = item["originalUnitPriceSet"]["shopMoney"]["amount"]
                _merge_line(s, store_id, order_id, int(item["id"].rsplit("/", 1)[-1]), item, price, node)
            done += 1
        s.commit()
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    shopify.ShopifyResource.clear_session()
    return done / (time.perf_counter() - started)


def baseline_woo(manifest: dict[str, Any], folder: Path, limit: int) -> float:
    site = manifest["woocommerce"]["stores"][0]
    wc = woo_api(site)
    s, store_id = _session(folder, "woocommerce", site["url"])
    started, done, page = time.perf_counter(), 0, 1
    while done < limit:
        answer = wc.get("orders", params={"per_page": 100, "page": page, "orderby": "id", "order": "asc"})
        orders = answer.json()
        for o in orders:
            _merge_order(s, store_id, o["id"], o["date_modified_gmt"], o["total"], o)
            for item in o["line_items"]:
                _merge_line(s, store_id, o["id"], item["id"], item, item["price"], o)
            done += 1
        s.commit()
        if page >= int(answer.headers.get("X-WP-TotalPages") or 0):
            break
        page += 1
    return done / (time.perf_counter() - started)


def _merge_order(
    s: Session, store_id: int, order_id: int, updated: str, total: Any, raw: dict[str, Any]
) -> None:
    existing = s.scalar(select(Order).where(Order.store_id == store_id, Order.platform_id == order_id))
    order = existing or Order(store_id=store_id, platform_id=order_id, content_hash="")
    order.source_updated_at = parse_time(updated)  # type: ignore[assignment]
    order.total_price = Decimal(str(total))
    order.email = raw.get("email") or (raw.get("billing") or {}).get("email")
    order.raw = raw
    s.add(order)


def _merge_line(
    s: Session,
    store_id: int,
    order_id: int,
    line_id: int,
    item: dict[str, Any],
    price: Any,
    raw: dict[str, Any],
) -> None:
    existing = s.scalar(
        select(OrderLineItem).where(OrderLineItem.store_id == store_id, OrderLineItem.platform_id == line_id)
    )
    line = existing or OrderLineItem(store_id=store_id, platform_id=line_id, content_hash="")
    line.order_platform_id = order_id
    line.source_updated_at = parse_time(raw.get("updatedAt") or raw.get("date_modified_gmt"))  # type: ignore[assignment]
    line.sku, line.title, line.quantity = (
        item.get("sku"),
        item.get("title") or item.get("name"),
        item["quantity"],
    )
    line.price = Decimal(str(price))
    s.add(line)
