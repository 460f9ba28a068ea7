"""Connecting a WooCommerce site through app-key approval, and refusing callbacks we did not ask for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests
from sqlalchemy import select

from connector.accounts.stores import describe
from connector.db import session
from connector.db.models import Store
from connector.runtime.queue import get_queue, make_worker
from sandbox.generator import Sizes
from sandbox.world import World
from tests.rig import Rig, build, connect_woo, signed_in

pytestmark = pytest.mark.slow


@pytest.fixture
def rig(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    yield from build(app_env, World(seed=22, sizes=Sizes(10, 10, 5)), redis_url)


def site_url(rig: Rig) -> str:
    url: str = rig.sandbox.world.manifest()["woocommerce"]["stores"][0]["url"]
    return url


def stores_at(rig: Rig, url: str) -> list[Store]:
    with session(rig.app) as s:
        return list(s.scalars(select(Store).where(Store.domain == url)))


def test_the_form_then_approval_connects_the_site_with_webhooks(rig: Rig) -> None:
    browser = signed_in(rig)
    form = browser.get(f"{rig.url}/woocommerce/connect", timeout=10)
    assert form.status_code == 200 and 'name="store_url"' in form.text
    with session(rig.app) as s:  # start from a site the connector does not know yet
        for store in s.scalars(select(Store).where(Store.platform == "woocommerce")):
            s.delete(store)
        s.commit()
    site = rig.sandbox.world.woo["site-1"]
    keys_before = set(site.keys)
    answer = connect_woo(rig, browser, site_url(rig))
    assert answer.status_code == 200 and "connected" in answer.json()["message"]
    [store] = stores_at(rig, site_url(rig))
    assert store.account_id == rig.shop.account_id  # the signed-in user's account, not a new one
    credentials = rig.app.extensions["crm.vault"].open(store.credentials)
    assert credentials["consumer_key"] in set(site.keys) - keys_before  # the new key, kept by the site
    assert len(site.webhooks) == 12 and all(h.status == "active" for h in site.webhooks.values())
    # and its first backfill was asked for at once: a worker brings every record in
    assert len(get_queue("sync", rig.redis)) == 3
    with rig.app.app_context():
        make_worker(rig.redis, ("sync",), simple=True).work(burst=True)
    listed = {e["domain"]: e for e in describe_all(rig)}
    counts = {name: e["count"] for name, e in listed[site_url(rig)]["entities"].items()}
    assert counts == rig.sandbox.world.manifest()["woocommerce"]["stores"][0]["counts"]


def describe_all(rig: Rig) -> list[dict[str, Any]]:
    with session(rig.app) as s:
        return describe(s, list(s.scalars(select(Store))))


def test_a_callback_for_a_connection_never_started_is_refused_and_the_key_dropped(rig: Rig) -> None:
    site = rig.sandbox.world.woo["site-1"]
    forged = {
        "key_id": 9,
        "user_id": "not-a-pending-connection",
        "consumer_key": "ck_" + "a" * 40,
        "consumer_secret": "cs_" + "b" * 40,
        "key_permissions": "read_write",
    }
    before = len(stores_at(rig, site_url(rig)))
    assert requests.post(f"{rig.url}/woocommerce/callback", json=forged, timeout=10).status_code == 400
    assert len(stores_at(rig, site_url(rig))) == before
    # and through the real approval: WooCommerce deletes keys whose callback is not answered 200
    keys_before = set(site.keys)
    approve = requests.get(
        f"{site_url(rig)}/wc-auth/v1/authorize",
        params={
            "app_name": "x",
            "scope": "read",
            "user_id": "nobody",
            "return_url": f"{rig.url}/woocommerce/return",
            "callback_url": f"{rig.url}/woocommerce/callback",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert approve.status_code == 401 and set(site.keys) == keys_before


def test_a_bad_store_url_is_refused(rig: Rig) -> None:
    browser = signed_in(rig)
    for url in ("ftp://shop.example.com", "not a url", "https://shop.example.com/?x=1"):
        answer = connect_woo(rig, browser, url, allow_redirects=False)
        assert answer.status_code == 400
