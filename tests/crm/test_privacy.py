"""Erasing a person for real: someone with a Shopify account, orders with shipments, a
WooCommerce guest order, a product subscription (and its e-mail), an export from a data
request and stored webhook deliveries is redacted by `customers/redact`; afterwards a scan
of every text, JSON and binary column of every table (enumerated from the schema) and
every file in the instance folder finds none of their e-mail, phone or names, while the
orders' amounts remain. `crm-connector privacy export|forget` does the same by e-mail for
any platform.

And the erasure lasts: a shopper the platforms still hold (a sandbox customer on the shop
and the site, with orders and abandoned checkouts) is erased, then every store is re-synced
in full and reconciled, sent a new order by webhook, and removed and connected again; the
scan still finds nothing, the orders and checkouts are kept without who placed them, and
no consent or contact is made again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from click.testing import CliRunner
from sqlalchemy import JSON, LargeBinary, String, func, select

from connector.accounts.stores import connect_store, install_store, remove_store, webhook_secret
from connector.cli import cli
from connector.context import settings_of
from connector.crm.notifications import send_pending
from connector.db import get_engine, session
from connector.db.models import Account, Base, Checkout, Contact, Customer, Order, OrderLineItem, Store
from connector.db.operations import PrivacyRequest, SyncRun
from connector.db.people import ConsentEvent, ContactInsight
from platforms.entities import RECONCILED, synced_by
from sandbox import generator
from sandbox.shopify import shapes as shopify_shapes
from sandbox.state import SandboxStore
from sandbox.woocommerce import shapes as woo_shapes
from sandbox.world import World
from sync.engine import run_step
from tests.crm.conftest import SIZES, sandbox_store
from tests.rig import SHOP, Rig, build_synced
from tests.webhooks.conftest import Stores, post_shopify, post_woo, work

pytestmark = pytest.mark.slow
NEW = {
    "first_name": "Zephyrine",
    "last_name": "Quillfeather",
    "email": "zephyrine.q@example.net",
    "phone": "+15025550199",
}
TOKENS = ("zephyrine", "quillfeather", "5025550199")
CUSTOMER_ID, ORDER_IDS, WOO_ORDER_ID = 990_000_001, [990_000_101, 990_000_102], 990_000_201


def disguise(payload: dict[str, Any], who: dict[str, Any]) -> dict[str, Any]:
    """The payload with `who`'s identity swapped for NEW's, wherever it is written."""
    body = json.dumps(payload)
    full = (f"{who['first_name']} {who['last_name']}", f"{NEW['first_name']} {NEW['last_name']}")
    for old, new in (full, *((f'"{who[k]}"', f'"{NEW[k]}"') for k in NEW if who.get(k))):
        body = body.replace(old, new)
    out: dict[str, Any] = json.loads(body)
    return out


def text_columns() -> dict[str, list[str]]:
    """Every column of the schema that can hold a person's details (text, JSON, bytes), by
    table: read from the models, so a table or column added later is scanned too."""
    held: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String | JSON | LargeBinary):  # Text is a String
                held.setdefault(table.name, []).append(column.name)
    return held


def test_the_scan_reads_every_column_that_can_hold_a_person() -> None:
    columns = text_columns()
    for table, column in [
        ("contacts", "email"),
        ("contacts", "addresses"),
        ("customers", "raw"),
        ("orders", "shipping_city"),
        ("checkouts", "email_normalized"),
        ("checkouts", "raw"),
        ("webhook_inbox", "body"),
        ("dead_letters", "payload"),
        ("notification_outbox", "recipient"),
        ("suppression_keys", "value"),
    ]:
        assert column in columns[table], (table, column)


def scan(rig: Rig) -> list[str]:
    """Every place a token of the person appears: table.column, or a file's path."""
    found = []
    with get_engine(rig.app).connect() as conn:
        for name, columns in text_columns().items():
            table = Base.metadata.tables[name]
            for row in conn.execute(select(*(table.c[c] for c in columns))):
                for column, value in row._mapping.items():
                    data = (
                        value.decode("latin-1")
                        if isinstance(value, bytes)
                        else json.dumps(value, default=str)
                    )
                    if any(t in data.lower() for t in TOKENS):
                        found.append(f"{name}.{column}")
    for path in settings_of(rig.app).instance_path.rglob("*"):
        if path.is_file() and any(t.encode() in path.read_bytes().lower() for t in TOKENS):
            found.append(str(path))
    return sorted(set(found))


