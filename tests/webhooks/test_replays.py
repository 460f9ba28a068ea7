"""Replays of signed deliveries cannot destroy: a webhook's signature covers its body only,
so each replay below (another topic, another shop, a foreign shop_domain, a future
Triggered-At, a forged WooCommerce source) is refused and changes nothing, while the
legitimate event still works. The connector's confirmations go to the sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import requests
from flask import Flask
from sqlalchemy import select, update

from connector.accounts.stores import account_named, connect_store, webhook_secret
from connector.db import get_engine, session
from connector.db.models import Account, Customer, Order, Store
from connector.db.operations import PrivacyRequest, WebhookInbox
from connector.db.types import utcnow
from connector.runtime.queue import make_worker
from platforms.woocommerce import client as woo_client
from sandbox.generator import Sizes
from sandbox.world import World
from tests.builders import fixture
from tests.rig import SHOP, Rig, build, serve
from tests.webhooks.conftest import Stores, count, one, post_shopify, post_woo
from webhooks.process import process_inbox

OTHER_SHOP = "sandbox-shop-2.myshopify.com"


@pytest.fixture
def rig(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    yield from build(app_env, World(seed=5, sizes=Sizes(6, 6, 3), shops=2, woo_sites=2), redis_url)


def work(rig: Rig) -> None:
    with rig.app.app_context():
        make_worker(rig.redis, ("webhooks",), simple=True).work(burst=True)


def shopify(rig: Rig, topic: str, payload: Any, **kwargs: Any) -> int:
    kwargs.setdefault("shop", SHOP)
    with rig.app.app_context():
        return post_shopify(
            rig.app, topic, payload, secret=rig.env["SHOPIFY_API_SECRET"], **kwargs
        ).status_code


def live_ids(rig: Rig, platform: str, entity: str) -> list[int]:
    target = rig.sandbox.world.shops[SHOP] if platform == "shopify" else rig.sandbox.world.woo["site-1"]
    store = target.store
    ids = [store.id_of(entity, i) for i in range(6)]
    return [i for i in ids if (x := store.index_of(entity, i)) is not None and store.exists(entity, x)]


def customer_body(customer_id: int, name: str = "Ada", at: str = "2026-11-01T10:00:00Z") -> dict[str, Any]:
    payload: dict[str, Any] = fixture("shopify/webhook-customers-update.json")
    payload.update(id=customer_id, first_name=name, updated_at=at, admin_graphql_api_id=None)
    payload.pop("admin_graphql_api_id")
    return payload


def inbox(app: Flask, topic: str) -> list[Any]:
    with get_engine(app).connect() as conn:
        return list(
            conn.execute(select(WebhookInbox).where(WebhookInbox.topic == topic).order_by(WebhookInbox.id))
        )


def customer(app: Flask, platform_id: int) -> Any:
    return one(app, select(Customer).where(Customer.platform_id == platform_id))


def test_a_body_replayed_under_another_topic_is_refused(rig: Rig) -> None:
    # given two customers in the shop and the CRM, one of which the merchant then deletes
    (gone,) = rig.mutate("shopify", "customers", "delete", 1)
    live = next(i for i in live_ids(rig, "shopify", "customers") if i != gone)
    for cid in (live, gone):
        assert shopify(rig, "customers/update", customer_body(cid)) == 200
    work(rig)
    # when a signed customer body, and a signed {"id"} body naming the live customer, are
    # replayed as customers/delete and as orders/delete
    assert shopify(rig, "customers/delete", customer_body(live), webhook_id="r1") == 200
    assert shopify(rig, "customers/delete", {"id": live}, webhook_id="r2") == 200
    assert shopify(rig, "orders/delete", customer_body(live), webhook_id="r3") == 200
    # and the real deletion arrives
    assert shopify(rig, "customers/delete", {"id": gone}, webhook_id="real") == 200
    work(rig)
    # then the replays are refused and recorded, the live customer is untouched, the deletion applied
    refused = [r for r in inbox(rig.app, "customers/delete") if r.status == "refused"]
    assert len(refused) == 2
    assert "only the record's id" in refused[0].last_error
    assert "still has this record" in refused[1].last_error
    (order_replay,) = inbox(rig.app, "orders/delete")
    assert order_replay.status == "refused" and count(rig.app, Order) == 0
    assert customer(rig.app, live).deleted_at is None and customer(rig.app, live).first_name == "Ada"
    assert customer(rig.app, gone).deleted_at is not None


def test_an_uninstall_replayed_for_another_shop_is_refused_and_the_real_one_applies(rig: Rig) -> None:
    # given a customer in the CRM, and the shop's app still installed
    (cid,) = live_ids(rig, "shopify", "customers")[:1]
    shopify(rig, "customers/update", customer_body(cid))
    work(rig)
    other = {**rig.sandbox.world.manifest()["shopify"]["shops"][1], "myshopify_domain": OTHER_SHOP}
    # when another shop's app/uninstalled body is replayed under this shop, and a shop body
    # that names no shop is replayed while the app is installed
    assert shopify(rig, "app/uninstalled", other, webhook_id="r1") == 200
    assert (
        shopify(rig, "app/uninstalled", fixture("shopify/webhook-app-uninstalled.json"), webhook_id="r2")
        == 200
    )
    work(rig)
    # then both are refused and the store keeps its credentials
    reasons = [r.last_error for r in inbox(rig.app, "app/uninstalled")]
    assert [r.status for r in inbox(rig.app, "app/uninstalled")] == ["refused", "refused"]
    assert OTHER_SHOP in reasons[0] and "still accepts the app's token" in reasons[1]
    store = one(rig.app, select(Store).where(Store.id == rig.shop.id))
    assert store.status == "active" and store.credentials is not None
    # when the merchant really uninstalls the app (the sandbox revokes the token and says so)
    answer = requests.post(f"{rig.sandbox.url}/_sandbox/uninstall", json={"store": SHOP}, timeout=10)
    assert answer.status_code == 200
    assert rig.sandbox.world.dispatcher.wait_idle(timeout=30)
    body = {"id": 1, "name": "Shop", "myshopify_domain": SHOP, "domain": None}
    assert shopify(rig, "app/uninstalled", body, webhook_id="real") == 200
    # and a customer update arrives afterwards
    assert shopify(rig, "customers/update", customer_body(cid, "Late", "2026-11-02T10:00:00Z")) == 200
    work(rig)
    # then the store is uninstalled and the later delivery is recorded, not applied
    store = one(rig.app, select(Store).where(Store.id == rig.shop.id))
    assert store.status == "uninstalled" and store.credentials is None
    (late,) = [r for r in inbox(rig.app, "customers/update") if r.status != "done"]
    assert late.status == "uninstalled" and "uninstalled" in late.last_error
    assert customer(rig.app, cid).first_name == "Ada"
    # when the shop installs the app again, deliveries are applied again
    with rig.app.app_context(), session(rig.app) as s, s.begin():
        connect_store(
            s,
            rig.app.extensions["crm.vault"],
            account=s.get(Account, rig.shop.account_id),  # type: ignore[arg-type]
            platform="shopify",
            domain=SHOP,
            credentials={"access_token": "shpat_again"},
        )
    assert shopify(rig, "customers/update", customer_body(cid, "Again", "2026-11-03T10:00:00Z")) == 200
    work(rig)
    assert customer(rig.app, cid).first_name == "Again"


def test_compliance_requests_naming_another_shop_are_refused(rig: Rig) -> None:
    # given a customer in the CRM
    (cid,) = live_ids(rig, "shopify", "customers")[:1]
    shopify(rig, "customers/update", {**customer_body(cid), "email": "ada@example.com"})
    work(rig)
    foreign = {"shop_id": 2, "shop_domain": OTHER_SHOP}
    person = {"id": cid, "email": "ada@example.com", "phone": None}
    # when another shop's shop/redact and customers/redact bodies are replayed under this shop
    assert shopify(rig, "shop/redact", foreign) == 200
    assert shopify(rig, "customers/redact", {**foreign, "customer": person, "orders_to_redact": []}) == 200
    work(rig)
    # then neither is applied: the store, the customer and its e-mail are all still here
    for topic in ("shop/redact", "customers/redact"):
        (row,) = inbox(rig.app, topic)
        assert row.status == "refused" and OTHER_SHOP in row.last_error
    assert one(rig.app, select(Store.id).where(Store.id == rig.shop.id)) is not None
    assert customer(rig.app, cid).email == "ada@example.com"
    assert count(rig.app, PrivacyRequest) == 0
    # when the shop's own shop/redact arrives, the shop is erased
    assert shopify(rig, "shop/redact", {"shop_id": 1, "shop_domain": SHOP}, webhook_id="real") == 200
    work(rig)
    assert one(rig.app, select(Store.id).where(Store.id == rig.shop.id)) is None
    assert count(rig.app, Customer) == 0


def test_a_future_triggered_at_is_clamped_to_now(rig: Rig) -> None:
    # given a customer the merchant deleted, whose deletion arrives dated in the year 2100
    (gone,) = rig.mutate("shopify", "customers", "delete", 1)
    shopify(rig, "customers/update", customer_body(gone))
    work(rig)
    future = {"X-Shopify-Triggered-At": "2100-01-01T00:00:00Z"}
    assert shopify(rig, "customers/delete", {"id": gone}, headers=future) == 200
    work(rig)
    # then the deletion is applied as of now, not as of 2100
    (row,) = inbox(rig.app, "customers/delete")
    assert row.status == "done" and row.triggered_at <= utcnow()
    deleted = customer(rig.app, gone)
    assert deleted.deleted_at is not None and deleted.source_updated_at <= utcnow()
    # so the customer coming back (restored, re-created) is not refused as older than 2100
    back = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert shopify(rig, "customers/update", customer_body(gone, "Back", back), webhook_id="back") == 200
    work(rig)
    assert customer(rig.app, gone).deleted_at is None and customer(rig.app, gone).first_name == "Back"


def woo_stores(rig: Rig) -> Stores:
    with rig.app.app_context(), session(rig.app) as s, s.begin():
        site = s.get(Store, rig.site.id)
        assert site is not None
        secret = webhook_secret(rig.app.extensions["crm.vault"], site)
        return Stores(rig.shop.id, site.id, site.store_key, secret)


def woo(rig: Rig, stores: Stores, topic: str, payload: Any, source: str | None = None) -> int:
    headers = {"X-WC-Webhook-Source": source} if source else {}
    with rig.app.app_context():
        return post_woo(rig.app, stores, topic, payload, headers=headers).status_code


def test_a_forged_woocommerce_source_is_refused_and_the_store_unchanged(rig: Rig) -> None:
    stores = woo_stores(rig)
    other_site = rig.sandbox.world.woo_url("site-2")
    body = fixture("woocommerce/rest-customer.json")
    # when signed deliveries arrive claiming to come from a URL nobody answers at, and from
    # another real site (which does not hold this store's keys)
    assert woo(rig, stores, "customer.updated", body, source="http://127.0.0.1:9/") == 200
    assert woo(rig, stores, "customer.updated", {**body, "first_name": "B"}, source=f"{other_site}/") == 200
    work(rig)
    # then both are refused, nothing is written and the store row is unchanged
    rows = inbox(rig.app, "customer.updated")
    assert [r.status for r in rows] == ["refused", "refused"]
    assert "could not be asked" in rows[0].last_error and "does not answer" in rows[1].last_error
    store = one(rig.app, select(Store).where(Store.id == rig.site.id))
    assert (store.pending_url, store.status_reason, store.domain) == (None, None, rig.site.domain)
    assert count(rig.app, Customer) == 0


def site_orders_in_crm(rig: Rig, stores: Stores) -> None:
    """The site's orders as the CRM holds them (each with its random order_key)."""
    keys = rig.sandbox.world.manifest()["woocommerce"]["stores"][0]
    client = woo_client.client_for(rig.site.domain, keys)
    for oid in live_ids(rig, "woocommerce", "orders")[:3]:
        assert woo(rig, stores, "order.updated", client.get(f"orders/{oid}")) == 200
    work(rig)
    assert count(rig.app, Order) == 3


