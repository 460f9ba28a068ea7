"""The Shopify side, driven with ShopifyAPI (OAuth/session helpers and its GraphQL client)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlparse

import pytest
import requests
import shopify

from sandbox.server import SandboxServer
from sandbox.world import World
from tests.builders import fixture
from tests.conftest_sandbox import SIZES, Receiver

VERSION = "2026-07"


@pytest.fixture
def shop(sandbox: SandboxServer) -> dict[str, Any]:
    entry: dict[str, Any] = sandbox.world.manifest()["shopify"]["shops"][0]
    entry["base"] = sandbox.world.shop_url_template().format(shop=entry["domain"])
    return entry


@pytest.fixture
def graphql(shop: dict[str, Any]) -> Iterator[Any]:
    """ShopifyAPI's GraphQL client pointed at the sandbox shop (its site is process-wide state)."""
    shopify.ShopifyResource.set_site(f"{shop['base']}/admin/api/{VERSION}")
    shopify.ShopifyResource.set_headers({"X-Shopify-Access-Token": shop["access_token"]})

    def run(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(shopify.GraphQL().execute(query, variables))
        return answer

    yield run
    shopify.ShopifyResource.clear_session()


PAGE = """query($after: String, $q: String) {
  %s(first: 100, after: $after, sortKey: UPDATED_AT, query: $q) {
    edges { cursor node { id updatedAt } } pageInfo { hasNextPage endCursor } } }"""


def walk(graphql: Any, entity: str, search: str | None = None) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        answer = graphql(PAGE % entity, {"after": after, "q": search})
        assert "errors" not in answer, answer
        conn = answer["data"][entity]
        ids += [e["node"]["id"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return ids
        after = conn["pageInfo"]["endCursor"]
        time.sleep(0.05)  # let the bucket breathe between pages of 100


@pytest.mark.parametrize(
    ("entity", "expected"),
    [("customers", SIZES.customers), ("orders", SIZES.orders), ("products", SIZES.products)],
)
def test_cursor_pagination_visits_every_record_exactly_once(graphql: Any, entity: str, expected: int) -> None:
    ids = walk(graphql, entity)
    assert len(ids) == len(set(ids)) == expected
    assert all(int(i.rsplit("/", 1)[-1]) > 2**53 for i in ids)  # exact 64-bit ids, as Shopify's


def test_updated_at_search_and_changes_after_a_cursor(graphql: Any, sandbox: SandboxServer) -> None:
    first = graphql(PAGE % "orders", {"after": None, "q": None})["data"]["orders"]["edges"]
    cut = first[-1]["node"]["updatedAt"]
    later = walk(graphql, "orders", f"updated_at:>'{cut}'")
    assert len(later) == SIZES.orders - 100
    ids = requests.post(
        f"{sandbox.url}/_sandbox/mutate",
        json={
            "platform": "shopify",
            "store": "sandbox-shop-1.myshopify.com",
            "entity": "orders",
            "op": "update",
            "count": 5,
        },
    ).json()["ids"]
    newest = graphql(PAGE % "orders", {"after": None, "q": "updated_at:>'2099-01-01T00:00:00Z'"})
    assert newest["data"]["orders"]["edges"] == []
    changed = walk(
        graphql,
        "orders",
        f"updated_at:>'{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - 60))}'",
    )
    assert sorted(int(i.rsplit("/", 1)[-1]) for i in changed) == sorted(ids)


def test_orders_carry_the_fields_the_connector_maps(graphql: Any) -> None:
    query = """{ orders(first: 20) { nodes {
      id name sourceName displayFinancialStatus displayFulfillmentStatus createdAt updatedAt
      totalPriceSet { shopMoney { amount currencyCode } } totalRefundedSet { shopMoney { amount } }
      customer { id email } email phone shippingAddress { countryCodeV2 provinceCode city }
      channelInformation { channelDefinition { handle channelName } }
      customerJourneySummary {
        firstVisit { landingPage referrerUrl utmParameters { source medium campaign } } }
      fulfillments(first: 2) {
        status displayStatus deliveredAt trackingInfo(first: 3) { company number url } }
      lineItems(first: 5) {
        nodes { sku quantity originalUnitPriceSet { shopMoney { amount } } product { id } } }
    } } }"""
    answer = graphql(query)
    assert "errors" not in answer, answer
    orders = answer["data"]["orders"]["nodes"]
    assert any(o["customer"] is None for o in orders)  # guest checkouts
    assert {o["channelInformation"]["channelDefinition"]["handle"] for o in orders} >= {"web", "pos"}
    tracked = [t for o in orders for f in o["fulfillments"] for t in f["trackingInfo"]]
    assert tracked and all(t["number"] and t["url"].startswith("https://") for t in tracked)
    utm = [
        o["customerJourneySummary"]["firstVisit"]["utmParameters"]
        for o in orders
        if o["customerJourneySummary"]
    ]
    assert any(u and u["source"] for u in utm)


# 250 orders a page, each with its shipping address 54 times under aliases (an address: 1 point)
HEAVY = (
    "{ orders(first: 250) { nodes { id "
    + " ".join(f"a{i}: shippingAddress {{ city }}" for i in range(54))
    + " } } }"
)


def test_throttling_engages_at_the_plan_numbers(graphql: Any, sandbox: SandboxServer) -> None:
    answers = [graphql(HEAVY) for _ in range(3)]
    costs = [a["extensions"]["cost"] for a in answers]
    assert costs[0]["requestedQueryCost"] == 2 + 11 * (1 + 54)  # 607: 250 nodes are charged as 11
    assert costs[0]["actualQueryCost"] == costs[0]["requestedQueryCost"]  # a full page: no refund
    assert costs[0]["throttleStatus"]["maximumAvailable"] == 1000.0
    assert costs[0]["throttleStatus"]["restoreRate"] == 100.0
    throttled = [
        a for a in answers if a.get("errors") and a["errors"][0]["extensions"]["code"] == "THROTTLED"
    ]
    assert throttled, "three 607-point queries in a row must exhaust a 1000-point bucket"
    assert all(a["extensions"]["cost"]["actualQueryCost"] is None for a in throttled)
    short = (
        costs[0]["requestedQueryCost"]
        - throttled[-1]["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
    )
    time.sleep(short / 100 + 0.3)  # the bucket restores at 100 points/s
    assert "errors" not in graphql(HEAVY)


def test_a_query_over_the_single_query_limit_is_refused(graphql: Any) -> None:
    # 2 + 11 x (1 + lineItems 2 + 11 x (1 + product 1 + variants 2 + 11 x 1)) = 1,850 points
    nested = """{ orders(first: 250) { nodes { lineItems(first: 250) { nodes {
      product { variants(first: 250) { nodes { id } } } } } } } }"""
    answer = graphql(nested)
    assert answer["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 1850
    assert "data" not in answer or answer.get("data") is None


def test_orders_older_than_60_days_need_read_all_orders(sandbox: SandboxServer, shop: dict[str, Any]) -> None:
    shopify_shop = sandbox.world.shops[shop["domain"]]
    shopify_shop.tokens["shpat_limited_0000000000000000"] = {"scope": "read_orders", "expires_at": None}
    answer = requests.post(
        f"{shop['base']}/admin/api/{VERSION}/graphql.json",
        headers={"X-Shopify-Access-Token": "shpat_limited_0000000000000000"},
        json={"query": "{ ordersCount { count } }"},
        timeout=10,
    ).json()
    assert 0 < answer["data"]["ordersCount"]["count"] < SIZES.orders


def test_bulk_operation_streams_jsonl_with_parent_ids(
    graphql: Any, receiver: Receiver, sandbox: SandboxServer
) -> None:
    graphql(
        """mutation($uri: String!) { webhookSubscriptionCreate(topic: BULK_OPERATIONS_FINISH,
               webhookSubscription: {uri: $uri, format: JSON}) { userErrors { message } } }""",
        {"uri": receiver.url},
    )
    started = graphql(
        'mutation { bulkOperationRunQuery(query: """{ orders { edges { node { id name '
        'lineItems { edges { node { id sku quantity } } } } } } }""") '
        "{ bulkOperation { id status } userErrors { message } } }"
    )
    assert started["data"]["bulkOperationRunQuery"]["userErrors"] == []
    op: dict[str, Any] = {}
    for _ in range(200):
        op = graphql("{ currentBulkOperation { id status objectCount rootObjectCount url } }")["data"][
            "currentBulkOperation"
        ]
        if op["status"] == "COMPLETED":
            break
        time.sleep(0.05)
    assert op["status"] == "COMPLETED" and int(op["rootObjectCount"]) == SIZES.orders
    lines = [json.loads(line) for line in requests.get(op["url"], timeout=10).text.splitlines()]
    roots = [x for x in lines if "__parentId" not in x]
    children = [x for x in lines if "__parentId" in x]
    assert len(roots) == SIZES.orders and len(lines) == int(op["objectCount"])
    root_ids = {r["id"] for r in roots}
    assert children and all(c["__parentId"] in root_ids for c in children)
    seen: set[str] = set()
    for line in lines:  # parents come before their children
        assert "__parentId" not in line or line["__parentId"] in seen
        seen.add(line["id"])
    finish = json.loads(receiver.wait_for(1)[0].body)
    assert finish["status"] == "completed" and finish["admin_graphql_api_id"] == op["id"]
    polled = graphql(
        "query($id: ID!) { node(id: $id) { ... on BulkOperation { status url } } }", {"id": op["id"]}
    )
    assert polled["data"]["node"] == {"status": "COMPLETED", "url": op["url"]}


def independent_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def subscribe(graphql: Any, topic: str, uri: str) -> None:
    answer = graphql(
        """mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri}) {
        webhookSubscription { id topic } userErrors { message } } }""",
        {"topic": topic, "uri": uri},
    )
    assert answer["data"]["webhookSubscriptionCreate"]["userErrors"] == [], answer


def mutate(sandbox: SandboxServer, entity: str, op: str, count: int = 1) -> list[int]:
    answer = requests.post(
        f"{sandbox.url}/_sandbox/mutate",
        json={
            "platform": "shopify",
            "store": "sandbox-shop-1.myshopify.com",
            "entity": entity,
            "op": op,
            "count": count,
        },
        timeout=10,
    )
    ids: list[int] = answer.json()["ids"]
    return ids


@pytest.mark.parametrize(
    ("topic", "entity", "op", "sample"),
    [
        ("CUSTOMERS_CREATE", "customers", "create", "webhook-customers-create.json"),
        ("CUSTOMERS_DELETE", "customers", "delete", "webhook-customers-delete.json"),
        ("ORDERS_CREATE", "orders", "create", "webhook-orders-create.json"),
        ("ORDERS_DELETE", "orders", "delete", "webhook-orders-delete.json"),
        ("PRODUCTS_CREATE", "products", "create", "webhook-products-create.json"),
        ("PRODUCTS_UPDATE", "products", "update", "webhook-products-update.json"),
    ],
)
def test_webhooks_are_signed_rest_payloads_shaped_like_the_real_ones(
    graphql: Any, sandbox: SandboxServer, receiver: Receiver, topic: str, entity: str, op: str, sample: str
) -> None:
    subscribe(graphql, topic, receiver.url)
    ids = mutate(sandbox, entity, op)
    got = receiver.wait_for(1)[0]
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert independent_hmac(sandbox.world.api_secret, got.body) == headers["x-shopify-hmac-sha256"]
    for name in (
        "x-shopify-topic",
        "x-shopify-shop-domain",
        "x-shopify-api-version",
        "x-shopify-webhook-id",
        "x-shopify-event-id",
        "x-shopify-triggered-at",
    ):
        assert headers[name]
    payload = json.loads(got.body)
    assert payload["id"] == ids[0]
    assert set(payload) == set(fixture(f"shopify/{sample}"))
    if entity == "orders" and op == "create":
        real = fixture(f"shopify/{sample}")
        assert set(payload["line_items"][0]) == set(real["line_items"][0])
        assert set(payload["shipping_address"]) == set(real["shipping_address"])


def test_failed_deliveries_are_retried_with_the_same_webhook_id(
    graphql: Any, sandbox: SandboxServer, receiver: Receiver
) -> None:
    sandbox.world.retry_scale = 0.0002  # 4 hours become about 3 seconds
    subscribe(graphql, "PRODUCTS_UPDATE", receiver.url)
    receiver.statuses = [500, 302]
    mutate(sandbox, "products", "update")
    attempts = receiver.wait_for(3)
    assert len(attempts) == 3  # 3xx is a failure too
    assert len({a.headers["X-Shopify-Webhook-Id"] for a in attempts}) == 1
    assert attempts[0].body == attempts[2].body  # the original payload


def test_eight_consecutive_failures_delete_an_api_subscription(
    graphql: Any, sandbox: SandboxServer, receiver: Receiver
) -> None:
    sandbox.world.retry_scale = 0.00002
    subscribe(graphql, "PRODUCTS_UPDATE", receiver.url)
    receiver.statuses = [500] * 50
    mutate(sandbox, "products", "update")
    receiver.wait_for(9)
    sandbox.world.dispatcher.wait_idle()
    listed = graphql("{ webhookSubscriptions(first: 10) { nodes { id topic } } }")
    assert listed["data"]["webhookSubscriptions"]["nodes"] == []


def test_uninstall_and_compliance_topics_reach_the_app(
    sandbox: SandboxServer, receiver: Receiver, shop: dict[str, Any]
) -> None:
    requests.post(
        f"{sandbox.url}/_sandbox/app",
        json={
            "compliance_uri": receiver.url,
            "subscriptions": [{"topic": "app/uninstalled", "uri": receiver.url}],
        },
        timeout=5,
    )
    customer_id = sandbox.world.shops[shop["domain"]].store.id_of("customers", 3)
    for topic in ("customers/data_request", "customers/redact"):
        requests.post(
            f"{sandbox.url}/_sandbox/privacy",
            json={"store": shop["domain"], "topic": topic, "customer_id": customer_id},
            timeout=5,
        )
    sandbox.world.retry_scale = 0.00001  # 48 hours become about 2 seconds
    requests.post(f"{sandbox.url}/_sandbox/uninstall", json={"store": shop["domain"]}, timeout=5)
    got = {r.headers["X-Shopify-Topic"]: json.loads(r.body) for r in receiver.wait_for(4)}
    assert set(got["shop/redact"]) == set(fixture("shopify/webhook-shop-redact.json"))
    assert set(got["customers/data_request"]) == set(fixture("shopify/webhook-customers-data_request.json"))
    assert set(got["customers/redact"]) == set(fixture("shopify/webhook-customers-redact.json"))
    assert set(got["app/uninstalled"]) == set(fixture("shopify/webhook-app-uninstalled.json"))
    answer = requests.post(
        f"{shop['base']}/admin/api/{VERSION}/graphql.json",
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": shop["access_token"]},
        timeout=5,
    )
    assert answer.status_code == 401


def test_oauth_redirect_is_signed_as_shopify_signs_it(sandbox: SandboxServer, shop: dict[str, Any]) -> None:
    world: World = sandbox.world
    shopify.Session.setup(api_key=world.api_key, secret=world.api_secret)
    answer = requests.get(
        f"{shop['base']}/admin/oauth/authorize",
        params={
            "client_id": world.api_key,
            "scope": "read_orders,read_customers",
            "redirect_uri": "https://app.example/cb",
            "state": "nonce-123",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    params = dict(parse_qsl(urlparse(answer.headers["Location"]).query))
    assert set(params) == {"code", "hmac", "host", "shop", "state", "timestamp"}
    assert shopify.Session.validate_params(params)  # ShopifyAPI's own verification
    assert not shopify.Session.validate_params({**params, "shop": "evil.myshopify.com"})
    token = requests.post(
        f"{shop['base']}/admin/oauth/access_token",
        data={"client_id": world.api_key, "client_secret": world.api_secret, "code": params["code"]},
        timeout=5,
    ).json()
    assert set(token) == {"access_token", "scope"} and token["scope"] == "read_orders,read_customers"
    again = requests.post(
        f"{shop['base']}/admin/oauth/access_token",
        data={"client_id": world.api_key, "client_secret": world.api_secret, "code": params["code"]},
        timeout=5,
    )
    assert again.status_code == 400  # codes are single-use


def test_expiring_offline_tokens_refresh(sandbox: SandboxServer, shop: dict[str, Any]) -> None:
    world = sandbox.world
    location = requests.get(
        f"{shop['base']}/admin/oauth/authorize",
        params={"client_id": world.api_key, "scope": "read_orders", "redirect_uri": "https://app.example/cb"},
        allow_redirects=False,
        timeout=5,
    ).headers["Location"]
    code = dict(parse_qsl(urlparse(location).query))["code"]
    creds = {"client_id": world.api_key, "client_secret": world.api_secret}
    first = requests.post(
        f"{shop['base']}/admin/oauth/access_token", data={**creds, "code": code, "expiring": "1"}, timeout=5
    ).json()
    assert first["expires_in"] == 3600 and first["refresh_token"].startswith("shprt_")
    refreshed = requests.post(
        f"{shop['base']}/admin/oauth/access_token",
        data={**creds, "grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        timeout=5,
    ).json()
    assert refreshed["access_token"] != first["access_token"]
    reused = requests.post(
        f"{shop['base']}/admin/oauth/access_token",
        data={**creds, "grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        timeout=5,
    )
    assert reused.status_code == 400  # refresh tokens are single-use


def test_a_revoked_token_gets_401(graphql: Any, sandbox: SandboxServer, shop: dict[str, Any]) -> None:
    requests.post(f"{sandbox.url}/_sandbox/faults", json={"revoke": shop["domain"]}, timeout=5)
    with pytest.raises(Exception, match="401"):
        graphql("{ shop { name } }")