def database_file_traces(rig: Rig) -> list[str]:
    """On SQLite, the database file itself (once the WAL is checkpointed into it): deleted and
    overwritten rows must not linger in free pages."""
    engine = get_engine(rig.app)
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    path = Path(str(engine.url.database))
    files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
    return [f"{p}:{t}" for p in files for t in TOKENS if t.encode() in p.read_bytes().lower()]


def secret_of(rig: Rig) -> str:
    return rig.sandbox.world.manifest()["shopify"]["api_secret"]


def introduce_the_person(rig: Rig) -> None:
    shop, site = sandbox_store(rig, rig.shop.id), sandbox_store(rig, rig.site.id)
    secret, domain = secret_of(rig), rig.shop.domain
    who = shop.get("customers", 0).data
    customer = disguise(shopify_shapes.customer_rest(shop, shop.get("customers", 0)), who) | {
        "id": CUSTOMER_ID
    }
    post_shopify(rig.app, "customers/create", customer, secret=secret, shop=domain)
    bought = [i for i in range(shop.dataset.sizes.orders) if shop.get("orders", i).data["customer"] == 0][:2]
    for order_id, index in zip(ORDER_IDS, bought, strict=True):
        order = disguise(shopify_shapes.order_rest(shop, shop.get("orders", index)), who)
        order |= {"id": order_id, "customer": {**order["customer"], "id": CUSTOMER_ID}}
        assert post_shopify(rig.app, "orders/create", order, secret=secret, shop=domain).status_code == 200
    guest = next(
        i for i in range(site.dataset.sizes.orders) if site.get("orders", i).data["customer"] is None
    )
    rec = site.get("orders", guest)
    buyer = woo_shapes.generator.buyer(site.dataset, rec.data)
    woo = disguise(woo_shapes.order_json(site, rec, rig.site.domain), buyer) | {"id": WOO_ORDER_ID}
    with session(rig.app) as s, s.begin():  # made on first use when no registration made it
        secret_now = webhook_secret(rig.app.extensions["crm.vault"], s.get_one(Store, rig.site.id))
    stores = Stores(rig.shop.id, rig.site.id, rig.site.store_key, secret_now)
    got = post_woo(rig.app, stores, "order.created", woo)
    assert got.status_code == 200, got.get_data(as_text=True)
    work(rig.app, rig.redis)
    subscribed = requests.post(
        f"{rig.url}/subscribe/{rig.shop.store_key}", data={"email": NEW["email"]}, timeout=10
    )
    assert subscribed.status_code == 202
    send_pending(rig.app)  # the confirmation, as an .eml file in the instance folder
    request = {
        "shop_domain": domain,
        "customer": {"id": CUSTOMER_ID, "email": NEW["email"]},
        "orders_requested": ORDER_IDS,
    }
    post_shopify(rig.app, "customers/data_request", request, secret=secret, shop=domain)
    work(rig.app, rig.redis)


