"""A store's profile (its own name, locale and IANA time zone) is read from its platform when
it is added or checked, over real HTTP from the sandbox's Shopify shop (REST shop.json),
WooCommerce site (the WordPress REST index and system_status) and Magento store
(storeConfigs, storeViews); what the platform says is untrusted, so a zone or locale that
does not exist is ignored and the last good one (or the fallback) stays."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from connector import create_app
from connector.accounts import profiles
from connector.accounts.stores import account_named, connect_store
from connector.db import session
from connector.db.models import Store
from platforms.protocol import StoreProfile
from sandbox.generator import Sizes
from sandbox.server import SandboxServer
from sandbox.world import World
from webhooks import subscriptions


@pytest.fixture
def connected(app_env: dict[str, str]) -> Iterator[tuple[Flask, dict[str, int]]]:
    """A Shopify shop, a WooCommerce site and a Magento store of the sandbox, connected."""
    world = World(seed=5, sizes=Sizes(5, 5, 3), shops=1, woo_sites=1, magento_stores=1)
    server = SandboxServer(world).start()
    manifest = world.manifest()
    app = create_app(
        {
            **app_env,
            "APP_URL": "http://127.0.0.1:9",
            "SHOPIFY_API_KEY": manifest["shopify"]["api_key"],
            "SHOPIFY_API_SECRET": manifest["shopify"]["api_secret"],
            "SHOPIFY_SHOP_URL_TEMPLATE": manifest["shopify"]["shop_url_template"],
            "CONNECTOR_ALLOW_PRIVATE_URLS": "true",
        }
    )
    shop, site = manifest["shopify"]["shops"][0], manifest["woocommerce"]["stores"][0]
    mage = manifest["magento"]["stores"][0]
    stores: dict[str, Any] = {
        "shopify": (shop["domain"], {"access_token": shop["access_token"]}),
        "woocommerce": (
            site["url"],
            {"consumer_key": site["consumer_key"], "consumer_secret": site["consumer_secret"]},
        ),
        "magento": (mage["url"], {"access_token": mage["access_token"]}),
    }
    ids = {}
    with session(app) as s, s.begin():
        owner = account_named(s, "profiles")
        for platform, (domain, credentials) in stores.items():
            store = connect_store(
                s, app.extensions["crm.vault"], account=owner, platform=platform, domain=domain,
                credentials=credentials,
            )  # fmt: skip
            ids[platform] = store.id
    yield app, ids
    server.stop()
    app.extensions["crm.engine"].dispose()


def refreshed(app: Flask, store_id: int) -> Store:
    with session(app) as s, s.begin():
        store = s.get_one(Store, store_id)
        profiles.refresh(app.extensions["crm.settings"], app.extensions["crm.vault"], store)
    with session(app) as s:
        return s.get_one(Store, store_id)


def test_each_platform_says_its_name_locale_and_time_zone(connected: tuple[Flask, dict[str, int]]) -> None:
    app, ids = connected
    # given three stores just connected, nothing known of them yet; when each profile is read
    shop, site, mage = (refreshed(app, ids[p]) for p in ("shopify", "woocommerce", "magento"))
    # then each holds what its platform says of itself
    assert (shop.name, shop.locale, shop.time_zone) == (
        "sandbox-shop-1",
        "en",
        "America/New_York",
    )  # as the sandbox names it
    assert (site.name, site.locale, site.time_zone) == ("Site 1", "en_US", "Europe/Berlin")
    # Magento's stock "Default Store View" is no shop's name: the domain stands in for it
    assert (mage.name, mage.locale, mage.time_zone) == (None, "en_US", "America/Chicago")
    assert profiles.display_name(mage) == mage.domain


def test_checking_a_stores_webhooks_reads_its_profile_again(connected: tuple[Flask, dict[str, int]]) -> None:
    app, ids = connected
    with session(app) as s, s.begin():
        site = s.get_one(Store, ids["woocommerce"])
        site.time_zone, site.name = "Asia/Tokyo", "an old name"
        subscriptions.check(app.extensions["crm.settings"], app.extensions["crm.vault"], site)
    with session(app) as s:
        site = s.get_one(Store, ids["woocommerce"])
        assert (site.name, site.time_zone) == ("Site 1", "Europe/Berlin")


def test_a_zone_or_locale_that_does_not_exist_is_ignored_and_the_last_good_one_stays() -> None:
    store = Store(
        id=1, platform="shopify", domain="bob.myshopify.com", time_zone="Europe/Paris", locale="fr_FR"
    )
    profiles.apply(store, StoreProfile("Bob\n\x00 <b>Shop</b>\u200b", "xx_ZZ", "Mars/Olympus_Mons"))
    assert (store.name, store.locale, store.time_zone) == ("Bob <b>Shop</b>", "fr_FR", "Europe/Paris")
    fresh = Store(id=2, platform="shopify", domain="new.myshopify.com")
    profiles.apply(fresh, StoreProfile(" \t ", "../../etc/passwd", "../../../etc/passwd"))
    assert (fresh.name, fresh.locale, fresh.time_zone) == (None, None, None)
    assert profiles.display_name(fresh) == "new.myshopify.com" and profiles.locale_of(fresh) == "en_US"
    profiles.apply(fresh, StoreProfile("New", "en-GB", "UTC"))
    assert (fresh.name, fresh.locale, fresh.time_zone) == ("New", "en_GB", "UTC")