def test_a_moved_woocommerce_site_that_answers_as_itself_is_held_for_the_merchant(rig: Rig) -> None:
    # given the store's orders in the CRM, the store connected under its old address, and
    # the site now at its sandbox URL
    stores = woo_stores(rig)
    site_orders_in_crm(rig, stores)
    real = rig.site.domain
    with get_engine(rig.app).begin() as db:
        db.execute(
            update(Store).where(Store.id == rig.site.id).values(domain="http://127.0.0.1:1/woo/old-name")
        )
    # when a delivery comes from the new URL
    assert (
        woo(rig, stores, "customer.updated", fixture("woocommerce/rest-customer.json"), source=f"{real}/")
        == 200
    )
    work(rig)
    # then the site there answered with the store's keys and holds its orders: the delivery
    # is held, the move pending
    (row,) = inbox(rig.app, "customer.updated")
    assert row.status == "held"
    store = one(rig.app, select(Store).where(Store.id == rig.site.id))
    assert store.pending_url == real and "confirm-url" in store.status_reason


def test_a_server_that_only_claims_to_be_the_site_is_refused(rig: Rig) -> None:
    # given the store's orders in the CRM, and a server that answers every request, as any
    # site would claim to be itself (it never checks keys and has none of the store's data)
    stores = woo_stores(rig)
    site_orders_in_crm(rig, stores)
    impostor = Flask("impostor")
    url, server = serve(impostor)

    @impostor.get("/wp-json/wc/v3/system_status")
    def status() -> dict[str, Any]:
        return {"environment": {"home_url": f"{url}/", "site_url": f"{url}/"}}

    @impostor.get("/wp-json/wc/v3/orders/<int:oid>")
    def order(oid: int) -> dict[str, Any]:
        return {"id": oid, "order_key": "wc_order_guessed"}

    try:
        # when a signed delivery arrives claiming to come from it
        body = fixture("woocommerce/rest-customer.json")
        assert woo(rig, stores, "customer.updated", body, source=f"{url}/") == 200
        work(rig)
    finally:
        server.shutdown()
    # then it is refused and the store row is unchanged
    (row,) = inbox(rig.app, "customer.updated")
    assert row.status == "refused" and "does not hold this store's orders" in row.last_error
    store = one(rig.app, select(Store).where(Store.id == rig.site.id))
    assert (store.pending_url, store.status_reason) == (None, None)