def test_customers_redact_leaves_no_trace_of_the_person(synced: Rig) -> None:
    with synced.app.app_context():
        introduce_the_person(synced)
        before = scan(synced)
        # the scan sees the person where they are held (else it would prove nothing)
        assert {"contacts.email", "customers.raw", "orders.raw", "notification_outbox.recipient"} <= set(
            before
        )
        assert any(p.endswith(".eml") for p in before) and any("privacy-request" in p for p in before)
        redact = {
            "shop_domain": synced.shop.domain,
            "customer": {"id": CUSTOMER_ID, "email": NEW["email"], "phone": NEW["phone"]},
            "orders_to_redact": ORDER_IDS,
        }
        post_shopify(
            synced.app, "customers/redact", redact, secret=secret_of(synced), shop=synced.shop.domain
        )
        work(synced.app, synced.redis)
    assert scan(synced) == []
    assert database_file_traces(synced) == []
    with get_engine(synced.app).connect() as conn:
        kept = conn.execute(
            select(Order.contact_id, Order.total_price).where(
                Order.platform_id.in_([*ORDER_IDS, WOO_ORDER_ID])
            )
        ).all()
        receipt = conn.execute(select(PrivacyRequest).where(PrivacyRequest.kind == "customer_redact")).one()
        counted = conn.execute(
            select(func.sum(ContactInsight.orders)).where(
                ContactInsight.contact_id.in_({c for c, _t in kept})
            )
        ).scalar()
    # the amounts stay, on one anonymous contact, and still count in its insights
    assert len(kept) == 3 and len({c for c, _t in kept}) == 1 and all(t is not None for _c, t in kept)
    assert counted is not None and counted >= 3
    assert (receipt.result["orders"], receipt.result["subscriptions"], receipt.result["export_files"]) == (
        3,
        1,
        1,
    )


def test_privacy_commands_export_then_forget_by_email(synced: Rig) -> None:
    runner = CliRunner()
    env = {**synced.env}
    with synced.app.app_context():
        introduce_the_person(synced)
    mistyped = runner.invoke(
        cli, ["privacy", "export", "--email", NEW["email"], "--account", "nope"], env=env
    )
    assert (
        mistyped.exit_code == 2 and "no merchant account named 'nope'" in mistyped.output
    )  # not "nothing held"
    exported = runner.invoke(cli, ["privacy", "export", "--email", NEW["email"].upper()], env=env)
    assert exported.exit_code == 0, exported.output
    answer = json.loads(exported.output)
    (receipt,) = answer["receipts"]
    held = json.loads(Path(receipt["result"]["file"]).read_text())
    assert {o["platform_id"] for o in held["orders"]} == {*ORDER_IDS, WOO_ORDER_ID}
    assert held["product_subscriptions"] and held["consent_events"] is not None
    forgotten = runner.invoke(cli, ["privacy", "forget", "--email", NEW["email"]], env=env)
    assert forgotten.exit_code == 0, forgotten.output
    assert scan(synced) == []
    again = runner.invoke(cli, ["privacy", "forget", "--email", NEW["email"]], env=env)
    assert json.loads(again.output)["found"] is False
    bad = runner.invoke(cli, ["privacy", "forget", "--email", "nobody"], env=env)
    assert bad.exit_code == 2 and "--email" in bad.output


# --- the erasure lasts ----------------------------------------------------------------------


@dataclass
class Known:
    """A rig whose sandbox holds the person: the shop's customer `shop_index` (with orders and
    abandoned checkouts) and the site's `site_index` (with orders) are NEW."""

    rig: Rig
    shop_index: int
    site_index: int

    def customer_ids(self) -> dict[int, int]:
        """store id → the person's customer id there."""
        rig = self.rig
        return {
            rig.shop.id: sandbox_store(rig, rig.shop.id).id_of("customers", self.shop_index),
            rig.site.id: sandbox_store(rig, rig.site.id).id_of("customers", self.site_index),
        }


def a_shopper_of_both(world: World) -> tuple[int, int]:
    """A person with orders and abandoned checkouts on the shop and orders on the site."""
    shop, site = world.shops[SHOP].store, world.woo["site-1"].store
    ordered = {shop.get("orders", i).data["customer"] for i in range(shop.dataset.sizes.orders)}
    left = {
        generator.checkout(shop.dataset, i)["customer"] for i in range(generator.checkout_count(shop.dataset))
    }
    site_ordered = {site.get("orders", i).data["customer"] for i in range(site.dataset.sizes.orders)}
    for index in sorted((ordered & left) - {None}):
        there = shop.dataset.person_of(index) - site.dataset.person_offset
        if 0 <= there < site.dataset.sizes.customers and there in site_ordered:
            return index, there
    raise AssertionError("the world has no shopper of both stores")


