"""The Overview (the first page after sign-in) and `/api/v1/overview`: a period's figures
against the previous period of equal length, money per currency (never USD added to EUR),
new and returning customers, charts whose data is escaped JSON, bad periods refused with a
sentence, and the page's figures equal to the API's for the same period."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from connector import db
from connector.db.models import Contact, Order, OrderLineItem, Refund, Store
from connector.db.types import utcnow
from connector.web import formatting
from connector.web.api import create_token
from connector.web.queries.timeline import orders_by_month
from tests.test_error_pages import signed_in

EVIL = "</script><script>alert(1)</script>"


def _order(
    conn: Any, store: int, number: int, days_ago: float, total: str, currency: str, **more: Any
) -> None:
    at = utcnow() - timedelta(days=days_ago)
    values = dict(
        store_id=store, platform_id=number, source_updated_at=at, source_created_at=at,
        total_price=Decimal(total), currency=currency, channel="online_store",
    )  # fmt: skip
    conn.execute(insert(Order).values(**{**values, **more}))


def merchant(app: Flask) -> tuple[FlaskClient, dict[str, str]]:
    """A signed-in merchant with a USD shop and a EUR site: Ann bought before and again now
    (returning), Bo is new this period in both stores, Cy bought only in the previous period."""
    browser = signed_in(app)
    with db.get_engine(app).begin() as conn:
        shop, account = conn.execute(select(Store.id, Store.account_id)).one()
        site = conn.execute(
            insert(Store)
            .values(account_id=account, platform="woocommerce", domain="https://site.example", store_key="k2")
            .returning(Store.id)
        ).scalar_one()
        ann, bo, cy = (
            conn.execute(
                insert(Contact).values(account_id=account, email=e).returning(Contact.id)
            ).scalar_one()
            for e in ("ann@x.example", "bo@x.example", "cy@x.example")
        )
        _order(conn, shop, 1, 100, "10.00", "USD", contact_id=ann)  # long before: Ann is not new
        _order(conn, shop, 2, 3, "100.00", "USD", contact_id=ann, shipping_country="US", shipping_region=EVIL)
        _order(conn, shop, 3, 2, "50.00", "USD", contact_id=bo, total_refunded=Decimal("20.00"))
        _order(conn, site, 4, 1, "70.00", "EUR", contact_id=bo, channel="pos")
        _order(conn, shop, 5, 40, "40.00", "USD", contact_id=cy)  # the previous 30 days
        _order(conn, shop, 6, 5, "999.00", "USD", contact_id=cy, cancelled_at=utcnow())  # not counted
        conn.execute(
            insert(OrderLineItem).values(
                store_id=shop, platform_id=21, order_platform_id=2, product_platform_id=7, title=EVIL,
                quantity=2, total=Decimal("100.00"), currency="USD", source_updated_at=utcnow(),
            )
        )  # fmt: skip
        conn.execute(
            insert(Refund).values(
                store_id=shop, platform_id=31, order_platform_id=3, amount=Decimal("20.00"),
                currency="USD", refunded_at=utcnow() - timedelta(days=1), source_updated_at=utcnow(),
            )
        )  # fmt: skip
    with db.session(app) as s, s.begin():
        token = create_token(s, account, "test")
    return browser, {"Authorization": f"Bearer {token}"}


def test_the_overview_shows_the_periods_figures_per_currency_against_the_previous(app: Flask) -> None:
    browser, headers = merchant(app)
    # given the merchant's stores; when the API is asked for the last 30 days
    figures = app.test_client().get("/api/v1/overview?period=30d", headers=headers).json
    assert figures is not None
    usd, eur = figures["money"]
    # then USD and EUR are apart: 100 + (50 - 20 refunded) in USD now, 40 before
    assert (usd["currency"], usd["revenue"]["value"], usd["revenue"]["previous"]) == (
        "USD",
        "130.00",
        "40.00",
    )
    assert usd["revenue"]["change"] == 2.25 and usd["orders"] == {"value": 2, "previous": 1, "change": 1.0}
    assert usd["average_order_value"]["value"] == "65.00" and usd["refunds"]["value"] == "20.00"
    assert (eur["currency"], eur["revenue"]["value"], eur["orders"]["value"]) == ("EUR", "70.00", 1)
    customers = figures["customers"]
    assert customers["new"]["value"] == 1 and customers["returning"]["value"] == 1  # Bo new, Ann back
    assert customers["new"]["previous"] == 1 and customers["returning"]["previous"] == 0  # Cy, first order
    assert customers["repeat_rate"]["value"] == 1.0  # Ann (3 orders) and Bo (2) both bought twice
    assert figures["top_products"][0]["title"] == EVIL
    regions = [(r["currency"], r["region"], r["revenue"]) for r in figures["top_regions"]]
    assert regions == [("EUR", None, "70.00"), ("USD", EVIL, "100.00"), ("USD", None, "30.00")]
    channels = {c["channel"] for block in figures["revenue_by_channel"] for c in block["channels"]}
    assert channels == {"online_store", "pos"} and len(figures["stores"]) == 2
    # and the page signed in shows the same figures, formatted, with its charts' data
    page = browser.get("/?period=30d").get_data(as_text=True)
    with app.test_request_context():
        for m in figures["money"]:
            assert formatting.money(m["revenue"]["value"], m["currency"]) in kpi(
                page, f"{m['currency']}-revenue"
            )
    assert "<script>alert" not in page and "&lt;/script&gt;&lt;script&gt;alert(1)" in page  # escaped
    specs = [json.loads(b) for b in re.findall(r'class="chart-data">(.*?)</script>', page)]
    assert [s["id"] for s in specs] == ["overview-revenue-0", "overview-revenue-1", "overview-customers"]
    assert sum(sum(s["values"]) for s in specs[0]["series"]) == 70.0  # EUR first: sorted by code
    # platform text in a chart's JSON cannot end its script block (the sales chart names regions)
    sales = browser.get("/sales").get_data(as_text=True)
    assert "<script>alert" not in sales and "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in sales
    series_names = {
        s["name"]
        for b in re.findall(r'class="chart-data">(.*?)</script>', sales)
        for s in json.loads(b)["series"]
    }
    assert f"{EVIL}, US" in series_names


def kpi(page: str, name: str) -> str:
    found = re.search(rf'id="kpi-{name}">(.*?)</div>\s*</div>', page, re.S)
    assert found, name
    return found.group(1)


def test_a_bad_period_is_refused_with_a_sentence_not_ignored(app: Flask) -> None:
    browser, headers = merchant(app)
    for query, words in (
        ("from=garbage", "from: a date written"),
        ("from=2026-02-30", "from: a date written"),
        ("from=2026-05-01&to=2026-04-01", "from: must be on or before to"),
        ("period=fortnight", "period: one of"),
        ("period=7d&from=2026-01-01", "period: 7d ends today"),
        ("since=2026-01-01", "since: the overview takes"),
        ("from=1900-01-01", "from: a date from"),
    ):
        page = browser.get(f"/?{query}")
        assert page.status_code == 400 and words in page.get_data(as_text=True), query
        answer = app.test_client().get(f"/api/v1/overview?{query}", headers=headers)
        assert answer.status_code == 400 and answer.json and words in answer.json["message"], query


def test_a_custom_period_compares_with_the_days_just_before(app: Flask) -> None:
    _browser, headers = merchant(app)
    today = utcnow().date()
    first = (today - timedelta(days=6)).isoformat()
    figures = app.test_client().get(f"/api/v1/overview?from={first}", headers=headers).json
    assert figures is not None
    period = figures["period"]
    assert (period["preset"], period["days"], period["to"], period["bucket"]) == (
        "custom",
        7,
        today.isoformat(),
        "day",
    )
    assert period["previous_to"] == (today - timedelta(days=7)).isoformat()
    assert len(figures["new_vs_returning"]["labels"]) == 7  # every day, the empty ones too


def test_stores_moved_to_their_own_page(app: Flask) -> None:
    browser, _headers = merchant(app)
    assert "bob-shop.myshopify.com" in browser.get("/stores").get_data(as_text=True)
    assert 'id="store-lines"' in browser.get("/").get_data(as_text=True)
    assert "/login" in app.test_client().get("/").headers["Location"]  # nothing without signing in


def test_a_contacts_page_charts_their_orders_per_month_in_each_store(app: Flask) -> None:
    browser, _headers = merchant(app)
    with db.get_engine(app).connect() as conn:
        ann = conn.execute(select(Contact.id).where(Contact.email == "ann@x.example")).scalar_one()
        account = conn.execute(select(Contact.account_id).where(Contact.id == ann)).scalar_one()
        months = orders_by_month(conn, account, ann)
    # Ann's two orders, 100 days apart: every month between is there, empty
    assert len(months) >= 4 and sum(sum(m["orders"].values()) for m in months) == 2
    assert [m["month"] for m in months] == sorted({m["month"] for m in months})
    page = browser.get(f"/contacts/{ann}").get_data(as_text=True)
    [spec] = [json.loads(b) for b in re.findall(r'class="chart-data">(.*?)</script>', page)]
    assert spec["id"] == "contact-orders" and spec["labels"] == [m["month"] for m in months]
    assert [s["name"] for s in spec["series"]] == ["bob-shop.myshopify.com"]
    assert 'aria-label="Orders per month, every store: ' in page and "<details" in page  # named, tabled


def test_the_channel_reports_default_period_is_the_overviews_twelve_months(app: Flask) -> None:
    # given an order on the first second of the Overview's 12 months and one the second before
    browser, headers = merchant(app)
    twelve = browser.get("/api/v1/overview?period=12m", headers=headers).json
    assert twelve is not None
    first = datetime.fromisoformat(twelve["period"]["from"]).replace(tzinfo=UTC)
    with db.get_engine(app).begin() as conn:
        shop = conn.execute(select(Store.id).where(Store.platform == "shopify")).scalar_one()
        for number, at in ((90, first), (91, first - timedelta(seconds=1))):
            values = dict(
                store_id=shop, platform_id=number, source_updated_at=at, source_created_at=at,
                total_price=Decimal("1.00"), currency="USD", channel="email",
            )  # fmt: skip
            conn.execute(insert(Order).values(**values))
    # when the channel report is read with no dates, and the Overview for 12 months
    report = browser.get("/api/v1/reports/channels", headers=headers).json
    twelve = browser.get("/api/v1/overview?period=12m", headers=headers).json
    assert report is not None and twelve is not None
    # then both name the same days and count the same orders (the one before is in neither)
    assert (report["since"][:10], report["until"][:10]) == (twelve["period"]["from"], twelve["period"]["to"])
    usd = next(m for m in twelve["money"] if m["currency"] == "USD")
    assert sum(r["orders"] for r in report["channels"] if r["currency"] == "USD") == usd["orders"]["value"]
    assert [r["orders"] for r in report["channels"] if r["channel"] == "email"] == [1]
