"""REST Admin API bodies for sandbox records, key for key as the 2025-07 samples in
../shared/fixtures/shopify/rest-*-2025-07.json: the webhook body (shapes.py) plus what
only the Admin API answers (a customer's consent, order count and spend; variant weights),
without what only webhooks carry. Values are the GraphQL objects' (same ids, same values).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sandbox.shopify import events as events
from sandbox.shopify import graphql as gql
from sandbox.shopify import shapes as s
from sandbox.state import Record
from sandbox.world import Shop

WEBHOOK_ONLY = {
    "orders": ("current_shipping_price_set", "line_item_groups", "returns"),
    "products": ("category", "has_variants_that_requires_components", "media", "variant_gids"),
}


def customer(shop: Shop, rec: Record) -> dict[str, Any]:
    c, store = rec.data, shop.store
    count, spent = gql.customer_stats(shop).get(rec.index, (0, Decimal("0.00")))
    last = last_orders(shop).get(rec.index)
    consent_at = s.rest_time(rec.updated_at)
    return {
        **s.customer_rest(store, rec),
        "email_marketing_consent": {
            "state": c["email_consent"],
            "opt_in_level": "single_opt_in" if c["email_consent"] == "subscribed" else None,
            "consent_updated_at": consent_at,
        },
        "sms_marketing_consent": None
        if not c["phone"]
        else {
            "state": c["sms_consent"],
            "opt_in_level": "single_opt_in" if c["sms_consent"] == "subscribed" else None,
            "consent_updated_at": consent_at,
            "consent_collected_from": "OTHER",
        },
        "tags": ", ".join(t for t in c["tags"].split(",") if t),
        "orders_count": count,
        "total_spent": s.money(spent),
        "last_order_id": store.id_of("orders", last) if last is not None else None,
        "last_order_name": f"#{store.dataset.order(last)['number']}" if last is not None else None,
    }


def last_orders(shop: Shop) -> dict[int, int]:
    """Each customer's latest live order (its index), recomputed when the store changes."""
    store = shop.store
    orders = store.overlays["orders"]
    version = (store.mutations, orders.size, len(orders.deleted))
    cached: tuple[tuple[int, int, int], dict[int, int]] | None = getattr(shop, "_last_orders", None)
    if cached is not None and cached[0] == version:
        return cached[1]
    last: dict[int, int] = {}
    for i in range(store.overlays["orders"].size):
        if store.exists("orders", i):
            who = store.dataset.order(i)["customer"]
            if who is not None:
                last[who] = i
    shop._last_orders = (version, last)  # type: ignore[attr-defined]
    return last


def order(shop: Shop, rec: Record) -> dict[str, Any]:
    store, cur = shop.store, rec.data["currency"]
    body = {k: v for k, v in s.order_rest(store, rec).items() if k not in WEBHOOK_ONLY["orders"]}
    body["checkout_id"] = s.child_id(store, "checkout", rec.index, per=1) + 500_000_000_000
    for line in body["line_items"]:
        line.pop("sales_line_item_group_id", None)
    for f in body["fulfillments"]:
        for line in f["line_items"]:
            line.pop("sales_line_item_group_id", None)
    for line in body["shipping_lines"]:
        line |= {
            "discounted_price_set": s.money_set(rec.data["shipping"], cur),
            "is_removed": False,
            "phone": None,
            "requested_fulfillment_service_id": None,
        }
    for refund in body["refunds"]:
        refund |= {
            "additional_fees": [],
            "duties": [],
            "total_additional_fees_set": s.money_set(Decimal(0), cur),
        }
    return body


def product(shop: Shop, rec: Record) -> dict[str, Any]:
    store = shop.store
    body = {k: v for k, v in s.product_rest(store, rec).items() if k not in WEBHOOK_ONLY["products"]}
    cur = store.dataset.currency
    for variant in body["variants"]:
        variant |= {
            "fulfillment_service": "manual",
            "grams": 250,
            "inventory_management": "shopify",
            "presentment_prices": [
                {"price": {"amount": variant["price"], "currency_code": cur}, "compare_at_price": None}
            ],
            "requires_shipping": True,
            "weight": 0.25,
            "weight_unit": "kg",
        }
    body["options"] = [
        {"id": s.child_id(store, "variant", rec.index, 3, 4) + 1, "product_id": rec.id, **option}
        for option in body["options"]
    ]
    return body


MAKERS = {"customers": customer, "orders": order, "products": product}


def shop_body(shop: Shop) -> dict[str, Any]:
    """`shop.json`: the values GraphQL's `shop` answers, in REST's names."""
    name = shop.domain.split(".")[0]
    ds = shop.store.dataset
    created = s.rest_time((ds.anchor - ds.span - timedelta(days=30)).replace(microsecond=0))
    return {
        "id": events.shop_id(shop),
        "name": name,
        "email": f"owner@{name}.example",
        "domain": shop.domain,
        "province": "New York",
        "country": "US",
        "address1": "148 Lafayette St",
        "zip": "10013",
        "city": "New York",
        "source": None,
        "phone": "+12125550100",
        "latitude": 40.7197,
        "longitude": -74.0007,
        "primary_locale": "en",
        "address2": None,
        "created_at": created,
        "updated_at": created,
        "country_code": "US",
        "country_name": "United States",
        "currency": shop.store.dataset.currency,
        "customer_email": f"owner@{name}.example",
        "timezone": "(GMT-05:00) America/New_York",
        "iana_timezone": "America/New_York",
        "shop_owner": "Sandbox Owner",
        "money_format": "${{amount}}",
        "money_with_currency_format": f"${{{{amount}}}} {shop.store.dataset.currency}",
        "weight_unit": "kg",
        "province_code": "NY",
        "taxes_included": False,
        "auto_configure_tax_inclusivity": None,
        "tax_shipping": None,
        "county_taxes": True,
        "plan_display_name": shop.plan.title(),
        "plan_name": shop.plan,
        "has_discounts": True,
        "has_gift_cards": False,
        "myshopify_domain": shop.domain,
        "google_apps_domain": None,
        "google_apps_login_enabled": None,
        "money_in_emails_format": "${{amount}}",
        "money_with_currency_in_emails_format": f"${{{{amount}}}} {shop.store.dataset.currency}",
        "eligible_for_payments": True,
        "requires_extra_payments_agreement": False,
        "password_enabled": False,
        "has_storefront": True,
        "finances": True,
        "primary_location_id": s.child_id(shop.store, "location", 0, 0),
        "checkout_api_supported": True,
        "multi_location_enabled": True,
        "setup_required": False,
        "pre_launch_enabled": False,
        "enabled_presentment_currencies": [shop.store.dataset.currency],
        "marketing_sms_consent_enabled_at_checkout": False,
        "transactional_sms_disabled": False,
        "admin_graphql_api_id": s.gid("Shop", events.shop_id(shop)),
    }
