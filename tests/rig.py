"""A connector app wired to a running sandbox with one Shopify shop and one WooCommerce
site connected, over real HTTP both ways (webhooks end to end, the sync engine)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis
import requests
from flask import Flask
from werkzeug.serving import make_server

from connector import create_app
from connector.accounts.stores import account_named, connect_store
from connector.db import session
from connector.db.models import Store
from connector.runtime.queue import connect, make_worker
from sandbox.server import SandboxServer
from sandbox.world import World
from webhooks.process import sweep

SHOP = "sandbox-shop-1.myshopify.com"


@dataclass
class Rig:
    app: Flask
    sandbox: SandboxServer
    url: str
    shop: Store
    site: Store
    redis: redis.Redis
    env: dict[str, str]

    def mutate(self, platform: str, entity: str, op: str, count: int) -> list[int]:
        store = SHOP if platform == "shopify" else "site-1"
        answer = requests.post(
            f"{self.sandbox.url}/_sandbox/mutate",
            json={"platform": platform, "store": store, "entity": entity, "op": op, "count": count},
            timeout=120,
        )
        assert answer.status_code == 200, answer.text
        ids: list[int] = answer.json()["ids"]
        return ids

    def settle(self) -> None:
        """Wait for the sandbox to deliver everything, then let a worker drain the inbox."""
        assert self.sandbox.world.dispatcher.wait_idle(timeout=300)
        with self.app.app_context():
            sweep()
            make_worker(self.redis, ("webhooks",), simple=True).work(burst=True)


def serve(app: Flask) -> tuple[str, Any]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def connect_pair(
    app: Flask, shop: dict[str, Any], site: dict[str, Any], account: str = "test"
) -> tuple[Store, Store]:
    """A manifest's shop and site connected to one merchant account (the shop with every scope)."""
    vault = app.extensions["crm.vault"]
    with session(app) as s, s.begin():
        owner = account_named(s, account)
        shop_store = connect_store(
            s,
            vault,
            account=owner,
            platform="shopify",
            domain=shop["domain"],
            credentials={"access_token": shop["access_token"]},
        )
        shop_store.scopes = "read_customers,read_orders,read_all_orders,read_products"
        site_store = connect_store(
            s,
            vault,
            account=owner,
            platform="woocommerce",
            domain=site["url"],
            credentials={"consumer_key": site["consumer_key"], "consumer_secret": site["consumer_secret"]},
        )
        s.flush()
        s.expunge_all()
        return shop_store, site_store


def build(app_env: dict[str, str], world: World, redis_url: str) -> Iterator[Rig]:
    sandbox = SandboxServer(world).start()
    placeholder = make_server("127.0.0.1", 0, Flask("x"))
    port = placeholder.server_port
    placeholder.server_close()
    manifest = world.manifest()
    env = {
        **app_env,
        "REDIS_URL": redis_url,
        "APP_URL": f"http://127.0.0.1:{port}",
        "SHOPIFY_API_KEY": manifest["shopify"]["api_key"],
        "SHOPIFY_API_SECRET": manifest["shopify"]["api_secret"],
        "SHOPIFY_SHOP_URL_TEMPLATE": manifest["shopify"]["shop_url_template"],
        # the sandbox's sites are on 127.0.0.1 (a test may say otherwise)
        "CONNECTOR_ALLOW_PRIVATE_URLS": app_env.get("CONNECTOR_ALLOW_PRIVATE_URLS", "true"),
    }
    app = create_app(env)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    with app.app_context():
        shop, site = connect_pair(app, manifest["shopify"]["shops"][0], manifest["woocommerce"]["stores"][0])
    rig = Rig(app, sandbox, env["APP_URL"], shop, site, connect(redis_url), env)
    yield rig
    server.shutdown()
    sandbox.stop()
    app.extensions["crm.engine"].dispose()


def build_synced(
    app_env: dict[str, str], world: World, redis_url: str, *, entities: str = "all"
) -> Iterator[Rig]:
    """A rig whose shop and site are backfilled (every entity their platform syncs, or only
    the three core ones) and whose insights are scored, as the hourly job would."""
    from connector.crm import insights
    from connector.db import get_engine
    from platforms.entities import CORE_ENTITIES, synced_by
    from sync.engine import run_step

    for rig in build(app_env, world, redis_url):
        with rig.app.app_context():
            for store in (rig.shop, rig.site):
                for entity in synced_by(store.platform) if entities == "all" else CORE_ENTITIES:
                    assert run_step(rig.app, store.id, entity, "test-owner").outcome == "done"
        with get_engine(rig.app).begin() as conn:
            for store in (rig.shop, rig.site):
                insights.score(conn, store.id)
        yield rig


def signed_in(rig: Rig, email: str = "owner@shop.example", password: str = "correct horse battery") -> Any:
    """A browser (requests.Session) signed in to the dashboard as a new user of the shop's
    account, through the real sign-in form and its CSRF token."""
    from sqlalchemy import select

    from connector.db import get_engine
    from connector.web.dashboard import create_user

    with get_engine(rig.app).begin() as conn:
        account = conn.execute(select(Store.account_id).where(Store.id == rig.shop.id)).scalar_one()
        create_user(conn, account, email, password)
    browser = requests.Session()
    page = browser.get(f"{rig.url}/login", timeout=10).text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"email": email, "password": password, "csrf_token": token}
    answer = browser.post(f"{rig.url}/login", data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return browser


def connect_woo(rig: Rig, browser: Any, site_url: str, **options: Any) -> Any:
    """Connect a WooCommerce site as the signed-in merchant does: the form, then posted with
    its CSRF token (the answer sends the browser on to the site's approval page)."""
    form = browser.get(f"{rig.url}/woocommerce/connect", params={"store_url": site_url}, timeout=10).text
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    data = {"store_url": site_url, "csrf_token": token}
    return browser.post(f"{rig.url}/woocommerce/connect", data=data, timeout=30, **options)
