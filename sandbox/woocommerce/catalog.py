"""The WooCommerce records around orders and products, derived from them so they stay
consistent as the store changes: product categories and tags (terms), reviews (comments
on products), order notes (comments on orders), refunds, and the site's coupons.

Ids follow WordPress's tables: terms have their own sequence (15 is "Uncategorized"
on a new site), comments theirs (derived here as 10 x the post id + n), coupons are
among the site's first posts (3-6, below the products).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sandbox.generator import CAMPAIGNS, TYPES, Dataset
from sandbox.state import Record, SandboxStore
from sandbox.woocommerce.values import dates, links, money

UNCATEGORIZED = 15
TAGS = ("bestseller", "eco", "limited", "new", "sale")
FIRST_COUPON_ID = 3
REVIEW_TEXT = (
    "Exactly as described.",
    "Great quality for the price.",
    "Runs a little small.",
    "Would buy again.",
)


def category_id(product_type: str) -> int:
    return UNCATEGORIZED + 1 + TYPES.index(product_type)


def tag_id(tag: str) -> int:
    return UNCATEGORIZED + 1 + len(TYPES) + TAGS.index(tag)


def live_products(store: SandboxStore) -> list[Record]:
    view = store.view("products", "id")
    return store.records("products", view.keys(0, len(view)))


def categories(store: SandboxStore, base: str) -> list[dict[str, Any]]:
    counts = {t: 0 for t in TYPES}
    for p in live_products(store):
        if p.data["status"] == "active":
            counts[p.data["product_type"]] += 1
    out = [_category(UNCATEGORIZED, "Uncategorized", 0, base)]
    return out + [_category(category_id(t), t, counts[t], base) for t in TYPES]


def _category(term_id: int, name: str, count: int, base: str) -> dict[str, Any]:
    return {
        "id": term_id,
        "name": name,
        "slug": name.lower(),
        "parent": 0,
        "description": "",
        "display": "default",
        "image": None,
        "menu_order": 0,
        "count": count,
        "_links": links(base, f"products/categories/{term_id}", "products/categories"),
    }


def tags(store: SandboxStore, base: str) -> list[dict[str, Any]]:
    counts = dict.fromkeys(TAGS, 0)
    for p in live_products(store):
        if p.data["status"] == "active":
            for t in p.data["tags"].split(","):
                counts[t] += 1
    return [
        {
            "id": tag_id(t),
            "name": t,
            "slug": t,
            "description": "",
            "count": counts[t],
            "_links": links(base, f"products/tags/{tag_id(t)}", "products/tags"),
        }
        for t in TAGS
    ]


# --- reviews -----------------------------------------------------------------------------------


def reviews_of(store: SandboxStore, product: Record, base: str) -> list[dict[str, Any]]:
    """0-3 approved reviews on a generated product (none on one created since, or in the trash)."""
    ds = store.dataset
    if product.index >= ds.sizes.products or product.trashed or not ds.sizes.customers:
        return []
    r = ds.rng("review", product.index)
    n = r.choice((0, 0, 0, 1, 1, 2, 3))
    out = []
    for k in range(n):
        at = product.created_at + (ds.anchor - product.created_at) * ((k + 1) / (n + 1))
        reviewer = ds.customer(r.randrange(ds.sizes.customers))
        review_id = product.id * 10 + k
        out.append(
            {
                "id": review_id,
                **dates("date_created", at.replace(microsecond=0)),
                "product_id": product.id,
                "product_name": product.data["title"],
                "product_permalink": f"{base}/product/{product.data['handle']}/",
                "status": "approved",
                "reviewer": f"{reviewer['first_name']} {reviewer['last_name']}",
                "reviewer_email": reviewer["email"],
                "review": f"<p>{r.choice(REVIEW_TEXT)}</p>\n",
                "rating": r.choice((5, 5, 4, 4, 3, 2, 1)),
                "verified": r.random() < 0.7,
                "reviewer_avatar_urls": {
                    s: f"https://secure.gravatar.com/avatar/{review_id:032x}?s={s}"
                    for s in ("24", "48", "96")
                },
                "_links": {
                    **links(base, f"products/reviews/{review_id}", "products/reviews"),
                    "up": [{"href": f"{base}/wp-json/wc/v3/products/{product.id}"}],
                },
            }
        )
    return out


def all_reviews(store: SandboxStore, base: str) -> list[dict[str, Any]]:
    return [rv for p in live_products(store) for rv in reviews_of(store, p, base)]


def rating(store: SandboxStore, product: Record) -> tuple[str, int]:
    """(average_rating, rating_count) as the product shows them."""
    found = reviews_of(store, product, "")
    if not found:
        return "0.00", 0
    return f"{sum(rv['rating'] for rv in found) / len(found):.2f}", len(found)


# --- orders: notes and refunds -------------------------------------------------------------------


def notes_of(order: Record, base: str) -> list[dict[str, Any]]:
    """What WooCommerce writes on an order as it moves on, newest first."""
    o = order.data
    events: list[tuple[datetime, str, bool]] = []
    if o["cancelled"]:
        events.append(
            (
                order.created_at + timedelta(hours=1),
                "Order status changed from Pending payment to Cancelled.",
                False,
            )
        )
    elif o["paid"]:
        events.append(
            (
                order.created_at + timedelta(minutes=2),
                "Order status changed from Pending payment to Processing.",
                False,
            )
        )
    for f in o["fulfillments"]:
        text = f"Your order was shipped via {f['carrier']}. Tracking number {f['tracking_number']}."
        events.append((f["shipped_at"], text, True))
    if o["paid"] and not o["cancelled"] and o["progress"] >= 2 and o["fulfillments"]:
        events.append(
            (o["fulfillments"][-1]["shipped_at"], "Order status changed from Processing to Completed.", False)
        )
    if o["refunded"]:
        events.append(
            (order.updated_at, f"Refunded ${money(o['refund_amount'])} - Damaged in transit", False)
        )
    notes = [
        {
            "id": order.id * 10 + n,
            "author": "system",
            **dates("date_created", at),
            "note": text,
            "customer_note": to_customer,
            "_links": {
                **links(base, f"orders/{order.id}/notes/{order.id * 10 + n}", f"orders/{order.id}/notes"),
                "up": [{"href": f"{base}/wp-json/wc/v3/orders/{order.id}"}],
            },
        }
        for n, (at, text, to_customer) in enumerate(events)
    ]
    return sorted(notes, key=lambda n: (n["date_created_gmt"], n["id"]), reverse=True)


def refunds_of(order: Record, base: str) -> list[dict[str, Any]]:
    o = order.data
    if not o["refunded"]:
        return []
    refund_id = order.id * 10 + 7  # as the order's own `refunds` list names it
    return [
        {
            "id": refund_id,
            **dates("date_created", order.updated_at),
            "amount": money(o["refund_amount"]),
            "reason": "Damaged in transit",
            "refunded_by": 1,
            "refunded_payment": True,
            "meta_data": [],
            "line_items": [],
            "shipping_lines": [],
            "tax_lines": [],
            "fee_lines": [],
            "_links": {
                **links(base, f"orders/{order.id}/refunds/{refund_id}", f"orders/{order.id}/refunds"),
                "up": [{"href": f"{base}/wp-json/wc/v3/orders/{order.id}"}],
            },
        }
    ]


# --- coupons -------------------------------------------------------------------------------------


def coupons(ds: Dataset, base: str) -> list[dict[str, Any]]:
    """One percent-off coupon per campaign the generator attributes orders to."""
    out: list[dict[str, Any]] = []
    for n, campaign in enumerate(CAMPAIGNS):
        coupon_id = FIRST_COUPON_ID + n
        at = (ds.anchor - ds.span + timedelta(days=60 * (n + 1))).replace(microsecond=0)
        out.append(
            {
                "id": coupon_id,
                "code": campaign.replace("_", "-"),
                "amount": "10.00",
                **dates("date_created", at),
                **dates("date_modified", at),
                "discount_type": "percent",
                "description": f"10% off ({campaign.replace('_', ' ')})",
                **dates("date_expires", None),
                "usage_count": 0,
                "individual_use": False,
                "product_ids": [],
                "excluded_product_ids": [],
                "usage_limit": None,
                "usage_limit_per_user": None,
                "limit_usage_to_x_items": None,
                "free_shipping": False,
                "product_categories": [],
                "excluded_product_categories": [],
                "exclude_sale_items": False,
                "minimum_amount": "0.00",
                "maximum_amount": "0.00",
                "email_restrictions": [],
                "used_by": [],
                "meta_data": [],
                "_links": links(base, f"coupons/{coupon_id}", "coupons"),
            }
        )
    return out