def becomes_new(store: SandboxStore, index: int) -> None:
    """The sandbox's customer `index` is NEW, in every revision and as the buyer of its orders
    and checkouts (the platform's own data about the person)."""
    dataset = store.dataset
    generated = dataset.customer

    def customer(i: int, rev: int = 0) -> dict[str, Any]:
        data = generated(i, rev)
        return {**data, **NEW} if i == index else data

    dataset.customer = customer  # type: ignore[assignment]


@pytest.fixture
def known(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Known]:
    world = World(seed=31, sizes=SIZES, plan="plus")
    shop_index, site_index = a_shopper_of_both(world)
    becomes_new(world.shops[SHOP].store, shop_index)
    becomes_new(world.woo["site-1"].store, site_index)
    for rig in build_synced(app_env, world, redis_url):
        yield Known(rig, shop_index, site_index)


def the_persons_records(known: Known) -> dict[str, list[Any]]:
    """The person's orders and checkouts (by their customer ids), and customer records."""
    ids = known.customer_ids()
    with get_engine(known.rig.app).connect() as conn:
        out: dict[str, list[Any]] = {}
        for name, model in (("orders", Order), ("checkouts", Checkout)):
            out[name] = [
                r
                for store_id, cid in ids.items()
                for r in conn.execute(
                    select(model).where(model.store_id == store_id, model.customer_platform_id == cid)
                )
            ]
        out["customers"] = [
            r
            for store_id, cid in ids.items()
            for r in conn.execute(
                select(Customer).where(Customer.store_id == store_id, Customer.platform_id == cid)
            )
        ]
    return out


def erase_the_person(known: Known, how: str) -> None:
    rig = known.rig
    if how == "privacy forget":
        forgotten = CliRunner().invoke(cli, ["privacy", "forget", "--email", NEW["email"]], env=rig.env)
        assert forgotten.exit_code == 0, forgotten.output
        return
    shop_customer = known.customer_ids()[rig.shop.id]
    orders = [r.platform_id for r in the_persons_records(known)["orders"] if r.store_id == rig.shop.id]
    redact = {
        "shop_domain": rig.shop.domain,
        "customer": {"id": shop_customer, "email": NEW["email"], "phone": NEW["phone"]},
        "orders_to_redact": orders,
    }
    with rig.app.app_context():
        answer = post_shopify(
            rig.app, "customers/redact", redact, secret=secret_of(rig), shop=rig.shop.domain
        )
        assert answer.status_code == 200
        work(rig.app, rig.redis)


def until_done(rig: Rig, store_id: int, entity: str, *, full: bool = False) -> None:
    outcomes = []
    for _ in range(100):
        outcome = run_step(rig.app, store_id, entity, "test-owner", full=full).outcome
        outcomes.append(outcome)
        if outcome not in ("retry", "paused"):
            break
        full = False  # the run resumes where it stopped
    assert outcomes[-1] == "done", outcomes


def resync_in_full_then_reconcile(rig: Rig, stores: list[Store]) -> None:
    """Every entity re-read in full, then an incremental step each, which reconciles deletions
    (the first reconcile of these stores: it is due)."""
    with rig.app.app_context():
        for store in stores:
            for entity in synced_by(store.platform):
                until_done(rig, store.id, entity, full=True)
            for entity in sorted(RECONCILED):
                until_done(rig, store.id, entity)


def anonymous(known: Known) -> int:
    """The one contact the person's kept orders belong to: it says nothing about who they are."""
    owners = {r.contact_id for r in the_persons_records(known)["orders"]}
    assert len(owners) == 1 and None not in owners, owners
    (contact_id,) = owners
    with get_engine(known.rig.app).connect() as conn:
        contact = conn.execute(select(Contact).where(Contact.id == contact_id)).one()
        consents = conn.execute(select(func.count()).where(ConsentEvent.contact_id == contact_id)).scalar()
    assert (contact.email, contact.phone_e164, contact.first_name, consents) == (None, None, None, 0)
    return int(contact_id)


