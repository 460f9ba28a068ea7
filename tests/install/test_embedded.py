"""The embedded app: session tokens verified on every request, managed install by token exchange."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
import redis
import requests
from sqlalchemy import select

from connector.db import session
from connector.db.models import Store
from platforms.shopify.subscriptions import SUBSCRIPTIONS as SHOPIFY_TOPICS
from sandbox.generator import Sizes
from sandbox.world import World
from tests.rig import SHOP, Rig, build

pytestmark = pytest.mark.slow


@pytest.fixture
def rig(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    yield from build(app_env, World(seed=24, sizes=Sizes(10, 10, 5)), redis_url)


def token(rig: Rig, **claims: object) -> str:
    minted: str = requests.post(
        f"{rig.sandbox.url}/_sandbox/session-token", json={"store": SHOP}, timeout=5
    ).json()["session_token"]
    if not claims:
        return minted
    payload = {**jwt.decode(minted, options={"verify_signature": False}), **claims}
    return jwt.encode(payload, str(claims.pop("_secret", rig.sandbox.world.api_secret)), algorithm="HS256")


def test_a_shop_without_a_token_is_installed_by_token_exchange(rig: Rig) -> None:
    with session(rig.app) as s:  # the shop opened the app before any OAuth install
        s.delete(s.get(Store, rig.shop.id))
        s.commit()
    answer = requests.get(f"{rig.url}/shopify/app", params={"id_token": token(rig)}, timeout=30)
    assert answer.status_code == 200, answer.text
    policy = answer.headers["Content-Security-Policy"]
    assert f"frame-ancestors https://{SHOP} https://admin.shopify.com" in policy  # the shop's admin only
    assert "default-src 'self'" in policy and "X-Frame-Options" not in answer.headers
    with session(rig.app) as s:
        store = s.scalar(select(Store).where(Store.domain == SHOP))
        assert store is not None
        credentials = rig.app.extensions["crm.vault"].open(store.credentials)
    assert credentials["access_token"] in rig.sandbox.world.shops[SHOP].tokens
    assert len(rig.sandbox.world.shops[SHOP].subscriptions) == len(SHOPIFY_TOPICS) == 22
    again = requests.get(
        f"{rig.url}/shopify/app", headers={"Authorization": f"Bearer {token(rig)}"}, timeout=30
    )
    assert again.status_code == 200


# Times are offsets from the moment the test runs (not from collection, which can be minutes earlier).
@pytest.mark.parametrize(
    ("claims", "offsets"),
    [
        ({"_secret": "not-the-app-secret-but-long-enough-for-hs256"}, {}),
        ({"aud": "another-app"}, {}),
        ({}, {"exp": -120}),
        ({}, {"nbf": 600}),
        ({"dest": "https://other-shop.myshopify.com"}, {}),
    ],
    ids=["secret", "aud", "expired", "not-yet-valid", "dest"],
)
def test_bad_session_tokens_are_refused(rig: Rig, claims: dict[str, object], offsets: dict[str, int]) -> None:
    claims = {**claims, **{name: int(time.time()) + offset for name, offset in offsets.items()}}
    seen = rig.sandbox.world.requests_seen
    answer = requests.get(f"{rig.url}/shopify/app", params={"id_token": token(rig, **claims)}, timeout=10)
    assert answer.status_code == 401
    assert rig.sandbox.world.requests_seen == seen + 1  # only the minting call above reached the shop
    assert requests.get(f"{rig.url}/shopify/app", timeout=10).status_code == 401
