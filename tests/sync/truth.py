"""What the sandbox holds, read over its public API by a plain sequential client, and what
the CRM store holds, both reduced to {id: (version, key fields)} for a record-for-record
comparison with a checksum."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from woocommerce import API

from connector.db import get_engine
from connector.write.apply import TABLES
from platforms.shopify.client import ShopifyClient

Facts = dict[int, tuple[str, str]]
GQL = {
    "customers": "id updatedAt email",
    "orders": "id updatedAt totalPriceSet { shopMoney { amount } } lineItems(first: 10) { nodes { id } }",
    "products": "id updatedAt title variants(first: 10) { nodes { id } }",
}


def stamp(at: Any) -> str:
    if isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def shopify_truth(client: ShopifyClient, entity: str) -> Facts:
    facts: Facts = {}
    after = None
    while True:
        query = (
            f"query($after: String) {{ {entity}(first: 25, after: $after) "
            f"{{ nodes {{ {GQL[entity]} }} pageInfo {{ hasNextPage endCursor }} }} }}"
        )
        page = client.graphql(query, {"after": after})["data"][entity]
        for n in page["nodes"]:
            facts[int(n["id"].rsplit("/", 1)[-1])] = (stamp(n["updatedAt"]), _shopify_key(entity, n))
        if not page["pageInfo"]["hasNextPage"]:
            return facts
        after = page["pageInfo"]["endCursor"]


def _shopify_key(entity: str, n: dict[str, Any]) -> str:
    if entity == "customers":
        return (n.get("email") or "").lower()
    if entity == "orders":
        return f"{Decimal(n['totalPriceSet']['shopMoney']['amount']):.2f}/{len(n['lineItems']['nodes'])}"
    return f"{n['title']}/{len(n['variants']['nodes'])}"


def woo_truth(api: API, entity: str) -> Facts:
    facts: Facts = {}
    page = 1
    while True:
        answer = api.get(entity, params={"per_page": 100, "page": page, "orderby": "id", "order": "asc"})
        assert answer.status_code == 200, answer.text
        for r in answer.json():
            facts[int(r["id"])] = (stamp(r["date_modified_gmt"]), _woo_key(api, entity, r))
        if page >= int(answer.headers["X-WP-TotalPages"] or 0):
            return facts
        page += 1


def _woo_key(api: API, entity: str, r: dict[str, Any]) -> str:
    if entity == "customers":
        return (r.get("email") or "").lower()
    if entity == "orders":
        return f"{Decimal(r['total']):.2f}/{len(r['line_items'])}"
    variants = len(r.get("variations") or []) if r.get("type") == "variable" else 1
    return f"{r['name']}/{variants}"


KEY_COLUMN = {"customers": "email_normalized", "orders": "total_price", "products": "title"}
CHILD = {
    "orders": ("order_line_items", "order_platform_id"),
    "products": ("product_variants", "product_platform_id"),
}


def crm_facts(app: Flask, store_id: int, entity: str) -> Facts:
    table = TABLES[entity]
    children: dict[int, int] = {}
    with get_engine(app).connect() as conn:
        if entity in CHILD:
            child_name, column = CHILD[entity]
            child = TABLES[child_name]
            children = dict(
                conn.execute(
                    select(child.c[column], func.count())
                    .where(child.c.store_id == store_id)
                    .group_by(child.c[column])
                ).all()
            )
        rows = conn.execute(
            select(table.c.platform_id, table.c.source_updated_at, table.c[KEY_COLUMN[entity]]).where(
                table.c.store_id == store_id, table.c.deleted_at.is_(None)
            )
        ).all()
    facts: Facts = {}
    for pid, version, key in rows:
        if entity == "customers":
            text = key or ""
        elif entity == "orders":
            text = f"{Decimal(key):.2f}/{children.get(pid, 0)}"
        else:
            text = f"{key}/{children.get(pid, 0)}"
        facts[pid] = (stamp(version), text)
    return facts


def checksum(facts: Facts) -> str:
    digest = hashlib.sha256()
    for pid in sorted(facts):
        digest.update(f"{pid}|{facts[pid][0]}|{facts[pid][1]}\n".encode())
    return digest.hexdigest()
