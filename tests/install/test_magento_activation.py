"""Connecting a Magento store by activating an integration: the sandbox's Magento (as the
admin's Activate) POSTs the consumer key, secret and verifier to `/magento/callback` and
opens `/magento/identity`; the signed-in merchant confirms, the connector runs the OAuth 1.0a
exchange (request token, access token, HMAC-SHA256 signed, checked by the sandbox) and the
store joins the merchant's account with the access token sealed. A replayed or unknown
identity link, a wrong consumer secret and a malformed callback connect nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests
from sqlalchemy import select

from connector.db import session
from connector.db.models import Store
from connector.errors import BadInput
from platforms.magento.activation import Activation, exchange
from sandbox.generator import Sizes
from sandbox.world import World
from tests.rig import Rig, build, signed_in

pytestmark = pytest.mark.slow


@pytest.fixture
def rig(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    world = World(seed=5, sizes=Sizes(customers=6, orders=6, products=3), magento_stores=1)
    yield from build(app_env, world, redis_url)


def activate(rig: Rig) -> dict[str, Any]:
    """The admin clicks Activate on an integration pointed at the connector."""
    entry = rig.sandbox.world.manifest()["magento"]["stores"][0]
    body = {"callback_url": f"{rig.url}/magento/callback", "identity_link": f"{rig.url}/magento/identity"}
    answer = requests.post(f"{entry['url']}/_sandbox/activate", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def form_of(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', page))


def magento_stores(rig: Rig) -> list[Store]:
    with session(rig.app) as s:
        found = list(s.scalars(select(Store).where(Store.platform == "magento")))
        s.expunge_all()
    return found


def test_activating_an_integration_connects_the_store_to_the_signed_in_account(rig: Rig) -> None:
    entry = rig.sandbox.world.manifest()["magento"]["stores"][0]
    browser = signed_in(rig)
    # given the admin activated the integration: the identity link opens in their browser
    identity = activate(rig)["identity_url"]
    page = browser.get(identity, timeout=30)
    assert page.status_code == 200 and entry["url"] in page.text and magento_stores(rig) == []
    # when the merchant confirms
    confirmed = browser.post(f"{rig.url}/magento/identity", data=form_of(page.text), allow_redirects=False)
    # then the store is connected to their account and Magento's admin is sent back to
    assert confirmed.status_code == 302, confirmed.text
    assert confirmed.headers["Location"].startswith(entry["url"] + "/admin/")
    [store] = magento_stores(rig)
    assert (store.domain, store.account_id) == (entry["url"], rig.shop.account_id)
    token = rig.app.extensions["crm.vault"].open(store.credentials)["access_token"]
    assert token != entry["access_token"] and token.encode() not in (store.credentials or b"")
    customers = requests.get(
        f"{entry['url']}/rest/V1/customers/search",
        params={"searchCriteria": ""},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert customers.status_code == 200 and customers.json()["total_count"] == 6
    # and the same link, replayed, connects nothing again
    again = browser.post(f"{rig.url}/magento/identity", data=form_of(page.text), allow_redirects=False)
    assert again.status_code == 400 and len(magento_stores(rig)) == 1


def test_what_is_not_a_pending_activation_connects_nothing(rig: Rig) -> None:
    browser = signed_in(rig)
    # an identity link nobody activated, or one opened by someone not signed in
    unknown = browser.get(f"{rig.url}/magento/identity", params={"oauth_consumer_key": "a" * 32}, timeout=30)
    assert unknown.status_code == 400 and "No activation" in unknown.text
    identity = activate(rig)["identity_url"]
    stranger = requests.get(identity, allow_redirects=False, timeout=30)
    assert stranger.status_code == 302 and "/login" in stranger.headers["Location"]
    # a callback that is not Magento's
    for form in ({}, {"oauth_consumer_key": "x", "store_base_url": "http://127.0.0.1:9/"}):
        bad = requests.post(f"{rig.url}/magento/callback", data=form, timeout=30)
        assert bad.status_code == 400, bad.text
    # a confirmation without the form's CSRF token
    page = browser.get(identity, timeout=30)
    forged = {k: v for k, v in form_of(page.text).items() if k != "csrf_token"}
    assert browser.post(f"{rig.url}/magento/identity", data=forged, timeout=30).status_code == 400
    assert magento_stores(rig) == []


def test_the_store_refuses_an_exchange_signed_with_the_wrong_secret(rig: Rig) -> None:
    entry = rig.sandbox.world.manifest()["magento"]["stores"][0]
    key = activate(rig)["consumer_key"]
    consumer = rig.sandbox.world.magento["magento-1"].consumers[key]
    wrong = Activation(entry["url"], key, "f" * 32, consumer["verifier"])
    with pytest.raises(BadInput, match="signature_invalid"):
        exchange(wrong)
    right = Activation(entry["url"], key, consumer["secret"], "0" * 32)
    with pytest.raises(BadInput, match="verifier_invalid"):
        exchange(right)
