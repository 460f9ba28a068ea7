"""The WooCommerce side, driven with the real `woocommerce` client (OAuth 1.0a over http)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from woocommerce import API

from sandbox.server import SandboxServer
from sandbox.world import World
from tests.builders import fixture
from tests.conftest_sandbox import SIZES, Receiver


def site_of(world: World) -> tuple[str, str, str]:
    entry = world.manifest()["woocommerce"]["stores"][0]
    return entry["url"], entry["consumer_key"], entry["consumer_secret"]


@pytest.fixture
def wc(sandbox: SandboxServer) -> API:
    url, key, secret = site_of(sandbox.world)
    return API(url=url, consumer_key=key, consumer_secret=secret, version="wc/v3", timeout=10)


def all_pages(wc: API, resource: str, **params: Any) -> tuple[list[dict[str, Any]], list[requests.Response]]:
    records, responses, page = [], [], 1
    while True:
        response = wc.get(resource, params={"per_page": 100, "page": page, **params})
        assert response.status_code == 200, response.text
        responses.append(response)
        records += response.json()
        if page >= int(response.headers["X-WP-TotalPages"]):
            return records, responses
        page += 1


@pytest.mark.parametrize(
    "order", [{"orderby": "id", "order": "asc"}, {}, {"orderby": "modified", "order": "asc"}]
)
def test_pagination_visits_every_order_exactly_once(wc: API, order: dict[str, str]) -> None:
    records, responses = all_pages(wc, "orders", **order)
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == SIZES.orders
    assert int(responses[0].headers["X-WP-Total"]) == SIZES.orders
    assert int(responses[0].headers["X-WP-TotalPages"]) == 7
    assert 'rel="next"' in responses[0].headers["Link"] and 'rel="prev"' not in responses[0].headers["Link"]
    assert 'rel="prev"' in responses[-1].headers["Link"] and "last" not in responses[-1].headers["Link"]
    if not order:  # the default: newest first
        assert records[0]["date_created_gmt"] >= records[-1]["date_created_gmt"]


def test_customers_and_products_page_completely(wc: API) -> None:
    customers, _ = all_pages(wc, "customers", orderby="id")
    products, _ = all_pages(wc, "products")
    assert len({c["id"] for c in customers}) == SIZES.customers
    assert len({p["id"] for p in products}) == SIZES.products


def test_modified_after_filters_orders_but_customers_ignore_it(wc: API, sandbox: SandboxServer) -> None:
    everything, _ = all_pages(wc, "orders", orderby="modified", order="asc")
    cut = everything[500]["date_modified_gmt"]
    later, _ = all_pages(
        wc, "orders", modified_after=cut, dates_are_gmt="true", orderby="modified", order="asc"
    )
    assert [o["id"] for o in later] == [o["id"] for o in everything if o["date_modified_gmt"] > cut]
    customers, _ = all_pages(wc, "customers", modified_after="2100-01-01T00:00:00", orderby="id")
    assert len(customers) == SIZES.customers  # no such filter for customers: plan the re-sync accordingly


def test_site_time_and_gmt_differ_as_on_real_stores(wc: API) -> None:
    order = wc.get("orders", params={"per_page": 1}).json()[0]
    local = datetime.fromisoformat(order["date_created"])
    gmt = datetime.fromisoformat(order["date_created_gmt"])
    assert gmt - local == timedelta(hours=3)


def test_key_sets_match_the_real_payloads(wc: API) -> None:
    customer = wc.get("customers", params={"per_page": 1}).json()[0]
    order = wc.get("orders", params={"per_page": 1}).json()[0]
    products, _ = all_pages(wc, "products")
    simple = next(p for p in products if p["type"] == "simple")
    variable = next(p for p in products if p["type"] == "variable")
    variation = wc.get(f"products/{variable['id']}/variations").json()[0]
    assert set(customer) == set(fixture("woocommerce/rest-customer.json"))
    assert set(customer["billing"]) == set(fixture("woocommerce/rest-customer.json")["billing"])
    assert set(order) == set(fixture("woocommerce/rest-order.json"))
    assert set(order["line_items"][0]) == set(fixture("woocommerce/rest-order.json")["line_items"][0])
    assert set(simple) == set(fixture("woocommerce/rest-product-simple.json")) | {
        "default_attributes",
        "variations",
        "grouped_products",
        "menu_order",
        "meta_data",
        "_links",
    }
    assert set(variable) == set(fixture("woocommerce/rest-product-variable.json"))
    assert set(variation) == set(fixture("woocommerce/rest-product-variation.json"))


def test_order_meta_carries_attribution_and_tracking(wc: API) -> None:
    orders, _ = all_pages(wc, "orders")
    keys = {m["key"] for o in orders for m in o["meta_data"]}
    assert {
        "_wc_order_attribution_source_type",
        "_wc_order_attribution_utm_source",
        "_wc_shipment_tracking_items",
    } <= keys
    assert {o["created_via"] for o in orders} >= {"checkout", "admin", "store-api"}
    assert any(o["customer_id"] == 0 for o in orders)  # guests


def test_bad_requests_get_the_real_errors(wc: API, sandbox: SandboxServer) -> None:
    assert wc.get("orders", params={"per_page": 101}).status_code == 400
    assert wc.get("orders", params={"page": 99}).json()["code"] == "woocommerce_rest_invalid_page_number"
    assert wc.get("orders/1").json()["code"] == "woocommerce_rest_shop_order_invalid_id"
    url, key, _secret = site_of(sandbox.world)
    forged = API(url=url, consumer_key=key, consumer_secret="cs_" + "0" * 40, version="wc/v3")
    answer = forged.get("orders")
    assert answer.status_code == 401 and answer.json()["code"] == "woocommerce_rest_authentication_error"


def test_basic_auth_is_refused_over_plain_http_and_accepted_behind_tls(sandbox: SandboxServer) -> None:
    url, key, secret = site_of(sandbox.world)
    endpoint = f"{url}/wp-json/wc/v3/orders"
    assert requests.get(endpoint, auth=(key, secret), timeout=5).status_code == 401
    next(iter(sandbox.world.woo.values())).ssl = True
    assert requests.get(endpoint, auth=(key, secret), timeout=5).status_code == 200
    assert requests.get(endpoint, params={"consumer_key": key, "consumer_secret": secret}, timeout=5).ok


def test_oauth_nonces_and_timestamps_are_checked(sandbox: SandboxServer) -> None:
    url, key, secret = site_of(sandbox.world)
    endpoint = f"{url}/wp-json/wc/v3/orders"
    params = {
        "oauth_consumer_key": key,
        "oauth_timestamp": str(int(time.time())),
        "oauth_nonce": "abc123",
        "oauth_signature_method": "HMAC-SHA1",
    }
    params["oauth_signature"] = independent_oauth_signature("GET", endpoint, params, secret)
    assert requests.get(endpoint, params=params, timeout=5).status_code == 200
    assert requests.get(endpoint, params=params, timeout=5).status_code == 401  # nonce reused
    stale = {**params, "oauth_nonce": "n2", "oauth_timestamp": str(int(time.time()) - 3600)}
    stale["oauth_signature"] = independent_oauth_signature("GET", endpoint, stale, secret)
    assert requests.get(endpoint, params=stale, timeout=5).status_code == 401


def independent_oauth_signature(method: str, url: str, params: dict[str, str], secret: str) -> str:
    """RFC 5849 §3.4 written out here, independently of the sandbox and the client."""
    from urllib.parse import quote

    enc = lambda v: quote(str(v), safe="~")  # noqa: E731
    pairs = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()) if k != "oauth_signature")
    base = "&".join([method, enc(url), enc(pairs)])
    digest = hmac.new(f"{secret}&".encode(), base.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def test_trash_then_delete_behave_as_the_real_api(wc: API) -> None:
    order_id = wc.get("orders", params={"per_page": 1}).json()[0]["id"]
    assert wc.delete(f"orders/{order_id}").status_code == 200
    assert wc.get(f"orders/{order_id}").json()["status"] == "trash"
    assert order_id not in {o["id"] for o in all_pages(wc, "orders")[0]}
    assert order_id in {o["id"] for o in wc.get("orders", params={"status": "trash"}).json()}
    assert wc.delete(f"orders/{order_id}", params={"force": "true"}).status_code == 200
    assert wc.get(f"orders/{order_id}").status_code == 404
    customer_id = wc.get("customers", params={"per_page": 1}).json()[0]["id"]
    assert wc.delete(f"customers/{customer_id}").status_code == 501


def verify(body: bytes, secret: str, signature: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)


def test_webhooks_ping_then_deliver_signed_payloads(
    wc: API, sandbox: SandboxServer, receiver: Receiver
) -> None:
    created = wc.post(
        "webhooks", {"topic": "order.updated", "delivery_url": receiver.url, "secret": "s3cret"}
    )
    assert created.status_code == 201 and "secret" not in created.json()
    ping = receiver.wait_for(1)[0]
    assert ping.form == {"webhook_id": str(created.json()["id"])}
    assert not any(h.lower().startswith("x-wc-") for h in ping.headers)
    mutated = requests.post(
        f"{sandbox.url}/_sandbox/mutate",
        json={"platform": "woocommerce", "store": "site-1", "entity": "orders", "op": "update", "count": 3},
    )
    delivered = receiver.wait_for(4)[1:]
    assert len(delivered) == 3
    for d in delivered:
        assert d.headers["X-Wc-Webhook-Topic"] == "order.updated"
        assert d.headers["User-Agent"].startswith("WooCommerce/")
        assert verify(d.body, "s3cret", d.headers["X-Wc-Webhook-Signature"])
    assert sorted(json.loads(d.body)["id"] for d in delivered) == sorted(mutated.json()["ids"])


def test_deleted_events_carry_only_the_id(wc: API, sandbox: SandboxServer, receiver: Receiver) -> None:
    wc.post("webhooks", {"topic": "order.deleted", "delivery_url": receiver.url})
    receiver.wait_for(1)
    ids = requests.post(
        f"{sandbox.url}/_sandbox/mutate",
        json={"platform": "woocommerce", "store": "site-1", "entity": "orders", "op": "delete"},
    ).json()["ids"]
    assert json.loads(receiver.wait_for(2)[1].body) == {"id": ids[0]}


def test_seventh_consecutive_failure_disables_the_webhook(
    wc: API, sandbox: SandboxServer, receiver: Receiver
) -> None:
    hook = wc.post("webhooks", {"topic": "customer.updated", "delivery_url": receiver.url}).json()
    receiver.wait_for(1)
    receiver.statuses = [500] * 10
    for _ in range(8):
        requests.post(
            f"{sandbox.url}/_sandbox/mutate",
            json={"platform": "woocommerce", "store": "site-1", "entity": "customers", "op": "update"},
        )
        sandbox.world.dispatcher.wait_idle()
    assert len(receiver.received) == 1 + 7  # no retries; nothing sent once disabled
    assert wc.get(f"webhooks/{hook['id']}").json()["status"] == "disabled"


def test_app_key_approval_posts_keys_then_returns(sandbox: SandboxServer, receiver: Receiver) -> None:
    url = sandbox.world.woo_url("site-1")
    params = {
        "app_name": "CRM",
        "scope": "read_write",
        "user_id": "acct-1",
        "return_url": "http://127.0.0.1/done",
        "callback_url": receiver.url,
    }
    answer = requests.get(f"{url}/wc-auth/v1/authorize", params=params, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    assert parse_qs(urlparse(answer.headers["Location"]).query) == {"success": ["1"], "user_id": ["acct-1"]}
    keys = json.loads(receiver.received[0].body)
    assert set(keys) == {"key_id", "user_id", "consumer_key", "consumer_secret", "key_permissions"}
    wc = API(
        url=url, consumer_key=keys["consumer_key"], consumer_secret=keys["consumer_secret"], version="wc/v3"
    )
    assert wc.get("orders").status_code == 200


def test_app_key_approval_deletes_the_key_if_the_callback_is_not_exactly_200(
    sandbox: SandboxServer, receiver: Receiver
) -> None:
    receiver.statuses = [201]
    url = sandbox.world.woo_url("site-1")
    params = {
        "app_name": "CRM",
        "scope": "read",
        "user_id": "1",
        "return_url": "http://x",
        "callback_url": receiver.url,
    }
    before = len(sandbox.world.woo["site-1"].keys)
    answer = requests.get(f"{url}/wc-auth/v1/authorize", params=params, allow_redirects=False, timeout=10)
    assert answer.status_code == 401 and len(sandbox.world.woo["site-1"].keys) == before
    missing = requests.get(f"{url}/wc-auth/v1/authorize", params={"app_name": "CRM"}, timeout=10)
    assert missing.status_code == 400
    sandbox.world.insecure_loopback_callbacks = False
    plain = requests.get(f"{url}/wc-auth/v1/authorize", params={**params, "scope": "read"}, timeout=10)
    assert plain.status_code == 400 and "SSL" in plain.json()["message"]


def test_a_revoked_key_gets_401(wc: API, sandbox: SandboxServer) -> None:
    requests.post(f"{sandbox.url}/_sandbox/faults", json={"revoke": "site-1"}, timeout=5)
    assert wc.get("orders").status_code == 401


def test_injected_429_storm_is_visible_and_clears(wc: API, sandbox: SandboxServer) -> None:
    requests.post(f"{sandbox.url}/_sandbox/faults", json={"rate_429": 1.0}, timeout=5)
    answer = wc.get("orders")
    assert answer.status_code == 429 and answer.headers["Retry-After"]
    requests.post(f"{sandbox.url}/_sandbox/faults", json={}, timeout=5)
    assert wc.get("orders").status_code == 200  # the storm is over within the same test
