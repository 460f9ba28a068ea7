"""Webhook test wiring: an app with a Shopify app secret, one store of each platform, a poster."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from connector import create_app
from connector.accounts.stores import account_named, connect_store, webhook_secret
from connector.db import session
from connector.runtime.queue import make_worker

SHOPIFY_SECRET = "test_secret_key"
SHOP = "shop1.myshopify.com"


@dataclass
class Stores:
    shopify_id: int
    woo_id: int
    woo_key: str
    woo_secret: str


@pytest.fixture
def hook_env(app_env: dict[str, str]) -> dict[str, str]:
    return {
        **app_env,
        "SHOPIFY_API_KEY": "key",
        "SHOPIFY_API_SECRET": SHOPIFY_SECRET,
        "SHOPIFY_API_SECRET_PREVIOUS": "old_secret",
    }


@pytest.fixture
def hook_app(hook_env: dict[str, str], redis_conn: redis.Redis) -> Iterator[Flask]:
    application = create_app(hook_env)
    with application.app_context():
        yield application
    application.extensions["crm.engine"].dispose()


@pytest.fixture
def stores(hook_app: Flask) -> Stores:
    vault = hook_app.extensions["crm.vault"]
    with session(hook_app) as s, s.begin():
        account = account_named(s, "test")
        shop = connect_store(
            s,
            vault,
            account=account,
            platform="shopify",
            domain=SHOP,
            credentials={"access_token": "shpat_x"},
        )
        site = connect_store(
            s,
            vault,
            account=account,
            platform="woocommerce",
            domain="https://woo.example",
            credentials={"consumer_key": "ck", "consumer_secret": "cs"},
        )
        secret = webhook_secret(vault, site)
        return Stores(shop.id, site.id, site.store_key, secret)


def b64_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post_shopify(
    app: Flask,
    topic: str,
    payload: Any,
    *,
    secret: str = SHOPIFY_SECRET,
    shop: str = SHOP,
    webhook_id: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> TestResponse:
    raw = body if body is not None else json.dumps(payload).encode()
    sent = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Webhook-Id": webhook_id or hashlib.md5(raw + topic.encode()).hexdigest(),
        "X-Shopify-Triggered-At": "2026-11-20T12:00:00Z",
        "X-Shopify-Hmac-Sha256": b64_hmac(secret, raw),
        "Content-Type": "application/json",
        **(headers or {}),
    }
    return app.test_client().post("/webhooks/shopify", data=raw, headers=sent)


def post_woo(
    app: Flask,
    stores: Stores,
    topic: str,
    payload: Any,
    *,
    secret: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> TestResponse:
    raw = body if body is not None else json.dumps(payload).encode()
    resource, event = topic.split(".")
    sent = {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": b64_hmac(secret or stores.woo_secret, raw),
        "X-WC-Webhook-ID": "1",
        "X-WC-Webhook-Delivery-ID": "abc",
        "Content-Type": "application/json",
        **(headers or {}),
    }
    return app.test_client().post(f"/webhooks/woocommerce/{stores.woo_key}", data=raw, headers=sent)


def work(app: Flask, conn: redis.Redis) -> None:
    make_worker(conn, ("webhooks",), simple=True).work(burst=True)


def one(app: Flask, statement: Any) -> Any:
    with app.extensions["crm.engine"].connect() as conn:
        return conn.execute(statement).first()


def count(app: Flask, model: Any) -> int:
    with app.extensions["crm.engine"].connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


@dataclass
class Platforms:
    """What the two platforms answer at the network edge (`responses`) for the confirmations
    the connector asks before a deletion, an uninstall or a site move acts."""

    shopify_records: set[str]  # gids the shop still has
    shopify_token_valid: bool
    woo_records: dict[str, dict[str, Any]]  # "orders/12" → the record the site still has
    woo_sites: set[str]  # site URLs that answer with the store's keys as themselves
    asked: list[str]  # the URL of every request the connector made
    shopify_query_fails: bool = False  # GraphQL answers errors and no data (a refused query)


@pytest.fixture
def platforms() -> Iterator[Platforms]:
    import re

    import responses

    said = Platforms(set(), True, {}, set(), [])

    def graphql(request: Any) -> tuple[int, dict[str, str], str]:
        said.asked.append(request.url)
        body = json.loads(request.body)
        if not said.shopify_token_valid:
            return 401, {}, json.dumps({"errors": "[API] Invalid API key or access token"})
        if said.shopify_query_fails:
            return 200, {}, json.dumps({"data": None, "errors": [{"message": "Invalid global id"}]})
        if "node(" in body["query"]:
            gid = body["variables"]["id"]
            node = {"id": gid} if gid in said.shopify_records else None
            return 200, {}, json.dumps({"data": {"node": node}})
        return 200, {}, json.dumps({"data": {"shop": {"id": "gid://shopify/Shop/1"}}})

    def woo_record(request: Any) -> tuple[int, dict[str, str], str]:
        said.asked.append(request.url)
        key = request.path_url.split("/wc/v3/")[1].split("?")[0]
        if key in said.woo_records:
            return 200, {}, json.dumps(said.woo_records[key])
        return 404, {}, json.dumps({"code": "woocommerce_rest_invalid_id", "message": "Invalid ID."})

    def system_status(request: Any) -> tuple[int, dict[str, str], str]:
        said.asked.append(request.url)
        site = request.url.split("/wp-json/")[0]
        if site not in said.woo_sites:
            return 401, {}, json.dumps({"code": "woocommerce_rest_authentication_error"})
        return 200, {}, json.dumps({"environment": {"home_url": f"{site}/", "site_url": f"{site}/"}})

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, re.compile(r"https://[^/]+/admin/api/[^/]+/graphql\.json"), graphql)
        mock.add_callback(
            responses.GET, re.compile(r"https://[^/]+/wp-json/wc/v3/system_status.*"), system_status
        )
        mock.add_callback(
            responses.GET, re.compile(r"https://woo\.example/wp-json/wc/v3/\w+/\d+.*"), woo_record
        )
        yield said
