"""The one table of entities: every kind of record the connector keeps, with its key, its
cursor, its parent, whether deletions are reconciled and which platforms' readers sync it.
Every list of entities (what a reader syncs, the write path's parents and children, the
tables a batch may name) is derived from it; `connector.db.models` maps each to its table.
Order matters: it is the order entities are synced in and their rows are written in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from platforms import rows

EVERY_PLATFORM: Literal["every platform"] = "every platform"


@dataclass(frozen=True)
class Entity:
    """One kind of record, as the sync, the write path and the store all see it."""

    name: str  # the neutral table name a batch uses ("orders")
    row: type  # the row shape a mapper produces (platforms.rows)
    key: tuple[str, ...] = ("platform_id",)  # identifies a record within a store
    cursor: str = "source_updated_at"  # the version: a record older than the one held changes nothing
    parent: str | None = None  # a child is written and replaced with its parent
    parent_key: str | None = None  # the child's column naming its parent
    reconciled: bool = False  # deletions found by comparing id sets with the platform
    synced_by: frozenset[str] | Literal["every platform"] = frozenset()  # whose readers read it


SHOPIFY_ONLY = frozenset({"shopify"})  # WooCommerce's checkout drafts arrive as order webhooks

ENTITIES: tuple[Entity, ...] = (
    Entity("customers", rows.CustomerRow, reconciled=True, synced_by=EVERY_PLATFORM),
    Entity("products", rows.ProductRow, reconciled=True, synced_by=EVERY_PLATFORM),
    Entity("product_variants", rows.VariantRow, parent="products", parent_key="product_platform_id"),
    Entity("orders", rows.OrderRow, reconciled=True, synced_by=EVERY_PLATFORM),
    Entity("order_line_items", rows.LineItemRow, parent="orders", parent_key="order_platform_id"),
    Entity("fulfillments", rows.FulfillmentRow, parent="orders", parent_key="order_platform_id"),
    Entity("refunds", rows.RefundRow, parent="orders", parent_key="order_platform_id"),
    Entity("inventory_levels", rows.InventoryLevelRow, key=("platform_id", "location_id")),
    Entity("checkouts", rows.CheckoutRow, synced_by=SHOPIFY_ONLY),
)

BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES}
# written first, through the versioned upsert
PARENTS: tuple[str, ...] = tuple(e.name for e in ENTITIES if e.parent is None)
# children replaced with their parent: table → (parent table, column naming the parent)
CHILDREN: dict[str, tuple[str, str]] = {
    e.name: (e.parent, e.parent_key) for e in ENTITIES if e.parent is not None and e.parent_key is not None
}
# what every platform's reader syncs
CORE_ENTITIES: tuple[str, ...] = tuple(e.name for e in ENTITIES if e.synced_by == EVERY_PLATFORM)
RECONCILED: frozenset[str] = frozenset(e.name for e in ENTITIES if e.reconciled)


def synced_by(platform: str) -> tuple[str, ...]:
    """The entities the platform's reader syncs, in the order they are synced."""
    return tuple(e.name for e in ENTITIES if e.synced_by == EVERY_PLATFORM or platform in e.synced_by)
