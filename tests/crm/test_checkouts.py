"""Abandoned checkouts: Shopify's are synced like the other entities and equal the sandbox's;
they attach to their customer's contact, make online-store conversion equal the generator's
truth, and feed the re-engagement list, which holds only people with consent. The webhook
topics, and WooCommerce's checkout drafts (completed when they become the order), map too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from connector.crm import consent, reengage
from connector.crm.channels import report
from connector.crm.insights import Rules
from connector.db import get_engine
from connector.db.models import Checkout, Customer, Order
from connector.write.apply import apply_batch
from platforms.base import MapContext
from platforms.shopify.mapper import checkout_rows
from platforms.woocommerce.mapper import order_rows
from sandbox import generator
from sync.engine import run_step
from tests.builders import make_store
from tests.crm.conftest import created_at, sandbox_store, truth_order
from tests.rig import Rig

WEIGHTS = (("revenue", 1.0),)


@pytest.mark.slow
def test_checkouts_sync_convert_and_feed_the_reengagement_list(synced: Rig) -> None:
    shop = sandbox_store(synced, synced.shop.id)
    with synced.app.app_context():
        assert run_step(synced.app, synced.shop.id, "checkouts", "test-owner").outcome == "done"
        assert run_step(synced.app, synced.shop.id, "checkouts", "test-owner").outcome == "done"  # re-sync
    truth = [generator.checkout(shop.dataset, i) for i in range(generator.checkout_count(shop.dataset))]
    engine = get_engine(synced.app)
    with engine.connect() as conn:
        held = conn.execute(select(Checkout).order_by(Checkout.source_created_at, Checkout.platform_id)).all()
        owner = dict(conn.execute(select(Customer.platform_id, Customer.contact_id)).all())
    # the CRM holds every checkout, as the shop has it
    assert [(c.source_created_at, c.total_price, c.completed_at) for c in held] == [
        (t["created_at"], t["total"], t["completed_at"]) for t in truth
    ]
    for c, t in zip(held, truth, strict=True):
        expected = owner[shop.id_of("customers", t["customer"])] if t["customer"] is not None else None
        assert c.contact_id == expected and c.recovery_url
    # online-store conversion over the last year equals the generator's
    now = datetime.now(UTC) + timedelta(hours=1)
    since = now - timedelta(days=365)
    with engine.connect() as conn:
        rows = {r.channel: r for r in report(conn, [synced.shop.id], since, now, WEIGHTS)}
        orders = conn.execute(
            select(Order.platform_id, Order.source_created_at).where(Order.store_id == synced.shop.id)
        ).all()
    bought = sum(
        1
        for pid, at in orders
        if created_at(at) >= since
        and not (t := truth_order(synced, synced.shop.id, pid))["cancelled"]
        and t["channel"][0] == "web"
    )
    left = sum(1 for t in truth if t["completed_at"] is None and t["created_at"] >= since)
    assert left and rows["online_store"].conversion == pytest.approx(bought / (bought + left))
    assert all(r.conversion is None for ch, r in rows.items() if ch != "online_store")
    # the re-engagement list names only people with consent, each with a reason
    with engine.connect() as conn:
        listed = reengage.reengagement(conn, [synced.shop.id, synced.site.id], Rules(), now)
        states = {e["contact_id"]: consent.state_of(conn, e["contact_id"]) for e in listed}
    assert listed and set(states.values()) == {consent.GRANT}
    reasons = {e["reason"].split(" ")[0] for e in listed}
    assert reasons <= {"left", "no"} and all(e["email"] for e in listed)
    for e in listed:
        if e["reason"].startswith("left"):
            assert e["recovery_url"].endswith("/recover")


def test_checkout_topics_and_woocommerce_drafts_map_and_complete(engine: Engine) -> None:
    with engine.begin() as conn:
        shop, site = make_store(conn), make_store(conn, "woocommerce", "https://woo.example")
        payload = {
            "id": 31_000_000_001,
            "created_at": "2026-11-01T10:00:00-05:00",
            "updated_at": "2026-11-01T10:05:00-05:00",
            "email": "Cart.Leaver@Example.com",
            "currency": "USD",
            "total_price": "84.50",
            "source_name": "web",
            "abandoned_checkout_url": "https://shop.example/checkouts/1/recover",
            "completed_at": None,
        }
        apply_batch(conn, shop, checkout_rows(payload, MapContext()))
        draft = {
            "id": 4242,
            "status": "checkout-draft",
            "created_via": "store-api",
            "currency": "USD",
            "total": "19.99",
            "date_created_gmt": "2026-11-02T09:00:00",
            "date_modified_gmt": "2026-11-02T09:01:00",
            "billing": {"email": "drafter@example.com"},
            "line_items": [],
        }
        apply_batch(conn, site, order_rows(draft, MapContext()))
        first = {c.platform_id: c for c in conn.execute(select(Checkout))}
        # the draft is paid for: it becomes the order, and the checkout is completed
        paid = {**draft, "status": "processing", "date_modified_gmt": "2026-11-02T09:03:00"}
        apply_batch(conn, site, order_rows(paid, MapContext()))
        after = {c.platform_id: c for c in conn.execute(select(Checkout))}
        order = conn.execute(select(Order.platform_id, Order.total_price)).one()
    shopify = first[31_000_000_001]
    assert (shopify.email_normalized, shopify.total_price, shopify.channel) == (
        "cart.leaver@example.com",
        Decimal("84.50"),
        "online_store",
    )
    assert shopify.source_created_at == datetime(2026, 11, 1, 15, 0, tzinfo=UTC) and shopify.contact_id
    assert first[4242].completed_at is None and after[4242].completed_at == datetime(
        2026, 11, 2, 9, 0, tzinfo=UTC
    )
    assert order == (4242, Decimal("19.99"))
