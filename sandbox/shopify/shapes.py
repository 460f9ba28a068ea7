"""Shopify payloads for sandbox records: the REST JSON that webhooks carry (key for key as
../shared/fixtures/shopify/webhook-*.json) and the GraphQL objects the Admin API resolves.

REST times are in the shop's zone (UTC-5, as in the documented samples); GraphQL
DateTimes are UTC. Child ids (variants, line items, fulfilments …) are derived from
the parent's index, so they are stable and exact 64-bit integers.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sandbox.generator import LOCATIONS
from sandbox.generator import buyer as generator_buyer
from sandbox.state import STORE_STRIDE, Record, SandboxStore

SHOP_TZ = timezone(timedelta(hours=-5))
CHILD_BASE = {
    "variant": 642_667_041_472_000_000,
    "line": 487_817_672_276_000_000,
    "fulfillment": 255_858_046_000_000_000,
    "refund": 509_562_969_000_000_000,
    "inventory_item": 808_950_810_000_000_000,
    "address": 207_119_551_000_000_000,
    "location": 655_441_491_000_000_000,
    "checkout": 37_204_158_000_000_000,
    "checkout_line": 61_870_332_000_000_000,
}
COUNTRY_NAMES = {
    "US": "United States",
    "CA": "Canada",
    "GB": "United Kingdom",
    "DE": "Germany",
    "FR": "France",
    "AU": "Australia",
}
CHANNEL_NAMES = {
    "web": "Online Store",
    "pos": "Point of Sale",
    "iphone": "Shop",
    "shopify_draft_order": "Draft Orders",
    "facebook": "Facebook & Instagram",
}


def child_id(store: SandboxStore, kind: str, parent_index: int, n: int = 0, per: int = 8) -> int:
    return CHILD_BASE[kind] + store.number * STORE_STRIDE + parent_index * per + n


def gid(kind: str, value: int) -> str:
    return f"gid://shopify/{kind}/{value}"


def rest_time(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(SHOP_TZ).isoformat()


def gql_time(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def money_set(value: Decimal, currency: str) -> dict[str, Any]:
    one = {"amount": money(value), "currency_code": currency}
    return {"shop_money": one, "presentment_money": dict(one)}


def encode_host(domain: str) -> str:
    """The `host` parameter: admin.shopify.com/store/<name>, base64url without padding."""
    raw = f"admin.shopify.com/store/{domain.split('.')[0]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- people and places ----------------------------------------------------------------------


def rest_address(
    c: dict[str, Any], *, customer_id: int | None = None, address_id: int | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "first_name": c["first_name"],
        "address1": c["address1"],
        "phone": c["phone"],
        "city": c["city"],
        "zip": c["zip"],
        "province": c["province"],
        "country": COUNTRY_NAMES[c["country"]],
        "last_name": c["last_name"],
        "address2": None,
        "company": None,
        "latitude": None,
        "longitude": None,
        "name": f"{c['first_name']} {c['last_name']}",
        "country_code": c["country"],
        "province_code": c["province_code"],
    }
    if address_id is not None:
        out = {
            "id": address_id,
            "customer_id": customer_id,
            **{k: v for k, v in out.items() if k not in ("latitude", "longitude")},
            "country_name": COUNTRY_NAMES[c["country"]],
            "default": True,
        }
    return out


# --- REST (webhook bodies) ------------------------------------------------------------------


def customer_rest(store: SandboxStore, rec: Record) -> dict[str, Any]:
    c = rec.data
    address = rest_address(c, customer_id=rec.id, address_id=child_id(store, "address", rec.index, per=1))
    return {
        "id": rec.id,
        "created_at": rest_time(rec.created_at),
        "updated_at": rest_time(rec.updated_at),
        "first_name": c["first_name"],
        "last_name": c["last_name"],
        "state": c["state"],
        "note": c["note"],
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "email": c["email"],
        "phone": c["phone"],
        "currency": store.dataset.currency,
        "addresses": [address],
        "tax_exemptions": [],
        "admin_graphql_api_id": gid("Customer", rec.id),
        "default_address": address,
    }


def consent_rest(store: SandboxStore, rec: Record) -> dict[str, Any]:
    c = rec.data
    return {
        "customer_id": rec.id,
        "email_address": c["email"],
        "email_marketing_consent": {
            "state": c["email_consent"],
            "opt_in_level": "single_opt_in" if c["email_consent"] == "subscribed" else None,
            "consent_updated_at": rest_time(rec.updated_at),
        },
    }


def product_rest(store: SandboxStore, rec: Record) -> dict[str, Any]:
    p = rec.data
    variants = [
        {
            "admin_graphql_api_id": gid(
                "ProductVariant", child_id(store, "variant", rec.index, v["index"], 4)
            ),
            "barcode": None,
            "compare_at_price": None,
            "created_at": rest_time(rec.created_at),
            "id": child_id(store, "variant", rec.index, v["index"], 4),
            "inventory_policy": "deny",
            "position": v["index"] + 1,
            "price": money(v["price"]),
            "product_id": rec.id,
            "sku": v["sku"],
            "taxable": True,
            "title": v["title"],
            "updated_at": rest_time(rec.updated_at),
            "option1": v["title"],
            "option2": None,
            "option3": None,
            "image_id": None,
            "inventory_item_id": child_id(store, "inventory_item", rec.index, v["index"], 4),
            "inventory_quantity": sum(v["inventory"]),
            "old_inventory_quantity": sum(v["inventory"]),
        }
        for v in p["variants"]
    ]
    return {
        "admin_graphql_api_id": gid("Product", rec.id),
        "body_html": f"<p>{p['title']}</p>",
        "created_at": rest_time(rec.created_at),
        "handle": p["handle"],
        "id": rec.id,
        "product_type": p["product_type"],
        "published_at": rest_time(rec.created_at) if p["published"] else None,
        "template_suffix": None,
        "title": p["title"],
        "updated_at": rest_time(rec.updated_at),
        "vendor": p["vendor"],
        "status": p["status"],
        "published_scope": "web",
        "tags": p["tags"].replace(",", ", "),
        "variants": variants,
        "options": [{"name": "Size", "position": 1, "values": [v["title"] for v in p["variants"]]}],
        "images": [],
        "image": None,
        "media": [],
        "variant_gids": [
            {"admin_graphql_api_id": v["admin_graphql_api_id"], "updated_at": gql_time(rec.updated_at)}
            for v in variants
        ],
        "has_variants_that_requires_components": False,
        "category": None,
    }


def financial_status(o: dict[str, Any]) -> str:
    if o["cancelled"]:
        return "voided"
    if o["refunded"]:
        return "partially_refunded"
    return "paid" if o["paid"] else "pending"


def fulfillment_status(o: dict[str, Any]) -> str | None:
    if not o["fulfillments"]:
        return None
    return "partial" if o["partial"] else "fulfilled"


def order_rest(store: SandboxStore, rec: Record) -> dict[str, Any]:
    o, cur = rec.data, rec.data["currency"]
    buyer = generator_buyer(store.dataset, o)
    source, _via, utm_source, _medium, referrer = o["channel"]
    landing = f"https://{store.name}{o['landing_page']}"
    customer = None
    if o["customer"] is not None:
        crec = store.get("customers", o["customer"])
        customer = {k: v for k, v in customer_rest(store, crec).items() if k != "addresses"}
    refund_total = o["refund_amount"]
    return {
        "id": rec.id,
        "admin_graphql_api_id": gid("Order", rec.id),
        "app_id": 580111,
        "browser_ip": None,
        "buyer_accepts_marketing": o["accepts_marketing"],
        "cancel_reason": "customer" if o["cancelled"] else None,
        "cancelled_at": rest_time(rec.updated_at) if o["cancelled"] else None,
        "cart_token": None,
        "checkout_token": None,
        "client_details": None,
        "closed_at": None,
        "confirmation_number": f"C{rec.index:08d}",
        "confirmed": True,
        "contact_email": buyer["email"],
        "created_at": rest_time(rec.created_at),
        "currency": cur,
        "current_shipping_price_set": money_set(o["shipping"], cur),
        "current_subtotal_price": money(o["subtotal"] - o["discount"]),
        "current_subtotal_price_set": money_set(o["subtotal"] - o["discount"], cur),
        "current_total_additional_fees_set": None,
        "current_total_discounts": money(o["discount"]),
        "current_total_discounts_set": money_set(o["discount"], cur),
        "current_total_duties_set": None,
        "current_total_price": money(o["total"] - refund_total),
        "current_total_price_set": money_set(o["total"] - refund_total, cur),
        "current_total_tax": money(o["tax"]),
        "current_total_tax_set": money_set(o["tax"], cur),
        "customer_locale": "en",
        "device_id": None,
        "discount_codes": [{"code": "WELCOME10", "amount": money(o["discount"]), "type": "percentage"}]
        if o["discount"]
        else [],
        "duties_included": False,
        "email": buyer["email"],
        "estimated_taxes": False,
        "financial_status": financial_status(o),
        "fulfillment_status": fulfillment_status(o),
        "landing_site": o["landing_page"],
        "landing_site_ref": None,
        "location_id": None,
        "merchant_business_entity_id": "MTU0ODM4MDAwOQ",
        "merchant_of_record_app_id": None,
        "name": f"#{o['number']}",
        "note": None,
        "note_attributes": [],
        "number": o["number"] - 1000,
        "order_number": o["number"],
        "order_status_url": f"https://{store.name}/orders/{rec.id:x}/authenticate",
        "original_total_additional_fees_set": None,
        "original_total_duties_set": None,
        "payment_gateway_names": ["shopify_payments"],
        "phone": buyer["phone"],
        "po_number": None,
        "presentment_currency": cur,
        "processed_at": rest_time(rec.created_at),
        "reference": None,
        "referring_site": referrer,
        "source_identifier": None,
        "source_name": source,
        "source_url": landing if utm_source else None,
        "subtotal_price": money(o["subtotal"] - o["discount"]),
        "subtotal_price_set": money_set(o["subtotal"] - o["discount"], cur),
        "tags": "",
        "tax_exempt": False,
        "tax_lines": [],
        "taxes_included": False,
        "test": False,
        "token": f"{rec.id:032x}",
        "total_cash_rounding_payment_adjustment_set": money_set(Decimal(0), cur),
        "total_cash_rounding_refund_adjustment_set": money_set(Decimal(0), cur),
        "total_discounts": money(o["discount"]),
        "total_discounts_set": money_set(o["discount"], cur),
        "total_line_items_price": money(o["subtotal"]),
        "total_line_items_price_set": money_set(o["subtotal"], cur),
        "total_outstanding": "0.00" if o["paid"] else money(o["total"]),
        "total_price": money(o["total"]),
        "total_price_set": money_set(o["total"], cur),
        "total_shipping_price_set": money_set(o["shipping"], cur),
        "total_tax": money(o["tax"]),
        "total_tax_set": money_set(o["tax"], cur),
        "total_tip_received": "0.00",
        "total_weight": 0,
        "updated_at": rest_time(rec.updated_at),
        "user_id": None,
        "billing_address": rest_address(buyer),
        "customer": customer,
        "discount_applications": [],
        "fulfillments": [fulfillment_rest(store, rec, f) for f in o["fulfillments"]],
        "line_item_groups": [],
        "line_items": [line_item_rest(store, rec, ln) for ln in o["lines"]],
        "payment_terms": None,
        "refunds": [refund_rest(store, rec)] if o["refunded"] else [],
        "returns": [],
        "shipping_address": rest_address(buyer),
        "shipping_lines": [
            {
                "id": child_id(store, "line", rec.index, 7),
                "carrier_identifier": None,
                "code": "Standard",
                "discounted_price": money(o["shipping"]),
                "price": money(o["shipping"]),
                "price_set": money_set(o["shipping"], cur),
                "source": "shopify",
                "title": "Standard",
                "tax_lines": [],
                "discount_allocations": [],
            }
        ],
    }


def line_item_rest(store: SandboxStore, rec: Record, ln: dict[str, Any]) -> dict[str, Any]:
    product = store.dataset.product(ln["product"])
    variant = product["variants"][ln["variant"]]
    cur = rec.data["currency"]
    line_id = child_id(store, "line", rec.index, ln["index"])
    shipped = any(ln["index"] in f["lines"] for f in rec.data["fulfillments"])
    return {
        "id": line_id,
        "admin_graphql_api_id": gid("LineItem", line_id),
        "attributed_staffs": [],
        "current_quantity": ln["quantity"],
        "fulfillable_quantity": 0 if shipped else ln["quantity"],
        "fulfillment_service": "manual",
        "fulfillment_status": "fulfilled" if shipped else None,
        "gift_card": False,
        "grams": 250,
        "name": f"{product['title']} - {variant['title']}",
        "price": money(ln["price"]),
        "price_set": money_set(ln["price"], cur),
        "product_exists": True,
        "product_id": store.id_of("products", ln["product"]),
        "properties": [],
        "quantity": ln["quantity"],
        "requires_shipping": True,
        "sales_line_item_group_id": None,
        "sku": variant["sku"],
        "taxable": True,
        "title": product["title"],
        "total_discount": "0.00",
        "total_discount_set": money_set(Decimal(0), cur),
        "variant_id": child_id(store, "variant", ln["product"], ln["variant"], 4),
        "variant_inventory_management": "shopify",
        "variant_title": variant["title"],
        "vendor": product["vendor"],
        "tax_lines": [],
        "duties": [],
        "discount_allocations": [],
    }


def fulfillment_rest(store: SandboxStore, rec: Record, f: dict[str, Any]) -> dict[str, Any]:
    fid = child_id(store, "fulfillment", rec.index, f["index"], 4)
    return {
        "id": fid,
        "admin_graphql_api_id": gid("Fulfillment", fid),
        "created_at": rest_time(f["shipped_at"]),
        "location_id": child_id(store, "location", 0, 0),
        "name": f"#{rec.data['number']}.{f['index'] + 1}",
        "order_id": rec.id,
        "origin_address": {},
        "receipt": {},
        "service": "manual",
        "shipment_status": f["status"],
        "status": "success",
        "tracking_company": f["carrier"],
        "tracking_number": f["tracking_number"],
        "tracking_numbers": [f["tracking_number"]],
        "tracking_url": f["tracking_url"],
        "tracking_urls": [f["tracking_url"]],
        "updated_at": rest_time(f["delivered_at"] or f["shipped_at"]),
        "line_items": [
            line_item_rest(store, rec, ln) for ln in rec.data["lines"] if ln["index"] in f["lines"]
        ],
    }


def refund_rest(store: SandboxStore, rec: Record) -> dict[str, Any]:
    rid = child_id(store, "refund", rec.index, 0, 1)
    cur = rec.data["currency"]
    return {
        "id": rid,
        "admin_graphql_api_id": gid("Refund", rid),
        "created_at": rest_time(rec.updated_at),
        "note": "Damaged in transit",
        "order_id": rec.id,
        "processed_at": rest_time(rec.updated_at),
        "restock": False,
        "total_duties_set": money_set(Decimal(0), cur),
        "user_id": None,
        "order_adjustments": [],
        "refund_line_items": [],
        "transactions": [
            {
                "id": rid + 1,
                "amount": money(rec.data["refund_amount"]),
                "currency": cur,
                "kind": "refund",
                "status": "success",
                "order_id": rec.id,
                "gateway": "shopify_payments",
            }
        ],
    }


# --- GraphQL objects --------------------------------------------------------------------------


def gql_money(value: Decimal, currency: str) -> dict[str, Any]:
    return {"amount": money(value), "currencyCode": currency}


def gql_bag(value: Decimal, currency: str) -> dict[str, Any]:
    return {"shopMoney": gql_money(value, currency), "presentmentMoney": gql_money(value, currency)}


def gql_address(c: dict[str, Any], address_id: int | None = None) -> dict[str, Any]:
    return {
        "id": gid("MailingAddress", address_id or 0),
        "firstName": c["first_name"],
        "lastName": c["last_name"],
        "company": None,
        "address1": c["address1"],
        "address2": None,
        "city": c["city"],
        "province": c["province"],
        "provinceCode": c["province_code"],
        "country": COUNTRY_NAMES[c["country"]],
        "countryCodeV2": c["country"],
        "zip": c["zip"],
        "phone": c["phone"],
        "countryCode": c["country"],  # deprecated, still answered (airbyte-source-shopify asks for it)
    }


def location(store: SandboxStore, n: int) -> dict[str, Any]:
    name, country, province = LOCATIONS[n]
    return {
        "id": gid("Location", child_id(store, "location", 0, n)),
        "name": name,
        "address": {"countryCode": country, "provinceCode": province},
    }
