"""A store's profile (its own name, locale and IANA time zone) is read from its platform when
it is added or checked, over real HTTP from the sandbox's Shopify shop (REST shop.json),
WooCommerce site (the WordPress REST index and system_status) and Magento store
(storeConfigs, storeViews); what the platform says is untrusted, so a zone or locale that
does not exist is ignored and the last good one (or the fallback) stays."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert, select, update

from connector import create_app
from connector.accounts import profiles
from connector.accounts.stores import account_named, connect_store
from connector.db import dead_letters, get_engine, session
from connector.db.models import Contact, Order, Store
from connector.db.operations import DeadLetter, SyncState
from platforms.protocol import StoreProfile
from sandbox.generator import Sizes
from sandbox.server import SandboxServer
from sandbox.world import World
from tests.test_error_pages import signed_in
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
    # and each says its currency, the one the product e-mails price in
    assert (shop.currency, site.currency, mage.currency) == ("USD", "USD", "USD")
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
        id=1,
        platform="shopify",
        domain="bob.myshopify.com",
        time_zone="Europe/Paris",
        locale="fr_FR",
        currency="EUR",
    )
    profiles.apply(store, StoreProfile("Bob\n\x00 <b>Shop</b>\u200b", "xx_ZZ", "Mars/Olympus_Mons", "ZZZ"))
    assert (store.name, store.locale, store.time_zone) == ("Bob <b>Shop</b>", "fr_FR", "Europe/Paris")
    assert store.currency == "EUR"  # no such currency: the last good one stays
    for nonsense in ("<script>", "US", "usdollar", "12€"):
        profiles.apply(store, StoreProfile(currency=nonsense))
        assert store.currency == "EUR", nonsense
    profiles.apply(store, StoreProfile(currency="gbp"))
    assert store.currency == "GBP"
    fresh = Store(id=2, platform="shopify", domain="new.myshopify.com")
    profiles.apply(fresh, StoreProfile(" \t ", "../../etc/passwd", "../../../etc/passwd"))
    assert (fresh.name, fresh.locale, fresh.time_zone) == (None, None, None)
    assert profiles.display_name(fresh) == "new.myshopify.com" and profiles.locale_of(fresh) == "en_US"
    profiles.apply(fresh, StoreProfile("New", "en-GB", "UTC"))
    assert (fresh.name, fresh.locale, fresh.time_zone) == ("New", "en_GB", "UTC")


def test_a_stores_times_are_shown_in_its_zone_and_account_wide_pages_keep_the_deployments(app: Flask) -> None:
    # given a shop in Tokyo (CONNECTOR_TIME_ZONE is UTC) synced, sold and failed at 12:00 UTC
    browser = signed_in(app)
    noon = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    with get_engine(app).begin() as conn:
        shop = conn.execute(select(Store.id)).scalar_one()
        conn.execute(update(Store).where(Store.id == shop).values(time_zone="Asia/Tokyo", name="Bob's"))
        conn.execute(
            insert(SyncState).values(store_id=shop, entity="orders", state="done", last_synced_at=noon)
        )
        account = conn.execute(select(Store.account_id)).scalar_one()
        ann = conn.execute(
            insert(Contact).values(account_id=account, email="ann@x.example").returning(Contact.id)
        )
        contact = ann.scalar_one()
        conn.execute(
            insert(Order).values(
                store_id=shop, platform_id=1, source_updated_at=noon, source_created_at=noon,
                contact_id=contact, total_price=Decimal("5"), currency="USD", name="#1001",
            )
        )  # fmt: skip
        dead_letters.write(conn, shop, "sync", "a record refused", entity="orders", platform_id=7)
        conn.execute(update(DeadLetter).values(created_at=noon))
    # when the stores page, the contact page and the failed records are read
    stores = browser.get("/stores").get_data(as_text=True)
    orders = browser.get(f"/contacts/{contact}").get_data(as_text=True)
    failed = browser.get("/failed-records").get_data(as_text=True)
    # then the store's own times are Tokyo's (21:00 JST), the account-wide list's UTC
    synced = re.search(r'<div class="muted last-sync">(.*?)</div>', stores, re.S)
    assert synced and re.search(r"Jan 15, 2026, 9:00:00\s?PM JST", synced.group(1)), stores
    assert "Asia/Tokyo" in synced.group(1) and "<strong>Bob&#39;s</strong>" in stores
    assert re.search(r'<td title="Jan 15, 2026, 9:00:00\sPM JST">', orders)
    assert re.search(r'title="Jan 15, 2026, 12:00:00\sPM UTC"', failed)
