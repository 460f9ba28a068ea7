"""Generated data: deterministic, realistic, and with people shared across platforms."""

from __future__ import annotations

from collections import Counter

import phonenumbers

from sandbox.generator import REGIONS
from sandbox.world import World
from tests.conftest_sandbox import SIZES


def test_the_same_seed_gives_the_same_records() -> None:
    a, b = World(seed=3, sizes=SIZES), World(seed=3, sizes=SIZES)
    shop_a, shop_b = next(iter(a.shops.values())).store, next(iter(b.shops.values())).store
    assert [shop_a.get("orders", i).data for i in range(50)] == [
        shop_b.get("orders", i).data for i in range(50)
    ]
    other = next(iter(World(seed=4, sizes=SIZES).shops.values())).store
    assert shop_a.get("customers", 0).data != other.get("customers", 0).data


def test_half_of_a_sites_people_also_shop_on_the_shopify_shop(world: World) -> None:
    shop, site = next(iter(world.shops.values())).store, next(iter(world.woo.values())).store
    shopify = {
        shop.get("customers", i).data["email"]: shop.get("customers", i).data for i in range(SIZES.customers)
    }
    woo = [site.get("customers", i).data for i in range(SIZES.customers)]
    shared = [c for c in woo if c["email"].lower() in shopify]
    assert len(shared) == SIZES.customers // 2
    assert all(c["email"] == c["email"].lower() for c in shopify.values())  # Shopify's side as it was
    for c in shared:  # same person: the phone is written differently but is the same number
        theirs = shopify[c["email"].lower()]
        assert c["person"] == theirs["person"]
        if c["phone"]:
            region = REGIONS[[r[0] for r in REGIONS].index(c["country"])][0]
            assert phonenumbers.parse(c["phone"], region) == phonenumbers.parse(theirs["phone"])
            assert c["phone"] != theirs["phone"]
    # and some of them, on purpose, typed their e-mail in other capitals and their phone
    # internationally with spaces, as well as in the national format
    recased = [c for c in shared if c["email"] != c["email"].lower()]
    assert len(recased) >= len(shared) // 3 and any(c["email"] == c["email"].upper() for c in recased)
    spaced = [c for c in shared if c["phone"] and c["phone"].startswith("+") and " " in c["phone"]]
    national = [c for c in shared if c["phone"] and not c["phone"].startswith("+")]
    assert spaced and national


def test_orders_have_guests_repeat_buyers_channels_fulfilments_and_refunds(world: World) -> None:
    store = next(iter(world.shops.values())).store
    orders = [store.get("orders", i).data for i in range(SIZES.orders)]
    buyers = Counter(o["customer"] for o in orders if o["customer"] is not None)
    assert sum(1 for o in orders if o["customer"] is None) > SIZES.orders * 0.08  # guests
    assert sum(1 for n in buyers.values() if n > 1) > 20  # repeat buyers
    assert len({o["channel"][0] for o in orders}) >= 5
    assert any(o["partial"] for o in orders) and any(o["refunded"] for o in orders)
    assert all(f["tracking_number"] for o in orders for f in o["fulfillments"])


def test_record_times_grow_with_the_index_so_pages_are_arithmetic(world: World) -> None:
    store = next(iter(world.shops.values())).store
    times = [store.get("orders", i).updated_at for i in range(SIZES.orders)]
    assert times == sorted(times) and times[-1] <= world.anchor