@pytest.mark.parametrize("how", ["customers/redact", "privacy forget"])
def test_an_erased_person_stays_erased_through_a_full_resync_and_a_reconcile(known: Known, how: str) -> None:
    rig = known.rig
    # given the person, as the platforms hold them, synced into both stores
    held = the_persons_records(known)
    assert held["orders"] and held["checkouts"] and len(held["customers"]) == 2
    before = scan(rig)
    assert {"contacts.email", "customers.raw", "orders.raw", "checkouts.email", "checkouts.raw"} <= set(
        before
    )
    # when they are erased, and then every store is re-read in full and reconciled
    erase_the_person(known, how)
    assert scan(rig) == []
    resync_in_full_then_reconcile(rig, [rig.shop, rig.site])
    # then nothing about them came back, anywhere
    assert scan(rig) == []
    assert database_file_traces(rig) == []
    with get_engine(rig.app).connect() as conn:
        reconciled = conn.execute(
            select(SyncRun.store_id, SyncRun.entity, SyncRun.records).where(SyncRun.kind == "reconcile")
        ).all()
    assert {(s, e) for s, e, _n in reconciled} == {
        (s.id, e) for s in (rig.shop, rig.site) for e in RECONCILED
    }
    # the erased customers are held (tombstones), not missing: the reconcile fetched nothing again
    assert [n for s, e, n in reconciled if e == "customers"] == [0, 0]
    # and their orders and checkouts are kept, amounts and all, without who placed them
    after = the_persons_records(known)
    for name in ("orders", "checkouts"):
        assert {r.platform_id for r in after[name]} == {r.platform_id for r in held[name]}, name
        assert all(r.total_price is not None and r.email is None and r.raw is None for r in after[name])
    assert all(r.deleted_at is not None and r.email is None for r in after["customers"])
    anonymous(known)


def test_a_new_order_from_an_erased_person_is_kept_without_who_they_are(known: Known) -> None:
    rig = known.rig
    erase_the_person(known, "privacy forget")
    contact_id = anonymous(known)
    with get_engine(rig.app).connect() as conn:
        counted = conn.execute(
            select(ContactInsight.orders).where(
                ContactInsight.contact_id == contact_id, ContactInsight.store_id == rig.shop.id
            )
        ).scalar_one()
    # given a new order they place on the shop, with their details and a yes to marketing
    shop = sandbox_store(rig, rig.shop.id)
    theirs = next(
        i
        for i in range(shop.dataset.sizes.orders)
        if shop.get("orders", i).data["customer"] == known.shop_index
    )
    order = shopify_shapes.order_rest(shop, shop.get("orders", theirs))
    assert order["email"] == NEW["email"] and order["customer"]["first_name"] == NEW["first_name"]
    order |= {
        "id": 990_000_301,
        "name": "#990301",
        "buyer_accepts_marketing": True,
        "fulfillments": [],
        "refunds": [],
    }
    order["line_items"] = [{**li, "id": 990_000_400 + n} for n, li in enumerate(order["line_items"])]
    # when its webhook arrives and is applied
    with rig.app.app_context():
        answer = post_shopify(rig.app, "orders/create", order, secret=secret_of(rig), shop=rig.shop.domain)
        assert answer.status_code == 200
        work(rig.app, rig.redis)
    # then the order is kept, its amounts and lines counted, and nothing says who placed it
    with get_engine(rig.app).connect() as conn:
        kept = conn.execute(select(Order).where(Order.platform_id == 990_000_301)).one()
        lines = conn.execute(
            select(func.count()).where(
                OrderLineItem.store_id == rig.shop.id, OrderLineItem.order_platform_id == kept.platform_id
            )
        ).scalar()
        now_counted = conn.execute(
            select(ContactInsight.orders).where(
                ContactInsight.contact_id == contact_id, ContactInsight.store_id == rig.shop.id
            )
        ).scalar_one()
    assert kept.total_price == Decimal(order["total_price"]) and lines == len(order["line_items"])
    assert (kept.email, kept.phone, kept.raw, kept.buyer_accepts_marketing) == (None, None, None, None)
    assert kept.contact_id == contact_id and now_counted == counted + 1
    anonymous(known)  # no consent re-created
    assert scan(rig) == []  # no contact with their e-mail, and the stored delivery kept no body
    assert database_file_traces(rig) == []