def test_a_deletion_waits_while_the_platform_is_unreachable(rig: Rig) -> None:
    # given an order on the WooCommerce site, in the CRM, then trashed by the merchant, and a
    # replayed deletion of an order still live
    stores = woo_stores(rig)
    trashed, live = live_ids(rig, "woocommerce", "orders")[:2]
    order = fixture("woocommerce/rest-order.json")
    for oid in (trashed, live):
        woo(rig, stores, "order.updated", {**order, "id": oid, "date_modified_gmt": "2026-11-01T10:00:00"})
    work(rig)
    rig.sandbox.world.woo["site-1"].store.overlays["orders"].trashed.add(
        rig.sandbox.world.woo["site-1"].store.index_of("orders", trashed)  # type: ignore[arg-type]
    )
    requests.post(f"{rig.sandbox.url}/_sandbox/faults", json={"rate_5xx": 1}, timeout=10)
    # when the deletions arrive while the site answers only 503
    woo(rig, stores, "order.deleted", {"id": trashed})
    woo(rig, stores, "order.deleted", {"id": live})
    work(rig)
    # then nothing is applied and nothing is dropped: both wait, pending
    assert [r.status for r in inbox(rig.app, "order.deleted")] == ["pending", "pending"]
    assert one(rig.app, select(Order.deleted_at).where(Order.platform_id == trashed)).deleted_at is None
    # when the site answers again
    requests.post(f"{rig.sandbox.url}/_sandbox/faults", json={}, timeout=10)
    with rig.app.app_context():
        process_inbox(rig.site.id)
    # then the real deletion applies and the replay of the live order's is refused
    assert [r.status for r in inbox(rig.app, "order.deleted")] == ["done", "refused"]
    assert one(rig.app, select(Order.deleted_at).where(Order.platform_id == trashed)).deleted_at is not None
    assert one(rig.app, select(Order.deleted_at).where(Order.platform_id == live)).deleted_at is None


