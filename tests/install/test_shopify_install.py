"""Installing on Shopify through the real browser-style redirects, and every way it is refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlparse

import pytest
import redis
import requests
from sqlalchemy import select

from connector.db import session
from connector.db.models import Store
from connector.runtime.queue import get_queue
from platforms.shopify.install import query_hmac
from platforms.shopify.subscriptions import SUBSCRIPTIONS as SHOPIFY_TOPICS
from sandbox.generator import Sizes
from sandbox.world import World
from tests.rig import SHOP, Rig, build

pytestmark = pytest.mark.slow


@pytest.fixture
def rig(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    yield from build(app_env, World(seed=21, sizes=Sizes(10, 10, 5)), redis_url)


def install(rig: Rig, browser: requests.Session) -> requests.Response:
    return browser.get(f"{rig.url}/shopify/install", params={"shop": SHOP}, timeout=30)


def test_a_merchant_installs_through_the_redirects(rig: Rig) -> None:
    browser = requests.Session()
    answer = install(rig, browser)
    assert answer.status_code == 200, answer.text
    assert [r.status_code for r in answer.history] == [302, 302]  # to authorize, back to our callback
    with session(rig.app) as s:
        store = s.scalar(select(Store).where(Store.domain == SHOP))
        assert store is not None and store.status == "active"
        credentials = rig.app.extensions["crm.vault"].open(store.credentials)
    assert credentials["refresh_token"].startswith("shprt_") and credentials["expires_at"] > time.time()
    shop = rig.sandbox.world.shops[SHOP]
    assert credentials["access_token"] in shop.tokens
    assert len(shop.subscriptions) == len(SHOPIFY_TOPICS) == 22  # webhooks registered on install
    queued = get_queue("sync", rig.redis).get_jobs()
    assert sorted(j.args[1] for j in queued) == ["checkouts", "customers", "orders", "products"]  # backfill
    assert install(rig, requests.Session()).status_code == 200  # re-installing reuses the store
    with session(rig.app) as s:
        assert len(s.scalars(select(Store).where(Store.domain == SHOP)).all()) == 1


def started(rig: Rig) -> tuple[requests.Session, dict[str, str]]:
    """A browser that started an install, and the callback parameters the shop would send."""
    browser = requests.Session()
    authorize = browser.get(
        f"{rig.url}/shopify/install", params={"shop": SHOP}, allow_redirects=False, timeout=10
    )
    back = requests.get(authorize.headers["Location"], allow_redirects=False, timeout=10)
    return browser, dict(parse_qsl(urlparse(back.headers["Location"]).query))


def resigned(params: dict[str, str], secret: str, **changes: str) -> dict[str, str]:
    changed = {k: v for k, v in {**params, **changes}.items() if k != "hmac"}
    return {**changed, "hmac": query_hmac(changed, secret)}


@pytest.mark.parametrize(
    "case",
    [
        "tampered hmac",
        "replayed state",
        "other state",
        "missing state",
        "stale timestamp",
        "evil.com",
        "x.myshopify.com.evil.com",
        "never started",
    ],
)
def test_refused_callbacks_make_no_outbound_request(rig: Rig, case: str) -> None:
    secret = rig.sandbox.world.api_secret
    browser, params = started(rig)
    if case == "tampered hmac":
        params["hmac"] = "0" * 64
    elif case == "replayed state":
        assert browser.get(f"{rig.url}/shopify/callback", params=params, timeout=10).status_code == 200
    elif case == "other state":
        params = resigned(params, secret, state="not-the-state")
    elif case == "missing state":
        params = resigned({k: v for k, v in params.items() if k != "state"}, secret)
    elif case == "stale timestamp":
        params = resigned(params, secret, timestamp=str(int(time.time()) - 3600))
    elif case in ("evil.com", "x.myshopify.com.evil.com"):
        params = resigned(params, secret, shop=case)
    elif case == "never started":
        browser = requests.Session()
    seen = rig.sandbox.world.requests_seen
    answer = browser.get(f"{rig.url}/shopify/callback", params=params, timeout=10)
    assert answer.status_code == 400, answer.text
    assert rig.sandbox.world.requests_seen == seen  # refused before any call to the shop


def test_a_replayed_cookie_cannot_spend_the_state_again(rig: Rig) -> None:
    """The state lives in Redis and is spent by the first callback: a copy of the browser's
    cookie taken before it (which still holds the state) is refused before any call to the shop."""
    browser, params = started(rig)
    captured = browser.cookies.get_dict()
    assert browser.get(f"{rig.url}/shopify/callback", params=params, timeout=30).status_code == 200
    replay = requests.Session()
    replay.cookies.update(captured)
    seen = rig.sandbox.world.requests_seen
    answer = replay.get(f"{rig.url}/shopify/callback", params=params, timeout=10)
    assert answer.status_code == 400 and "start again" in answer.json()["message"]
    assert rig.sandbox.world.requests_seen == seen


def test_install_requests_for_other_domains_are_refused(rig: Rig) -> None:
    for shop in ("evil.com", "x.myshopify.com.evil.com", "shop.myshopify.com/admin"):
        answer = requests.get(
            f"{rig.url}/shopify/install?{urlencode({'shop': shop})}", allow_redirects=False, timeout=10
        )
        assert answer.status_code == 400
    forged = {"shop": SHOP, "timestamp": str(int(time.time())), "hmac": "f" * 64}
    assert (
        requests.get(
            f"{rig.url}/shopify/install", params=forged, allow_redirects=False, timeout=10
        ).status_code
        == 400
    )
