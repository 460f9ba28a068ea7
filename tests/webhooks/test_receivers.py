"""Receivers: every real payload lands with the right fields; bad input changes nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from connector.db.models import Customer, Order, OrderLineItem, Product, ProductVariant, Store
from connector.db.operations import DeadLetter, PrivacyRequest, WebhookInbox
from platforms.shopify.webhooks import signature_valid as shopify_valid
from platforms.woocommerce.webhooks import signature_valid as woo_valid
from tests.builders import fixture
from tests.test_metrics import scrape
from tests.webhooks.conftest import Platforms, Stores, count, one, post_shopify, post_woo, work


def test_the_published_signature_vectors_verify() -> None:
    for v in fixture("shopify/hmac-vectors.json")["webhook_body_hmac"]["vectors"]:
        assert shopify_valid(v["raw_body"].encode(), v["expected"], [v["secret"]]) == v["valid"], v["id"]
    for v in fixture("woocommerce/hmac-vectors.json")["vectors"]:
        if v.get("secret"):
            assert woo_valid(v["raw_body"].encode(), v["expected"], [v["secret"]]) == v["valid"], v["id"]


@pytest.mark.parametrize(
    "version",
    [
        "webhook-customers-create.json",
        "webhook-customers-create-2023-07.json",
        "webhook-customers-create-2024-10.json",
        "webhook-customers-create-legacy-sample.json",
    ],
)
def test_customers_of_every_api_version_land(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis, version: str
) -> None:
    payload = fixture(f"shopify/{version}")
    assert post_shopify(hook_app, "customers/create", payload).status_code == 200
    work(hook_app, redis_conn)
    row = one(hook_app, select(Customer))
    assert row.platform_id == payload["id"] and row.email == payload["email"]
    assert row.email_normalized == ((payload["email"] or "").lower() or None)
    assert row.first_name == payload["first_name"]
    assert row.raw == payload
    if payload.get("email_marketing_consent"):
        assert row.email_consent == payload["email_marketing_consent"]["state"]


def test_consent_updates_and_a_later_customer_payload_keep_consent(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis
) -> None:
    customer = fixture("shopify/webhook-customers-create.json")
    consent = fixture("shopify/webhook-customers_email_marketing_consent-update.json")
    post_shopify(hook_app, "customers/create", customer)
    post_shopify(hook_app, "customers_email_marketing_consent/update", consent)
    work(hook_app, redis_conn)
    post_shopify(hook_app, "customers/update", {**customer, "first_name": "Robert"}, webhook_id="later")
    work(hook_app, redis_conn)
    row = one(hook_app, select(Customer.first_name, Customer.email_consent))
    assert tuple(row) == ("Robert", "not_subscribed")  # the 2025 payload has no consent: kept, not blanked


def test_orders_land_with_money_lines_and_channel(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis
) -> None:
    payload = fixture("shopify/webhook-orders-create.json")
    for topic in ("orders/create", "orders/updated", "orders/paid", "orders/cancelled"):
        assert post_shopify(hook_app, topic, payload).status_code == 200
    work(hook_app, redis_conn)
    order = one(hook_app, select(Order))
    assert order.platform_id == payload["id"] and order.total_price == Decimal(payload["total_price"])
    assert order.currency == payload["currency"] and order.channel == "online_store"
    assert order.shipping_country == payload["shipping_address"]["country_code"]
    assert count(hook_app, Order) == 1 and count(hook_app, OrderLineItem) == len(payload["line_items"])


def test_rest_orders_bring_fulfilment_tracking_and_attribution(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis
) -> None:
    payload = fixture("shopify/rest-order.json")["order"]
    post_shopify(hook_app, "orders/updated", payload)
    work(hook_app, redis_conn)
    order = one(hook_app, select(Order))
    assert order.referrer_domain == "otherexample.com" and order.landing_page == "/"
    assert order.utm_source is None and order.source_name == payload["source_name"]
    from connector.db.models import Fulfillment

    tracking = one(hook_app, select(Fulfillment.tracking_number, Fulfillment.carrier))
    assert tracking.tracking_number == payload["fulfillments"][0]["tracking_number"]


def test_products_and_deletions(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis, platforms: Platforms
) -> None:
    product = fixture("shopify/webhook-products-create.json")
    post_shopify(hook_app, "products/create", product)
    work(hook_app, redis_conn)
    assert one(hook_app, select(Product.title)).title == product["title"]
    assert count(hook_app, ProductVariant) == len(product["variants"])
    post_shopify(hook_app, "products/delete", fixture("shopify/webhook-products-delete.json"))
    post_shopify(hook_app, "orders/delete", fixture("shopify/webhook-orders-delete.json"))
    post_shopify(hook_app, "customers/delete", fixture("shopify/webhook-customers-delete.json"))
    work(hook_app, redis_conn)
    assert one(hook_app, select(Product.deleted_at)).deleted_at is not None
    assert one(hook_app, select(Order.deleted_at)).deleted_at is not None  # a tombstone, before any create
    assert one(hook_app, select(Customer.deleted_at)).deleted_at is not None


def test_uninstall_and_compliance_topics_are_acted_on(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis, platforms: Platforms
) -> None:
    customer = fixture("shopify/webhook-customers-create.json")
    post_shopify(hook_app, "customers/create", {**customer, "id": 191167, "email": "john@example.com"})
    work(hook_app, redis_conn)
    for topic in ("customers/data_request", "customers/redact"):
        body = json.loads(json.dumps(fixture(f"shopify/webhook-{topic.replace('/', '-')}.json")))
        body["shop_domain"] = "shop1.myshopify.com"
        assert post_shopify(hook_app, topic, body).status_code == 200
        work(hook_app, redis_conn)
        if topic == "customers/data_request":  # the export holds the person until they are erased
            (request,) = _all(hook_app, select(PrivacyRequest))
            exported = json.loads(Path(request.result["file"]).read_text())
            assert exported["customers"][0]["email"] == "john@example.com"
    assert not Path(request.result["file"]).exists()
    platforms.shopify_token_valid = False  # the shop revoked the app's token
    post_shopify(hook_app, "app/uninstalled", fixture("shopify/webhook-app-uninstalled.json"))
    work(hook_app, redis_conn)
    kinds = {r.kind: r for r in _all(hook_app, select(PrivacyRequest))}
    assert set(kinds) == {"data_request", "customer_redact"}
    assert one(hook_app, select(Customer.email, Customer.deleted_at)).email is None
    assert one(hook_app, select(Store.status).where(Store.id == stores.shopify_id)).status == "uninstalled"
    post_shopify(hook_app, "shop/redact", {"shop_id": 1, "shop_domain": "shop1.myshopify.com"})
    work(hook_app, redis_conn)
    assert one(hook_app, select(Store).where(Store.id == stores.shopify_id)) is None
    assert count(hook_app, Customer) == 0 and count(hook_app, PrivacyRequest) == 3
    # once the shop is gone, a compliance topic is still acknowledged
    assert post_shopify(hook_app, "shop/redact", {"shop_id": 1}, webhook_id="again").status_code == 200


def _all(app: Flask, statement: Any) -> list[Any]:
    with app.extensions["crm.engine"].connect() as conn:
        return list(conn.execute(statement))


@pytest.mark.parametrize(
    ("topic", "name", "model"),
    [
        ("customer.created", "rest-customer.json", Customer),
        ("customer.updated", "rest-customer-airbyte-store.json", Customer),
        ("order.created", "rest-order.json", Order),
        ("order.updated", "rest-order-airbyte-store.json", Order),
        ("product.created", "rest-product-simple.json", Product),
        ("product.updated", "rest-product-variable.json", Product),
        ("product.updated", "rest-product-variation.json", ProductVariant),
        ("product.updated", "rest-product-variation-airbyte-store.json", ProductVariant),
        ("order.updated", "rest-order-deleted.json", Order),
        ("customer.updated", "rest-customer-deleted.json", Customer),
        ("product.updated", "rest-product-deleted.json", Product),
    ],
)
def test_woocommerce_payloads_land(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis, topic: str, name: str, model: Any
) -> None:
    payload = fixture(f"woocommerce/{name}")
    assert post_woo(hook_app, stores, topic, payload).status_code == 200
    work(hook_app, redis_conn)
    row = one(hook_app, select(model))
    assert row.platform_id == payload["id"] and row.deleted_at is None
    assert row.source_updated_at.replace(tzinfo=None).isoformat() == payload["date_modified_gmt"]
    if model is Order:
        assert row.total_price == Decimal(payload["total"]) and row.email == payload["billing"]["email"]
        assert count(hook_app, OrderLineItem) == len(payload["line_items"])


@pytest.mark.parametrize(
    ("topic", "payload", "model", "platform_id"),
    [
        ("product.updated", fixture("woocommerce/legacy-v3-product-variable.json"), Product, 604),
        (
            "order.updated",
            json.loads(fixture("woocommerce/webhook-delivery-order-updated-legacy.json")["request_body"]),
            Order,
            118,
        ),
    ],
)
def test_legacy_api_bodies_are_understood(
    hook_app: Flask,
    stores: Stores,
    redis_conn: redis.Redis,
    topic: str,
    payload: Any,
    model: Any,
    platform_id: int,
) -> None:
    assert post_woo(hook_app, stores, topic, payload).status_code == 200
    work(hook_app, redis_conn)
    assert one(hook_app, select(model.platform_id)).platform_id == platform_id


def test_fulfilment_topic_lands_with_tracking(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis
) -> None:
    from connector.db.models import Fulfillment

    payload = fixture("shopify/webhook-fulfillments-create.json")
    post_shopify(hook_app, "fulfillments/create", payload)
    work(hook_app, redis_conn)
    row = one(hook_app, select(Fulfillment))
    assert (row.platform_id, row.order_platform_id, row.carrier) == (
        payload["id"],
        payload["order_id"],
        "UPS",
    )


def test_woocommerce_deletes_and_the_ping(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis, platforms: Platforms
) -> None:
    ping = hook_app.test_client().post(f"/webhooks/woocommerce/{stores.woo_key}", data={"webhook_id": "7"})
    assert ping.status_code == 200
    post_woo(hook_app, stores, "order.created", fixture("woocommerce/rest-order.json"))
    post_woo(hook_app, stores, "order.deleted", {"id": fixture("woocommerce/rest-order.json")["id"]})
    work(hook_app, redis_conn)
    assert one(hook_app, select(Order.deleted_at)).deleted_at is not None


def test_rejections_change_nothing(hook_app: Flask, stores: Stores, hook_env: dict[str, str]) -> None:
    payload = fixture("shopify/webhook-orders-create.json")
    client = hook_app.test_client()
    assert post_shopify(hook_app, "orders/create", payload, secret="forged").status_code == 401
    assert (
        post_shopify(hook_app, "orders/create", payload, secret="a_secret_we_no_longer_use").status_code
        == 401
    )
    raw = json.dumps(payload).encode()
    unsigned = client.post("/webhooks/shopify", data=raw, headers={"X-Shopify-Topic": "orders/create"})
    assert unsigned.status_code == 401
    assert post_shopify(hook_app, "orders/create", None, body=b"{not json").status_code == 400
    assert post_shopify(hook_app, "orders/create", payload, shop="nobody.myshopify.com").status_code == 404
    assert post_woo(hook_app, stores, "order.created", payload, secret="forged").status_code == 401
    wrong_key = client.post(
        "/webhooks/woocommerce/nope", data=raw, headers={"X-WC-Webhook-Topic": "order.created"}
    )
    assert wrong_key.status_code == 404
    big = b'{"id": 1, "pad": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    assert post_shopify(hook_app, "orders/create", None, body=big).status_code == 413
    assert count(hook_app, WebhookInbox) == 0 and count(hook_app, Order) == 0


def test_unknown_topics_and_duplicates(hook_app: Flask, stores: Stores, redis_conn: redis.Redis) -> None:
    assert post_shopify(hook_app, "themes/publish", {"id": 1}).status_code == 200
    assert count(hook_app, WebhookInbox) == 0
    payload = fixture("shopify/webhook-products-create.json")
    first = post_shopify(hook_app, "products/create", payload, webhook_id="same")
    again = post_shopify(hook_app, "products/create", payload, webhook_id="same")
    assert first.json is not None and again.json is not None
    assert first.json["message"] == "accepted" and again.json["message"].startswith("duplicate")
    assert count(hook_app, WebhookInbox) == 1


def test_the_previous_secret_is_accepted_during_rotation(hook_app: Flask, stores: Stores) -> None:
    payload = fixture("shopify/webhook-products-create.json")
    assert post_shopify(hook_app, "products/create", payload, secret="old_secret").status_code == 200


def test_a_poison_delivery_is_dead_lettered_and_the_rest_proceed(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis
) -> None:
    good = fixture("shopify/webhook-products-create.json")
    post_shopify(hook_app, "products/create", {"id": 5, "updated_at": "not a time"})
    post_shopify(hook_app, "products/create", good)
    work(hook_app, redis_conn)
    assert count(hook_app, Product) == 1
    letter = one(hook_app, select(DeadLetter.reason, DeadLetter.entity))
    assert letter.entity == "products/create" and "not a timestamp" in letter.reason


def test_woocommerce_deliveries_are_spooled_while_the_database_is_down(
    hook_app: Flask, stores: Stores, hook_env: dict[str, str], redis_conn: redis.Redis
) -> None:
    # given the store was seen once (its sealed secret is cached in Redis)
    first = fixture("woocommerce/rest-customer.json")
    assert post_woo(hook_app, stores, "customer.created", first).status_code == 200
    # when the database goes away, a WooCommerce delivery (never retried by WooCommerce) is still accepted
    from connector import create_app

    broken = create_app({**hook_env, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/test"})
    later = {**first, "id": 4242, "email": "spooled@example.com"}
    with broken.app_context():
        answer = post_woo(broken, stores, "customer.created", later)
    assert answer.status_code == 200
    # and a Shopify delivery gets 503 (Shopify retries)
    with broken.app_context():
        assert (
            post_shopify(
                broken,
                "customers/create",
                fixture("shopify/webhook-customers-create.json"),
                shop="shop1.myshopify.com",
            ).status_code
            == 503
        )
    # then, the database back, the sweeper moves the spooled delivery in and it is processed once
    from webhooks.process import sweep

    assert sweep()["spooled_moved"] == 1
    work(hook_app, redis_conn)
    emails = {r.email for r in _all(hook_app, select(Customer.email))}
    assert emails == {first["email"], "spooled@example.com"}


@pytest.mark.parametrize("accept", [True, False])
def test_deliveries_from_another_site_url_are_held_until_the_merchant_decides(
    hook_app: Flask,
    stores: Stores,
    hook_env: dict[str, str],
    redis_conn: redis.Redis,
    platforms: Platforms,
    accept: bool,
) -> None:
    from click.testing import CliRunner

    from connector.cli import cli
    from tests.webhooks.conftest import b64_hmac

    # given a delivery signed with the store's keys but sent by another site (a staging copy),
    # which answers with the store's keys as itself
    platforms.woo_sites.add("https://staging.woo.example")
    body = json.dumps(fixture("woocommerce/rest-customer.json")).encode()
    headers = {
        "X-WC-Webhook-Topic": "customer.updated",
        "X-WC-Webhook-Source": "https://staging.woo.example/",
        "X-WC-Webhook-Signature": b64_hmac(stores.woo_secret, body),
        "Content-Type": "application/json",
    }
    client = hook_app.test_client()
    assert (
        client.post(f"/webhooks/woocommerce/{stores.woo_key}", data=body, headers=headers).status_code == 200
    )
    work(hook_app, redis_conn)
    # then nothing is written and the store says why
    assert count(hook_app, Customer) == 0
    store = one(hook_app, select(Store).where(Store.id == stores.woo_id))
    assert store.pending_url == "https://staging.woo.example" and "staging.woo.example" in store.status_reason
    # when the merchant decides
    command = "confirm-url" if accept else "reject-url"
    result = CliRunner(env=hook_env).invoke(cli, ["stores", command, str(stores.woo_id)])
    assert result.exit_code == 0, result.output
    work(hook_app, redis_conn)
    # then the held delivery is processed (moved site) or dropped (staging copy)
    assert count(hook_app, Customer) == (1 if accept else 0)
    assert count(hook_app, WebhookInbox) == (1 if accept else 0)
    domain = one(hook_app, select(Store.domain).where(Store.id == stores.woo_id)).domain
    assert domain == ("https://staging.woo.example" if accept else "https://woo.example")


def test_every_answer_is_counted_once_for_metrics(
    hook_app: Flask, redis_conn: redis.Redis, stores: Stores
) -> None:
    """An accepted delivery is counted in the round trip that asks for its processing, the
    rest after the answer; either way, once."""
    order = fixture("shopify/webhook-orders-create.json")
    # given a new delivery (its processing job is enqueued), a replay of it, and a second new
    # one while that job still waits
    post_shopify(hook_app, "orders/create", order, webhook_id="a")
    post_shopify(hook_app, "orders/create", order, webhook_id="a")
    post_shopify(hook_app, "orders/create", {**order, "id": 42}, webhook_id="b")
    post_shopify(hook_app, "orders/create", order, secret="forged", webhook_id="c")
    # then
    counted = scrape(hook_app)
    key = "crm_webhook_requests_total"
    assert counted[(key, (("outcome", "accepted"), ("platform", "shopify")))] == 2
    assert counted[(key, (("outcome", "deduplicated"), ("platform", "shopify")))] == 1
    assert counted[(key, (("outcome", "rejected_signature"), ("platform", "shopify")))] == 1


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("http://169.254.169.254/", "not a public address"),  # a cloud's metadata service
        ("http://10.0.0.7:8080/", "not a public address"),
        ("ftp://woo.example/", "not a web address"),
    ],
)
def test_a_forged_source_inside_the_network_is_never_called(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis, platforms: Platforms, source: str, why: str
) -> None:
    # given a signed delivery whose X-WC-Webhook-Source points inside the connector's network
    body = fixture("woocommerce/rest-customer.json")
    post_woo(hook_app, stores, "customer.updated", body, headers={"X-WC-Webhook-Source": source})
    # when it is processed (`responses` would fail any request it was not told about)
    work(hook_app, redis_conn)
    # then it is refused without a request, and nothing changed
    row = one(hook_app, select(WebhookInbox.status, WebhookInbox.last_error))
    assert row.status == "refused" and why in row.last_error
    store = one(hook_app, select(Store.pending_url, Store.status_reason).where(Store.id == stores.woo_id))
    assert (store.pending_url, store.status_reason) == (None, None)
    assert count(hook_app, Customer) == 0


def test_one_deletion_replayed_under_fresh_webhook_ids_is_stored_and_asked_once(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis, platforms: Platforms
) -> None:
    # given a product, still live in the shop
    post_shopify(hook_app, "products/create", fixture("shopify/webhook-products-create.json"))
    work(hook_app, redis_conn)
    deletion = fixture("shopify/webhook-products-delete.json")
    platforms.shopify_records.add(f"gid://shopify/Product/{deletion['id']}")
    # when one signed deletion body is replayed many times, each under a new webhook id
    answers = [
        post_shopify(hook_app, "products/delete", deletion, webhook_id=f"forged-{n}").status_code
        for n in range(5)
    ]
    work(hook_app, redis_conn)
    # then it is stored once, refused once, and the product is untouched
    assert answers == [200] * 5
    rows = [
        r
        for r in _all(hook_app, select(WebhookInbox.topic, WebhookInbox.status))
        if r.topic == "products/delete"
    ]
    assert [r.status for r in rows] == ["refused"]
    assert one(hook_app, select(Product.deleted_at)).deleted_at is None


def test_an_uninstall_replayed_many_times_is_asked_about_once(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis, platforms: Platforms
) -> None:
    # given a shop that still accepts the app's token
    body = fixture("shopify/webhook-app-uninstalled.json")
    # when one signed app/uninstalled body is replayed under five fresh webhook ids
    for n in range(5):
        post_shopify(hook_app, "app/uninstalled", body, webhook_id=f"forged-{n}")
    work(hook_app, redis_conn)
    # then each is refused, the shop was asked once, and the store keeps its credentials
    rows = _all(hook_app, select(WebhookInbox.status))
    assert [r.status for r in rows] == ["refused"] * 5
    assert len(platforms.asked) == 1
    store = one(hook_app, select(Store.status, Store.credentials).where(Store.id == stores.shopify_id))
    assert store.status == "active" and store.credentials is not None


def test_a_deletion_the_shop_cannot_answer_about_is_refused_without_blocking_the_rest(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis, platforms: Platforms
) -> None:
    # given a shop that refuses the confirming query itself (not a transient failure)
    platforms.shopify_query_fails = True
    # when a deletion arrives, followed by a customer
    post_shopify(hook_app, "products/delete", fixture("shopify/webhook-products-delete.json"))
    post_shopify(hook_app, "customers/create", fixture("shopify/webhook-customers-create.json"))
    work(hook_app, redis_conn)
    # then the deletion is refused with the reason and the customer behind it still lands
    rows = {
        r.topic: r
        for r in _all(hook_app, select(WebhookInbox.topic, WebhookInbox.status, WebhookInbox.last_error))
    }
    assert rows["products/delete"].status == "refused"
    assert "could not be confirmed" in rows["products/delete"].last_error
    assert rows["customers/create"].status == "done" and count(hook_app, Customer) == 1


def test_refused_deliveries_are_pruned_after_the_retention_like_processed_ones(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis, platforms: Platforms
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from connector.db import get_engine
    from connector.db.types import utcnow
    from sync.housekeeping import prune_inbox

    # given a refused replay (a foreign shop/redact) processed long ago, and one just refused
    post_shopify(
        hook_app, "shop/redact", {"shop_id": 2, "shop_domain": "other.myshopify.com"}, webhook_id="a"
    )
    post_shopify(hook_app, "shop/redact", {"shop_id": 3, "shop_domain": "else.myshopify.com"}, webhook_id="b")
    work(hook_app, redis_conn)
    old = utcnow() - timedelta(days=365)
    with get_engine(hook_app).begin() as db:
        db.execute(update(WebhookInbox).where(WebhookInbox.dedup_key == "a").values(processed_at=old))
    # when housekeeping prunes the inbox
    assert prune_inbox() == 1
    # then the old refused delivery is gone and the recent one kept
    assert [r.dedup_key for r in _all(hook_app, select(WebhookInbox.dedup_key, WebhookInbox.status))] == ["b"]
