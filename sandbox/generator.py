"""Deterministic shop data at any scale: record i of a store is a pure function of
(seed, store, i), so a million orders are never held in memory.

People come from one pool shared by every store of a seed (`sandbox.people`); stores
draw overlapping ranges of it, so the same person (the same e-mail and phone, written
differently) shops on both platforms. `person_of` is the ground truth identity resolution is checked against.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.people import LAST, REGIONS, email_written, person_record, phone_written

# (Shopify source_name, WooCommerce created_via, utm source, utm medium, referrer) per channel
CHANNELS = (
    ("web", "checkout", "google", "cpc", "https://www.google.com/"),
    ("web", "checkout", "newsletter", "email", None),
    ("web", "store-api", "instagram", "social", "https://l.instagram.com/"),
    ("web", "checkout", None, None, None),
    ("pos", "admin", None, None, None),
    ("iphone", "rest-api", None, None, None),
    ("shopify_draft_order", "admin", None, None, None),
    ("facebook", "checkout", "facebook", "paid_social", "https://m.facebook.com/"),
)
CARRIERS = (
    ("UPS", "https://www.ups.com/track?tracknum={n}"),
    ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={n}"),
    ("DHL Express", "https://www.dhl.com/track?id={n}"),
    ("Royal Mail", "https://www.royalmail.com/track/{n}"),
)
VENDORS = ("Northwind", "Acme Outfitters", "Blue Fern", "Copper Kettle", "Driftwood Co")
TYPES = ("Apparel", "Footwear", "Home", "Accessories", "Outdoor")
NOUNS = ("Jacket", "Sneaker", "Mug", "Backpack", "Scarf", "Lamp", "Tent", "Hoodie", "Bottle", "Cap")
ADJECTIVES = ("Classic", "Trail", "Urban", "Cozy", "Featherweight", "Everyday", "Alpine", "Coastal")
LOCATIONS = (("Main warehouse", "US", "KY"), ("West coast", "US", "CA"), ("EU hub", "DE", "BE"))
CAMPAIGNS = ("spring_sale", "black_friday", "new_arrivals", "winback")


@dataclass(frozen=True)
class Sizes:
    customers: int
    orders: int
    products: int


@dataclass(eq=False)  # identity hash: its methods are cached per instance
class Dataset:
    """The base records of one store; index i of each entity is generated on demand."""

    seed: int
    store: str
    platform: str
    sizes: Sizes
    anchor: datetime  # the newest base record is no newer than this
    person_offset: int = 0
    currency: str = "USD"
    span: timedelta = timedelta(days=730)
    _salt: str = field(init=False)

    def __post_init__(self) -> None:
        self._salt = f"{self.seed}:{self.store}"

    def rng(self, kind: str, i: int, rev: int = 0) -> random.Random:
        return random.Random(f"{self._salt}:{kind}:{i}:{rev}")

    def created_at(self, kind: str, i: int) -> datetime:
        n = max(getattr(self.sizes, kind), 1)
        step = self.span / n
        return (self.anchor - self.span + step * i).replace(microsecond=0)

    def updated_at(self, kind: str, i: int) -> datetime:
        """Monotone in i: the offset stays under one creation step."""
        n = max(getattr(self.sizes, kind), 1)
        step_s = int((self.span / n).total_seconds())
        offset = self.rng(kind + ":u", i).randrange(step_s) if step_s > 1 else 0
        return self.created_at(kind, i) + timedelta(seconds=offset)

    def person_of(self, customer_index: int) -> int:
        return self.person_offset + customer_index

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - datasets live as long as the process
    def customer(self, i: int, rev: int = 0) -> dict[str, Any]:
        p = self.person_of(i)
        person = person_record(self.seed, p)
        r = self.rng("customer", i, rev)
        region = REGIONS[person["region"]]
        return {
            "index": i,
            "person": p,
            "first_name": person["first_name"],
            "last_name": person["last_name"],
            "email": email_written(person, self.platform),
            "phone": phone_written(person, self.platform),
            "country": region[0],
            "province_code": region[1],
            "province": region[2],
            "city": region[3],
            "address1": f"{10 + p % 890} {LAST[p % len(LAST)]} Street",
            "zip": f"{10000 + (p * 7919) % 89999}",
            "email_consent": person["email_consent"]
            if rev == 0
            else r.choice(("subscribed", "unsubscribed")),
            "sms_consent": person["sms_consent"],
            "tags": ",".join(
                sorted(r.sample(("vip", "wholesale", "newsletter", "returning"), r.randrange(3)))
            ),
            "note": None if rev == 0 else f"edited (revision {rev})",
            "state": "enabled" if r.random() < 0.7 else "disabled",
            "rev": rev,
        }

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - orders look products up once per line item
    def product(self, i: int, rev: int = 0) -> dict[str, Any]:
        r = self.rng("product", i)
        title = f"{r.choice(ADJECTIVES)} {r.choice(NOUNS)} {i + 1}"
        count = 1 + r.randrange(3)
        variants = [
            {
                "index": v,
                "title": ("Small", "Medium", "Large")[v] if count > 1 else "Default Title",
                "sku": f"SKU-{i + 1}-{v}",
                "price": variant_price(self, i, v, rev),
                "inventory": [r.randrange(0, 60) for _ in LOCATIONS],
            }
            for v in range(count)
        ]
        status = "active" if r.random() < 0.9 else r.choice(("draft", "archived"))
        return {
            "index": i,
            "title": title if rev == 0 else f"{title} (v{rev + 1})",
            "handle": title.lower().replace(" ", "-"),
            "vendor": r.choice(VENDORS),
            "product_type": r.choice(TYPES),
            "tags": ",".join(sorted(r.sample(("new", "sale", "eco", "bestseller", "limited"), 2))),
            "status": status,
            "published": status == "active",
            "variants": variants,
            "rev": rev,
        }

    def order(self, i: int, rev: int = 0) -> dict[str, Any]:
        r = self.rng("order", i)
        n_customers = max(self.sizes.customers, 1)
        guest = r.random() < 0.15
        customer = None if guest else int(n_customers * r.random() ** 2.2)  # skewed: repeat buyers
        person = self.person_of(customer) if customer is not None else guest_person(self, i)
        lines = pick_lines(self, r, 1 + int(r.random() ** 2 * 4), most_extra=3)
        subtotal = sum((ln["price"] * ln["quantity"] for ln in lines), Decimal("0.00"))
        discount = (
            (subtotal * Decimal("0.10")).quantize(Decimal("0.01")) if r.random() < 0.2 else Decimal("0.00")
        )
        shipping = Decimal("0.00") if subtotal > 100 else Decimal("7.50")
        tax = ((subtotal - discount) * Decimal("0.08")).quantize(Decimal("0.01"))
        total = subtotal - discount + shipping + tax
        channel = CHANNELS[int(r.random() ** 1.5 * len(CHANNELS))]
        # 0 unfulfilled, 1 partly shipped, 2 shipped, 3 delivered; each update moves an order on
        progress = min(rev + r.choice((0, 1, 2, 2, 3, 3, 3)), 3)
        cancelled = r.random() < 0.02
        refunded = not cancelled and progress >= 2 and r.random() < 0.08
        partial = progress == 1 and len(lines) > 1 and not cancelled
        shipments = 2 if len(lines) > 2 else 1
        fulfillments: list[dict[str, Any]] = []
        if partial:
            fulfillments = [fulfillment(self, i, 0, lines[:1], progress)]
        elif progress and not cancelled:
            fulfillments = [
                fulfillment(self, i, k, [ln for ln in lines if ln["index"] % shipments == k], progress)
                for k in range(shipments)
            ]
        return {
            "index": i,
            "number": 1000 + i + 1,
            "customer": customer,
            "person": person,
            "lines": lines,
            "subtotal": subtotal,
            "discount": discount,
            "shipping": shipping,
            "tax": tax,
            "total": total,
            "currency": self.currency,
            "channel": channel,
            "campaign": r.choice(CAMPAIGNS) if channel[2] else None,
            "landing_page": f"/collections/{r.choice(TYPES).lower()}"
            + (f"?utm_source={channel[2]}" if channel[2] else ""),
            "accepts_marketing": r.random() < 0.4,
            "cancelled": cancelled,
            "refunded": refunded,
            "refund_amount": (total / 2).quantize(Decimal("0.01")) if refunded else Decimal("0.00"),
            "paid": not cancelled and r.random() < 0.9,
            "fulfillments": fulfillments,
            "partial": partial,
            "progress": progress,
            "rev": rev,
        }


def pick_lines(ds: Dataset, r: random.Random, count: int, *, most_extra: int) -> list[dict[str, Any]]:
    """`count` cart lines: a product, one of its variants, a quantity skewed towards one."""
    lines = []
    for n in range(count):
        p = r.randrange(max(ds.sizes.products, 1))
        v = r.randrange(variant_count(ds, p))
        quantity = 1 + int(r.random() ** 3 * most_extra)
        lines.append(
            {
                "index": n,
                "product": p,
                "variant": v,
                "quantity": quantity,
                "price": ds.product(p)["variants"][v]["price"],
            }
        )
    return lines


def checkout_count(ds: Dataset) -> int:
    """Abandoned checkouts (Shopify): one for every three orders, spread over the same span."""
    return ds.sizes.orders // 3 if ds.platform == "shopify" else 0


def checkout(ds: Dataset, i: int) -> dict[str, Any]:
    """A checkout someone left with items in it (15% were recovered: completed later); the
    ground truth of conversion. Two in three are by a known customer, the rest anonymous."""
    r = ds.rng("checkout", i)
    n = max(checkout_count(ds), 1)
    created = (ds.anchor - ds.span + ds.span / n * i + timedelta(minutes=7)).replace(microsecond=0)
    customer = int(max(ds.sizes.customers, 1) * r.random() ** 1.5) if r.random() < 2 / 3 else None
    lines = pick_lines(ds, r, 1 + int(r.random() ** 2 * 3), most_extra=2)
    total = sum((ln["price"] * ln["quantity"] for ln in lines), Decimal("0.00"))
    completed = created + timedelta(hours=1 + r.randrange(72)) if r.random() < 0.15 else None
    return {
        "index": i,
        "customer": customer if ds.sizes.customers else None,
        "lines": lines,
        "total": total,
        "currency": ds.currency,
        "created_at": created,
        "updated_at": completed or created + timedelta(minutes=20),
        "completed_at": completed,
    }


def buyer(ds: Dataset, order: dict[str, Any]) -> dict[str, Any]:
    """Who placed an order, with customer-record fields: the account holder, or a guest."""
    if order["customer"] is not None:
        return ds.customer(order["customer"])
    person = person_record(ds.seed, order["person"])
    region = REGIONS[person["region"]]
    return {
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "email": email_written(person, ds.platform),
        "phone": phone_written(person, ds.platform),
        "country": region[0],
        "province_code": region[1],
        "province": region[2],
        "city": region[3],
        "address1": f"{order['person'] % 900 + 1} Guest Lane",
        "zip": "10001",
        "email_consent": person["email_consent"],
        "sms_consent": person["sms_consent"],
    }


def guest_person(ds: Dataset, order_index: int) -> int:
    """Guests: half are people who also have an account somewhere, half are new people."""
    r = ds.rng("guest", order_index)
    if r.random() < 0.5:
        return ds.person_offset + r.randrange(max(ds.sizes.customers, 1))
    return 10_000_000 + ds.person_offset + order_index


def variant_count(ds: Dataset, product_index: int) -> int:
    return len(ds.product(product_index)["variants"])


def variant_price(ds: Dataset, product_index: int, variant: int, rev: int) -> Decimal:
    r = ds.rng("price", product_index * 8 + variant)
    return (Decimal(r.randrange(900, 19900)) / 100 + Decimal(rev * 5)).quantize(Decimal("0.01"))


def fulfillment(
    ds: Dataset, order_index: int, k: int, lines: list[dict[str, Any]], progress: int
) -> dict[str, Any]:
    r = ds.rng("fulfillment", order_index * 4 + k)
    carrier, url = CARRIERS[r.randrange(len(CARRIERS))]
    number = f"1Z{r.randrange(10**9, 10**10)}"
    shipped = ds.created_at("orders", order_index) + timedelta(hours=6 + r.randrange(48))
    return {
        "index": k,
        "carrier": carrier,
        "tracking_number": number,
        "tracking_url": url.format(n=number),
        "lines": [ln["index"] for ln in lines],
        "shipped_at": shipped,
        "delivered_at": shipped + timedelta(days=2 + r.randrange(5)) if progress >= 3 else None,
        "status": "delivered" if progress >= 3 else "in_transit",
    }


def anchor_now() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
