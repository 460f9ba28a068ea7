"""Erasing a person for real: someone with a Shopify account, orders with shipments, a
WooCommerce guest order, a product subscription (and its e-mail), an export from a data
request and stored webhook deliveries is redacted by `customers/redact`; afterwards a scan
of every table and every file in the instance folder finds none of their e-mail, phone or
names, while the orders' amounts remain. `crm-connector privacy export|forget` does the
same by e-mail for any platform."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import func, select

from connector import settings_of
from connector.cli import cli
from connector.db import get_engine, session
from connector.models import Base, ContactInsight, Order, PrivacyRequest, Store
from connector.notifications import send_pending
from connector.stores import webhook_secret
from platforms.sandbox import shopify_shapes, woo_shapes
from tests.crm.conftest import sandbox_store
from tests.rig import Rig
from tests.webhooks.conftest import Stores, post_shopify, post_woo, work

pytestmark = pytest.mark.slow
NEW = {
    "first_name": "Zephyrine",
    "last_name": "Quillfeather",
    "email": "zephyrine.q@example.net",
    "phone": "+15025550199",
}
TOKENS = ("zephyrine", "quillfeather", "5025550199")
CUSTOMER_ID, ORDER_IDS, WOO_ORDER_ID = 990_000_001, [990_000_101, 990_000_102], 990_000_201


def disguise(payload: dict[str, Any], who: dict[str, Any]) -> dict[str, Any]:
    """The payload with `who`'s identity swapped for NEW's, wherever it is written."""
    body = json.dumps(payload)
    full = (f"{who['first_name']} {who['last_name']}", f"{NEW['first_name']} {NEW['last_name']}")
    for old, new in (full, *((f'"{who[k]}"', f'"{NEW[k]}"') for k in NEW if who.get(k))):
        body = body.replace(old, new)
    out: dict[str, Any] = json.loads(body)
    return out


def scan(rig: Rig) -> list[str]:
    """Every place a token of the person appears: table.column, or a file's path."""
    found = []
    with get_engine(rig.app).connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in row._mapping.items():
                    data = (
                        value.decode("latin-1")
                        if isinstance(value, bytes)
                        else json.dumps(value, default=str)
                    )
                    if any(t in data.lower() for t in TOKENS):
                        found.append(f"{table.name}.{column}")
    for path in settings_of(rig.app).instance_path.rglob("*"):
        if path.is_file() and any(t.encode() in path.read_bytes().lower() for t in TOKENS):
            found.append(str(path))
    return sorted(set(found))


def database_file_traces(rig: Rig) -> list[str]:
    """On SQLite, the database file itself (once the WAL is checkpointed into it): deleted and
    overwritten rows must not linger in free pages."""
    engine = get_engine(rig.app)
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    path = Path(str(engine.url.database))
    files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
    return [f"{p}:{t}" for p in files for t in TOKENS if t.encode() in p.read_bytes().lower()]


def secret_of(rig: Rig) -> str:
    return rig.sandbox.world.manifest()["shopify"]["api_secret"]


