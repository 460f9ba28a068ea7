"""The Stores page's cards and the low-stock table of Sales & stock are lists like the others
(issue 17): paged with their total, sorted by a whitelisted column, filtered (stores by
platform and status, low stock by store and product), exported as CSV; bad arguments answer
a 400 page naming them, a page past the end says so, another account's stores never show."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select, update

from connector.db import get_engine
from connector.db.models import Account, Order, OrderLineItem, Product, ProductVariant, Store
from connector.db.operations import SyncState
from connector.db.types import utcnow
from tests.test_error_pages import signed_in

DASH = "\u2013"


def rows_of(answer: object) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))  # type: ignore[attr-defined]


def order_of_cards(page: str, domains: list[str]) -> list[str]:
    return sorted((d for d in domains if d in page), key=page.index)


@pytest.fixture
def merchant(app: Flask) -> FlaskClient:
    """A signed-in merchant with bob-shop (synced an hour ago), a WooCommerce site (synced
    two days ago), a Magento store that needs reconnecting, and a shop of another account."""
    browser = signed_in(app)
    now = utcnow()
    with get_engine(app).begin() as conn:
        shop, account = conn.execute(select(Store.id, Store.account_id)).one()
        stores = {"shop": shop}
        for key, platform, domain, status in (
            ("site", "woocommerce", "https://a-site.example", "active"),
            ("mage", "magento", "https://m-store.example", "needs_reauth"),
        ):
            stores[key] = conn.execute(
                insert(Store)
                .values(
                    account_id=account, platform=platform, domain=domain, store_key=f"k-{key}", status=status
                )
                .returning(Store.id)
            ).scalar_one()
        for key, ago in (("shop", timedelta(hours=1)), ("site", timedelta(days=2))):
            conn.execute(
                insert(SyncState).values(
                    store_id=stores[key], entity="orders", state="done", last_synced_at=now - ago
                )
            )
        other = conn.execute(insert(Account).values(name="other").returning(Account.id)).scalar_one()
        conn.execute(
            insert(Store).values(
                account_id=other, platform="shopify", domain="theirs.myshopify.com", store_key="kt"
            )
        )
    return browser


def test_the_stores_are_sorted_by_name_status_and_last_sync_with_their_total(merchant: FlaskClient) -> None:
    mine = ["bob-shop.myshopify.com", "https://a-site.example", "https://m-store.example"]
    page = merchant.get("/stores").get_data(as_text=True)
    assert f"1{DASH}3 of 3 stores" in page and "theirs.myshopify.com" not in page
    assert order_of_cards(page, mine) == mine  # in the order they were connected
    by_name = merchant.get("/stores", query_string={"sort": "-name"}).get_data(as_text=True)
    assert order_of_cards(by_name, mine) == sorted(mine, reverse=True)
    recent = merchant.get("/stores", query_string={"sort": "-last_sync"}).get_data(as_text=True)
    assert order_of_cards(recent, mine) == mine  # an hour ago, two days ago, never (last)
    assert 'aria-sort="descending"' in recent
    worst = merchant.get("/stores", query_string={"sort": "-status"}).get_data(as_text=True)
    assert order_of_cards(worst, mine)[0] == "https://m-store.example"  # needs reconnect
    second = merchant.get("/stores", query_string={"per_page": 2, "page": 2}).get_data(as_text=True)
    assert f"3{DASH}3 of 3 stores" in second and order_of_cards(second, mine) == ["https://m-store.example"]


def test_the_stores_filter_by_platform_and_status_and_export_what_is_shown(merchant: FlaskClient) -> None:
    woo = merchant.get("/stores", query_string={"platform": "woocommerce"}).get_data(as_text=True)
    assert "1 store" in woo and "a-site.example" in woo and "bob-shop" not in woo
    broken = rows_of(merchant.get("/stores", query_string={"status": "needs_reconnect", "format": "csv"}))
    assert [(r["domain"], r["platform"], r["status"]) for r in broken] == [
        ("https://m-store.example", "magento", "needs_reconnect")
    ]
    assert broken[0]["reason"]  # why it needs reconnecting, in words
    every = rows_of(merchant.get("/stores", query_string={"format": "csv", "sort": "-last_sync"}))
    assert [r["domain"] for r in every][:2] == ["bob-shop.myshopify.com", "https://a-site.example"]
    assert every[0]["last_sync"] > every[1]["last_sync"] and every[2]["last_sync"] == ""
    empty = merchant.get("/stores", query_string={"platform": "magento", "status": "active"})
    none = empty.get_data(as_text=True)
    assert "No store matches these filters" in none and "all 3 stores" in none


def test_a_stores_page_past_the_end_says_so(merchant: FlaskClient) -> None:
    answer = merchant.get("/stores", query_string={"page": 7})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Page 7 is past the end" in text and 'class="card store"' not in text


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/stores", {"sort": "store_key"}, "sort"),
        ("/stores", {"sort": "domain"}, "sort"),  # shown, but not a sort the page offers
        ("/stores", {"platform": "ebay"}, "platform"),
        ("/stores", {"status": "green"}, "status"),
        ("/stores", {"page": "0"}, "page"),
        ("/stores", {"per_page": "201"}, "per_page"),
        ("/stores", {"format": "pdf"}, "format"),
        ("/stores", {"q": "bob"}, "q"),
        ("/sales", {"l_sort": "cost"}, "l_sort"),
        ("/sales", {"l_page": "-2"}, "l_page"),
        ("/sales", {"l_product": "x" * 201}, "l_product"),
        ("/sales", {"l_format": "xlsx"}, "l_format"),
        ("/sales", {"l_what": "1"}, "l_what"),
    ],
)
def test_bad_store_and_low_stock_arguments_answer_a_400_naming_them(
    merchant: FlaskClient, path: str, params: dict[str, str], name: str
) -> None:
    answer = merchant.get(path, query_string=params)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400 and f"{name}:" in text and "Traceback" not in text


def low_part(page: str) -> str:
    return page[page.index('id="low-stock-filters"') :]


def _selling(app: Flask) -> None:
    """In bob-shop and the WooCommerce site, products that sold 30 units in the last 30 days
    with 5, 10 or 100 units left (cover 5, 10 and 100 days), one of them named like a formula."""
    now = utcnow()
    with get_engine(app).begin() as conn:
        ids = dict(conn.execute(select(Store.domain, Store.id)).all())
        n = 0
        for domain in ("bob-shop.myshopify.com", "https://a-site.example"):
            for title, stock in (("Red mug", 5), ("=Blue cup", 10), ("Plenty plate", 100)):
                n += 1
                store = ids[domain]
                at = now - timedelta(days=3)
                base = dict(store_id=store, source_updated_at=at)
                conn.execute(insert(Product).values(**base, platform_id=n, title=title))
                conn.execute(
                    insert(ProductVariant).values(
                        **base,
                        platform_id=100 + n,
                        product_platform_id=n,
                        title=title,
                        inventory_quantity=stock,
                    )
                )
                conn.execute(
                    insert(Order).values(
                        **base,
                        platform_id=200 + n,
                        source_created_at=at,
                        total_price=Decimal("30"),
                        currency="USD",
                    )
                )
                conn.execute(
                    insert(OrderLineItem).values(
                        **base, platform_id=300 + n, order_platform_id=200 + n, product_platform_id=n,
                        title=title, quantity=30, total=Decimal("30"), currency="USD",
                    )
                )  # fmt: skip


def test_low_stock_is_sorted_filtered_paged_and_exported(app: Flask, merchant: FlaskClient) -> None:
    # given two stores each with two products under 14 days of cover and one well stocked
    _selling(app)
    with get_engine(app).begin() as conn:
        conn.execute(update(Store).where(Store.platform == "magento").values(status="active"))
    # when the low-stock list is read, then it holds the four, fewest days first, with its total
    page = low_part(merchant.get("/sales").get_data(as_text=True))
    assert f"1{DASH}4 of 4 products" in page and "Plenty plate" not in page
    rows = rows_of(merchant.get("/sales", query_string={"l_format": "csv"}))
    assert [(r["title"], r["cover_days"]) for r in rows] == [
        ("Red mug", "5.0"), ("Red mug", "5.0"), ("'=Blue cup", "10.0"), ("'=Blue cup", "10.0")
    ]  # fmt: skip
    mug_csv = {"l_format": "csv", "l_product": "MUG", "l_sort": "store"}
    mugs = rows_of(merchant.get("/sales", query_string=mug_csv))
    assert [r["store"] for r in mugs] == ["bob-shop.myshopify.com", "https://a-site.example"]
    site_only = merchant.get("/sales", query_string={"l_store": "a-site", "l_sort": "-cover_days"})
    site = low_part(site_only.get_data(as_text=True))
    assert f"1{DASH}2 of 2 products" in site and site.index("=Blue cup") < site.index("Red mug")
    second = merchant.get("/sales", query_string={"l_per_page": 3, "l_page": 2}).get_data(as_text=True)
    assert f"4{DASH}4 of 4 products" in second
    past = merchant.get("/sales", query_string={"l_page": 5}).get_data(as_text=True)
    assert "Page 5 is past the end" in past
    nothing = merchant.get("/sales", query_string={"l_product": "spoon"}).get_data(as_text=True)
    assert "No product running low matches these filters" in nothing