def test_a_record_body_replayed_under_another_shop_is_refused_and_the_real_one_applies(rig: Rig) -> None:
    # given a second shop of the app, in another merchant's account, and one of the first
    # shop's customers and orders written through their own signed deliveries
    manifest = rig.sandbox.world.manifest()["shopify"]["shops"][1]
    with session(rig.app) as s, s.begin():
        other = connect_store(
            s,
            rig.app.extensions["crm.vault"],
            account=account_named(s, "another merchant"),
            platform="shopify",
            domain=manifest["domain"],
            credentials={"access_token": manifest["access_token"]},
        ).id
    (cid,) = live_ids(rig, "shopify", "customers")[:1]
    order: dict[str, Any] = fixture("shopify/webhook-orders-create.json")
    order.update(id=rig.sandbox.world.shops[SHOP].store.id_of("orders", 0), customer=None)
    order.pop("admin_graphql_api_id", None)
    assert shopify(rig, "customers/update", customer_body(cid, "Ada")) == 200
    assert shopify(rig, "orders/create", order) == 200
    work(rig)
    # when the same signed bodies are replayed under the other shop's header
    assert (
        shopify(rig, "customers/update", customer_body(cid, "Ada"), shop=OTHER_SHOP, webhook_id="x1") == 200
    )
    assert shopify(rig, "orders/create", order, shop=OTHER_SHOP, webhook_id="x2") == 200
    work(rig)
    # then the other shop, asked, does not have those records: both are refused and nothing
    # is written into the other merchant's store
    replays = [
        r for t in ("customers/update", "orders/create") for r in inbox(rig.app, t) if r.store_id == other
    ]
    assert [r.status for r in replays] == ["refused", "refused"]
    assert all("its id is another shop's" in r.last_error for r in replays)
    with get_engine(rig.app).connect() as conn:
        written = [conn.execute(select(m.id).where(m.store_id == other)).all() for m in (Customer, Order)]
    assert written == [[], []]
    # and the first shop's records, and its later updates, apply as before
    assert shopify(rig, "customers/update", customer_body(cid, "Ada B", "2026-11-02T10:00:00Z")) == 200
    work(rig)
    assert customer(rig.app, cid).first_name == "Ada B" and customer(rig.app, cid).store_id == rig.shop.id
