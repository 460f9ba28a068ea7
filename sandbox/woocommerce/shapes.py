"""WooCommerce REST v3 JSON for sandbox records, key for key as the real API answers
(compare ../shared/fixtures/woocommerce/rest-*.json). The site clock runs at UTC-3, so
`date_*` (site time) and `date_*_gmt` differ, as they do on real stores.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sandbox import generator
from sandbox.state import Record, SandboxStore
from sandbox.woocommerce import catalog
from sandbox.woocommerce.values import dates, links, money

VARIATION_BASE = 100_000_000
PRODUCT_STATUS = {"active": "publish", "draft": "draft", "archived": "private"}


def address(c: dict[str, Any], *, billing: bool) -> dict[str, Any]:
    out = {
        "first_name": c["first_name"],
        "last_name": c["last_name"],
        "company": "",
        "address_1": c["address1"],
        "address_2": "",
        "city": c["city"],
        "state": c["province_code"],
        "postcode": c["zip"],
        "country": c["country"],
    }
    if billing:
        out |= {"email": c["email"], "phone": c["phone"] or ""}
    return out


def customer_json(store: SandboxStore, rec: Record, base: str) -> dict[str, Any]:
    c = rec.data
    return {
        "id": rec.id,
        **dates("date_created", rec.created_at),
        **dates("date_modified", rec.updated_at),
        "email": c["email"],
        "first_name": c["first_name"],
        "last_name": c["last_name"],
        "role": "customer",
        "username": c["email"].split("@")[0],
        "billing": address(c, billing=True),
        "shipping": address(c, billing=False),
        "is_paying_customer": rec.index % 3 != 0,
        "avatar_url": f"https://secure.gravatar.com/avatar/{rec.id:032x}?s=96",
        "meta_data": [],
        "_links": links(base, f"customers/{rec.id}", "customers"),
    }


def variation_id(product_index: int, v: int) -> int:
    return VARIATION_BASE + product_index * 4 + v


def product_json(store: SandboxStore, rec: Record, base: str) -> dict[str, Any]:

    p = rec.data
    variable = len(p["variants"]) > 1
    first = p["variants"][0]
    stock = sum(first["inventory"])
    status = "trash" if rec.trashed else PRODUCT_STATUS[p["status"]]
    category = {
        "id": catalog.category_id(p["product_type"]),
        "name": p["product_type"],
        "slug": p["product_type"].lower(),
    }
    average_rating, rating_count = catalog.rating(store, rec)
    return {
        "id": rec.id,
        "name": p["title"],
        "slug": p["handle"],
        "permalink": f"{base}/product/{p['handle']}/",
        **dates("date_created", rec.created_at),
        **dates("date_modified", rec.updated_at),
        "type": "variable" if variable else "simple",
        "status": status,
        "featured": False,
        "catalog_visibility": "visible",
        "description": f"<p>{p['title']} by {p['vendor']}.</p>\n",
        "short_description": "",
        "sku": "" if variable else first["sku"],
        "price": money(min(v["price"] for v in p["variants"])),
        "regular_price": "" if variable else money(first["price"]),
        "sale_price": "",
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "price_html": "",
        "on_sale": False,
        "purchasable": status == "publish",
        "total_sales": 0,
        "virtual": False,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "external_url": "",
        "button_text": "",
        "tax_status": "taxable",
        "tax_class": "",
        "manage_stock": not variable,
        "stock_quantity": None if variable else stock,
        "stock_status": "instock" if variable or stock else "outofstock",
        "backorders": "no",
        "backorders_allowed": False,
        "backordered": False,
        "sold_individually": False,
        "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_required": True,
        "shipping_taxable": True,
        "shipping_class": "",
        "shipping_class_id": 0,
        "reviews_allowed": True,
        "average_rating": average_rating,
        "rating_count": rating_count,
        "related_ids": [],
        "upsell_ids": [],
        "cross_sell_ids": [],
        "parent_id": 0,
        "purchase_note": "",
        "categories": [category],
        "tags": [{"id": catalog.tag_id(t), "name": t, "slug": t} for t in p["tags"].split(",")],
        "images": [],
        "attributes": [
            {
                "id": 0,
                "name": "Size",
                "position": 0,
                "visible": True,
                "variation": True,
                "options": [v["title"] for v in p["variants"]],
            }
        ]
        if variable
        else [],
        "default_attributes": [],
        "menu_order": 0,
        "meta_data": [{"id": rec.id * 10, "key": "_vendor", "value": p["vendor"]}],
        "variations": [variation_id(rec.index, v["index"]) for v in p["variants"]] if variable else [],
        "grouped_products": [],
        "_links": links(base, f"products/{rec.id}", "products"),
    }


def variation_json(store: SandboxStore, rec: Record, v: dict[str, Any], base: str) -> dict[str, Any]:
    stock = sum(v["inventory"])
    vid = variation_id(rec.index, v["index"])
    return {
        "id": vid,
        **dates("date_created", rec.created_at),
        **dates("date_modified", rec.updated_at),
        "description": "",
        "permalink": f"{base}/product/{rec.data['handle']}/?attribute_size={v['title'].lower()}",
        "sku": v["sku"],
        "price": money(v["price"]),
        "regular_price": money(v["price"]),
        "sale_price": "",
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "on_sale": False,
        "status": "publish",
        "purchasable": True,
        "virtual": False,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "tax_status": "taxable",
        "tax_class": "",
        "manage_stock": True,
        "stock_quantity": stock,
        "stock_status": "instock" if stock else "outofstock",
        "backorders": "no",
        "backorders_allowed": False,
        "backordered": False,
        "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_class": "",
        "shipping_class_id": 0,
        "image": None,
        "attributes": [{"id": 0, "name": "Size", "option": v["title"]}],
        "menu_order": v["index"],
        "meta_data": [],
        "_links": links(
            base, f"products/{rec.id}/variations/{vid}", f"products/{rec.id}/variations", f"products/{rec.id}"
        ),
    }


def order_status(o: dict[str, Any], trashed: bool) -> str:
    if trashed:
        return "trash"
    if o["cancelled"]:
        return "cancelled"
    if not o["paid"]:
        return "on-hold" if o["progress"] else "pending"
    return "completed" if o["progress"] >= 2 else "processing"


def order_json(store: SandboxStore, rec: Record, base: str) -> dict[str, Any]:
    o = rec.data
    ds = store.dataset
    buyer = generator.buyer(ds, o)
    paid_at = rec.created_at + timedelta(minutes=2) if o["paid"] else None
    completed_at = o["fulfillments"][-1]["shipped_at"] if o["progress"] >= 2 and o["fulfillments"] else None
    return {
        "id": rec.id,
        "parent_id": 0,
        "number": str(rec.id),
        "order_key": f"wc_order_{rec.id:013x}",
        "created_via": o["channel"][1],
        "version": "9.4.2",
        "status": order_status(o, rec.trashed),
        "currency": o["currency"],
        **dates("date_created", rec.created_at),
        **dates("date_modified", rec.updated_at),
        "discount_total": money(o["discount"]),
        "discount_tax": "0.00",
        "shipping_total": money(o["shipping"]),
        "shipping_tax": "0.00",
        "cart_tax": money(o["tax"]),
        "total": money(o["total"]),
        "total_tax": money(o["tax"]),
        "prices_include_tax": False,
        "customer_id": store.id_of("customers", o["customer"]) if o["customer"] is not None else 0,
        "customer_ip_address": "",
        "customer_user_agent": "",
        "customer_note": "",
        "billing": address(buyer, billing=True),
        "shipping": address(buyer, billing=False),
        "payment_method": "stripe",
        "payment_method_title": "Credit card",
        "transaction_id": f"ch_{rec.id:x}",
        **dates("date_paid", paid_at),
        **dates("date_completed", completed_at),
        "cart_hash": "",
        "meta_data": order_meta(rec),
        "line_items": [line_item(store, rec, ln) for ln in o["lines"]],
        "tax_lines": [
            {
                "id": rec.id * 10 + 8,
                "rate_code": "US-TAX-1",
                "rate_id": 1,
                "label": "Tax",
                "compound": False,
                "tax_total": money(o["tax"]),
                "shipping_tax_total": "0.00",
                "meta_data": [],
            }
        ],
        "shipping_lines": [
            {
                "id": rec.id * 10 + 9,
                "method_title": "Flat Rate",
                "method_id": "flat_rate",
                "total": money(o["shipping"]),
                "total_tax": "0.00",
                "taxes": [],
                "meta_data": [],
            }
        ],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [
            {"id": rec.id * 10 + 7, "reason": "Damaged in transit", "total": f"-{money(o['refund_amount'])}"}
        ]
        if o["refunded"]
        else [],
        "_links": links(base, f"orders/{rec.id}", "orders"),
    }


def line_item(store: SandboxStore, rec: Record, ln: dict[str, Any]) -> dict[str, Any]:
    product = store.dataset.product(ln["product"])
    variable = len(product["variants"]) > 1
    total = ln["price"] * ln["quantity"]
    return {
        "id": rec.id * 10 + ln["index"],
        "name": product["title"],
        "product_id": store.id_of("products", ln["product"]),
        "variation_id": variation_id(ln["product"], ln["variant"]) if variable else 0,
        "quantity": ln["quantity"],
        "tax_class": "",
        "subtotal": money(total),
        "subtotal_tax": "0.00",
        "total": money(total),
        "total_tax": "0.00",
        "taxes": [],
        "meta_data": [],
        "sku": product["variants"][ln["variant"]]["sku"],
        "price": float(ln["price"]),
    }


def order_meta(rec: Record) -> list[dict[str, Any]]:
    o = rec.data
    _source, _via, utm_source, utm_medium, referrer = o["channel"]
    meta = {
        "_wc_order_attribution_source_type": "utm" if utm_source else "referral" if referrer else "typein",
        "_wc_order_attribution_session_entry": o["landing_page"],
    }
    if utm_source:
        meta |= {
            "_wc_order_attribution_utm_source": utm_source,
            "_wc_order_attribution_utm_medium": utm_medium,
            "_wc_order_attribution_utm_campaign": o["campaign"],
        }
    if referrer:
        meta["_wc_order_attribution_referrer"] = referrer
    out = [{"id": rec.id * 100 + n, "key": k, "value": v} for n, (k, v) in enumerate(meta.items())]
    if o["fulfillments"]:
        items = [
            {
                "tracking_provider": f["carrier"],
                "custom_tracking_provider": "",
                "custom_tracking_link": "",
                "tracking_number": f["tracking_number"],
                "date_shipped": str(int(f["shipped_at"].timestamp())),
                "tracking_id": f"{rec.id:x}{f['index']}",
            }
            for f in o["fulfillments"]
        ]
        out.append({"id": rec.id * 100 + 50, "key": "_wc_shipment_tracking_items", "value": items})
    return out