def test_an_erased_person_stays_erased_when_their_store_is_removed_and_connected_again(known: Known) -> None:
    rig = known.rig
    held = {r.platform_id for r in the_persons_records(known)["orders"] if r.store_id == rig.shop.id}
    erase_the_person(known, "privacy forget")
    contact_id = anonymous(known)
    # given the shop removed (every record of it goes) and connected again to the account
    shop = rig.sandbox.world.manifest()["shopify"]["shops"][0]
    with session(rig.app) as s, s.begin():
        remove_store(s, s.get_one(Store, rig.shop.id))
    with session(rig.app) as s, s.begin():
        again = connect_store(
            s,
            rig.app.extensions["crm.vault"],
            account=s.get_one(Account, rig.shop.account_id),
            platform="shopify",
            domain=shop["domain"],
            credentials={"access_token": shop["access_token"]},
        )
        again.scopes = rig.shop.scopes
        s.flush()
        s.expunge(again)
    # when it is backfilled from scratch, then the person is not back, and their orders attach
    # to the contact they left
    customer_id, orders = backfilled_without_them(known, again.id, held)
    with get_engine(rig.app).connect() as conn:
        customer = conn.execute(
            select(Customer).where(Customer.store_id == again.id, Customer.platform_id == customer_id)
        ).one()
    assert {o.contact_id for o in orders} == {contact_id}
    assert (customer.email, customer.contact_id) == (None, None) and customer.deleted_at is not None


def backfilled_without_them(known: Known, store_id: int, held: set[int]) -> tuple[int, list[Any]]:
    """Backfill the store again from scratch; no trace of the person may come back, and their
    orders there are kept without them. The customer's id and those orders."""
    rig = known.rig
    with rig.app.app_context():
        for entity in synced_by("shopify"):
            until_done(rig, store_id, entity)
    assert scan(rig) == []
    assert database_file_traces(rig) == []
    customer_id = known.customer_ids()[rig.shop.id]
    return customer_id, kept_without_them(rig, store_id, customer_id, held)


def kept_without_them(rig: Rig, store_id: int, customer_id: int, held: set[int]) -> list[Any]:
    """The erased customer's orders in that store: exactly those held before, with amounts
    and without who they are."""
    with get_engine(rig.app).connect() as conn:
        orders = conn.execute(
            select(Order).where(Order.store_id == store_id, Order.customer_platform_id == customer_id)
        ).all()
    assert {o.platform_id for o in orders} == held
    assert all(o.email is None and o.raw is None and o.total_price is not None for o in orders)
    return list(orders)


def test_an_erasure_outlives_shop_redact_and_a_reinstall(known: Known) -> None:
    rig = known.rig
    held = {r.platform_id for r in the_persons_records(known)["orders"] if r.store_id == rig.shop.id}
    erase_the_person(known, "customers/redact")
    # given the shop uninstalled and redacted (its store row and every record go)
    with rig.app.app_context():
        redact = {"shop_id": 1, "shop_domain": rig.shop.domain}
        answer = post_shopify(rig.app, "shop/redact", redact, secret=secret_of(rig), shop=rig.shop.domain)
        assert answer.status_code == 200
        work(rig.app, rig.redis)
    with get_engine(rig.app).connect() as conn:
        assert conn.execute(select(Store).where(Store.id == rig.shop.id)).first() is None
    # when the merchant installs the app again (a new account, named for the shop) and it backfills
    shop = rig.sandbox.world.manifest()["shopify"]["shops"][0]
    with session(rig.app) as s, s.begin():
        again = install_store(
            s,
            rig.app.extensions["crm.vault"],
            platform="shopify",
            domain=shop["domain"],
            credentials={"access_token": shop["access_token"]},
        )
        again.scopes = rig.shop.scopes
        s.flush()
        s.expunge(again)
    assert again.account_id != rig.shop.account_id
    # then the person is not back: their orders are kept, with no contact of the old account
    _customer, orders = backfilled_without_them(known, again.id, held)
    with get_engine(rig.app).connect() as conn:
        owners = conn.execute(
            select(Contact.account_id).where(Contact.id.in_({o.contact_id for o in orders} - {None}))
        ).scalars()
    assert set(owners) <= {again.account_id}  # never a contact of another tenant