def introduce_the_person(rig: Rig) -> None:
    shop, site = sandbox_store(rig, rig.shop.id), sandbox_store(rig, rig.site.id)
    secret, domain = secret_of(rig), rig.shop.domain
    who = shop.get("customers", 0).data
    customer = disguise(shopify_shapes.customer_rest(shop, shop.get("customers", 0)), who) | {
        "id": CUSTOMER_ID
    }
    post_shopify(rig.app, "customers/create", customer, secret=secret, shop=domain)
    bought = [i for i in range(shop.dataset.sizes.orders) if shop.get("orders", i).data["customer"] == 0][:2]
    for order_id, index in zip(ORDER_IDS, bought, strict=True):
        order = disguise(shopify_shapes.order_rest(shop, shop.get("orders", index)), who)
        order |= {"id": order_id, "customer": {**order["customer"], "id": CUSTOMER_ID}}
        assert post_shopify(rig.app, "orders/create", order, secret=secret, shop=domain).status_code == 200
    guest = next(
        i for i in range(site.dataset.sizes.orders) if site.get("orders", i).data["customer"] is None
    )
    rec = site.get("orders", guest)
    buyer = woo_shapes.generator.buyer(site.dataset, rec.data)
    woo = disguise(woo_shapes.order_json(site, rec, rig.site.domain), buyer) | {"id": WOO_ORDER_ID}
    with session(rig.app) as s, s.begin():  # made on first use when no registration made it
        secret_now = webhook_secret(rig.app.extensions["crm.vault"], s.get_one(Store, rig.site.id))
    stores = Stores(rig.shop.id, rig.site.id, rig.site.store_key, secret_now)
    got = post_woo(rig.app, stores, "order.created", woo)
    assert got.status_code == 200, got.get_data(as_text=True)
    work(rig.app, rig.redis)
    subscribed = requests.post(
        f"{rig.url}/subscribe/{rig.shop.store_key}", data={"email": NEW["email"]}, timeout=10
    )
    assert subscribed.status_code == 202
    send_pending(rig.app)  # the confirmation, as an .eml file in the instance folder
    request = {
        "shop_domain": domain,
        "customer": {"id": CUSTOMER_ID, "email": NEW["email"]},
        "orders_requested": ORDER_IDS,
    }
    post_shopify(rig.app, "customers/data_request", request, secret=secret, shop=domain)
    work(rig.app, rig.redis)


def test_customers_redact_leaves_no_trace_of_the_person(synced: Rig) -> None:
    with synced.app.app_context():
        introduce_the_person(synced)
        before = scan(synced)
        # the scan sees the person where they are held (else it would prove nothing)
        assert {"contacts.email", "customers.raw", "orders.raw", "notification_outbox.recipient"} <= set(
            before
        )
        assert any(p.endswith(".eml") for p in before) and any("privacy-request" in p for p in before)
        redact = {
            "shop_domain": synced.shop.domain,
            "customer": {"id": CUSTOMER_ID, "email": NEW["email"], "phone": NEW["phone"]},
            "orders_to_redact": ORDER_IDS,
        }
        post_shopify(
            synced.app, "customers/redact", redact, secret=secret_of(synced), shop=synced.shop.domain
        )
        work(synced.app, synced.redis)
    assert scan(synced) == []
    assert database_file_traces(synced) == []
    with get_engine(synced.app).connect() as conn:
        kept = conn.execute(
            select(Order.contact_id, Order.total_price).where(
                Order.platform_id.in_([*ORDER_IDS, WOO_ORDER_ID])
            )
        ).all()
        receipt = conn.execute(select(PrivacyRequest).where(PrivacyRequest.kind == "customer_redact")).one()
        counted = conn.execute(
            select(func.sum(ContactInsight.orders)).where(
                ContactInsight.contact_id.in_({c for c, _t in kept})
            )
        ).scalar()
    # the amounts stay, on one anonymous contact, and still count in its insights
    assert len(kept) == 3 and len({c for c, _t in kept}) == 1 and all(t is not None for _c, t in kept)
    assert counted is not None and counted >= 3
    assert (receipt.result["orders"], receipt.result["subscriptions"], receipt.result["export_files"]) == (
        3,
        1,
        1,
    )


def test_privacy_commands_export_then_forget_by_email(synced: Rig) -> None:
    runner = CliRunner()
    env = {**synced.env}
    with synced.app.app_context():
        introduce_the_person(synced)
    exported = runner.invoke(cli, ["privacy", "export", "--email", NEW["email"].upper()], env=env)
    assert exported.exit_code == 0, exported.output
    answer = json.loads(exported.output)
    (receipt,) = answer["receipts"]
    held = json.loads(Path(receipt["result"]["file"]).read_text())
    assert {o["platform_id"] for o in held["orders"]} == {*ORDER_IDS, WOO_ORDER_ID}
    assert held["product_subscriptions"] and held["consent_events"] is not None
    forgotten = runner.invoke(cli, ["privacy", "forget", "--email", NEW["email"]], env=env)
    assert forgotten.exit_code == 0, forgotten.output
    assert scan(synced) == []
    again = runner.invoke(cli, ["privacy", "forget", "--email", NEW["email"]], env=env)
    assert json.loads(again.output)["found"] is False
    bad = runner.invoke(cli, ["privacy", "forget", "--email", "nobody"], env=env)
    assert bad.exit_code == 2 and "--email" in bad.output
