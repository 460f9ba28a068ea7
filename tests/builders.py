"""Builders over the real fixtures: a row as the write path receives it, one field changed at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Table

from connector.db.models import Base

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


def fixture(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text())


def customer_row(store_id: int, payload: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """A customers-table row from a Shopify customer payload (rest-customer.json by default)."""
    c = payload or fixture("shopify/rest-customer.json")["customer"]
    row = {
        "store_id": store_id,
        "platform_id": c["id"],
        "email": c.get("email"),
        "first_name": c.get("first_name"),
        "last_name": c.get("last_name"),
        "orders_count": c.get("orders_count"),
        "total_spent": Decimal(c["total_spent"]) if c.get("total_spent") is not None else None,
        "source_updated_at": datetime.fromisoformat(c["updated_at"]),
        "raw": c,
    }
    row.update(changes)
    return row


def table_of(model: type[Base]) -> Table:
    """The model's table, typed as the Table the write path takes (`__table__` is a FromClause)."""
    return Base.metadata.tables[model.__tablename__]


def later(row: dict[str, Any], seconds: int = 60, **changes: Any) -> dict[str, Any]:
    """The same record, `seconds` newer, with `changes` applied."""
    return {**row, "source_updated_at": row["source_updated_at"] + timedelta(seconds=seconds), **changes}


def make_store(conn: Any, platform: str = "shopify", domain: str = "bob-shop.myshopify.com") -> int:
    """An account and a store to hang records on; returns the store id."""
    from sqlalchemy import insert

    from connector.db.models import Account, Store

    account_id = conn.execute(insert(Account).values(name="test").returning(Account.id)).scalar_one()
    return int(
        conn.execute(
            insert(Store)
            .values(account_id=account_id, platform=platform, domain=domain, store_key=f"key-{domain}")
            .returning(Store.id)
        ).scalar_one()
    )


def order_batch(number: int, *, created: datetime, email: str, total: str = "100.00", **changes: Any) -> Any:
    """The Shopify webhook order (webhook-orders-create.json) as the write path receives it:
    order `number`, created at `created`, bought by `email` for `total`, `changes` applied."""
    from platforms.base import MapContext
    from platforms.shopify.mapper import order_rows

    o = fixture("shopify/webhook-orders-create.json")
    stamp = created.isoformat()
    o.update(
        id=number,
        email=email,
        contact_email=email,
        customer=None,
        created_at=stamp,
        processed_at=stamp,
        updated_at=(created + timedelta(seconds=changes.pop("edited_s", 0))).isoformat(),
        total_price=total,
        refunds=[],
        cancelled_at=None,
    )
    o.update(changes)
    return order_rows(o, MapContext())


def product_payload(number: int, **changes: Any) -> dict[str, Any]:
    """The Shopify webhook product (webhook-products-create.json), product `number`, `changes` applied."""
    p = fixture("shopify/webhook-products-create.json")
    p.update(id=number, **changes)
    for k, v in enumerate(p.get("variants") or []):
        v.update(id=number * 10 + k, product_id=number)
    return dict(p)


def woo_order(number: int, **changes: Any) -> dict[str, Any]:
    """The site's first listed order (woocommerce/rest-orders-list.json) as order `number`, its
    line items numbered after it (ids unique across orders), `changes` applied."""
    o: dict[str, Any] = fixture("woocommerce/rest-orders-list.json")[0]
    o.update(id=number, number=str(number))
    for k, item in enumerate(o["line_items"]):
        item["id"] = number * 10 + k
    o.update(changes)
    return o


def shopify_order(number: int, **changes: Any) -> dict[str, Any]:
    """The Shopify webhook order (webhook-orders-create.json) as order `number` named
    `#number`, its line items numbered after it (ids unique across orders), `changes` applied."""
    o: dict[str, Any] = fixture("shopify/webhook-orders-create.json")
    o.update(id=number, name=f"#{number}")
    for k, item in enumerate(o["line_items"]):
        item["id"] = number * 10 + k
    o.update(changes)
    return o


@contextmanager
def database_refusing(engine: Any, names: tuple[str, ...]) -> Iterator[None]:
    """The database itself refuses orders with these names (a rule the mapper cannot know):
    a CHECK constraint on PostgreSQL, a trigger on SQLite; both raise an integrity error."""
    listed = ", ".join(f"'{n}'" for n in names)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                f"ALTER TABLE orders ADD CONSTRAINT ck_orders_poison CHECK (name NOT IN ({listed}))"
            )
        else:
            conn.exec_driver_sql(
                f"CREATE TRIGGER orders_poison BEFORE INSERT ON orders WHEN NEW.name IN ({listed}) "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("ALTER TABLE orders DROP CONSTRAINT ck_orders_poison")
            else:
                conn.exec_driver_sql("DROP TRIGGER orders_poison")
