"""A record the connector cannot read or the database refuses goes to the dead-letter table
with a plain reason; the rest of its page, and of its transaction, is written and the sync
finishes. The site is the real HTTP stack answered by `responses` at the network edge,
with the platform's published payloads; pages join into one write of more than 50 rows
(the COPY path on PostgreSQL) as a backfill's do."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Engine

from connector import create_app
from connector.accounts.stores import account_named, connect_store
from connector.db import get_engine, session
from connector.db.models import Order, OrderLineItem
from connector.db.operations import DeadLetter, SyncRun, SyncState
from connector.write import refusals
from connector.write.apply import apply_isolating
from sync.engine import run_step
from tests.builders import database_refusing, fixture, make_store, order_batch, woo_order

SITE = "https://poison.example"


def site_answers(orders: list[dict[str, Any]], page_size: int = 100) -> None:
    def listing(request: Any) -> tuple[int, dict[str, str], str]:
        recent = "modified_after" in request.url  # all of them changed lately: none in the history
        found = orders if recent else []
        page = int(parse_qs(urlparse(request.url).query).get("page", ["1"])[0])
        pages = -(-len(found) // page_size)
        return (
            200,
            {"X-WP-Total": str(len(found)), "X-WP-TotalPages": str(pages)},
            json.dumps(found[(page - 1) * page_size : page * page_size]),
        )

    responses.add_callback(responses.GET, re.compile(rf"{SITE}/wp-json/wc/v3/orders.*"), callback=listing)


def woo_store(app: Flask) -> int:
    with session(app) as s, s.begin():
        store = connect_store(
            s,
            app.extensions["crm.vault"],
            account=account_named(s, "test"),
            platform="woocommerce",
            domain=SITE,
            credentials={"consumer_key": "ck_x", "consumer_secret": "cs_y"},
        )
        return store.id


@responses.activate
def test_a_poison_order_is_dead_lettered_and_the_rest_is_written(app: Flask) -> None:
    # given a page of the site's orders where one has a timestamp nobody can read
    good, other = fixture("woocommerce/rest-orders-list.json")
    poison = {**other, "date_modified_gmt": "last tuesday", "date_modified": "last tuesday"}
    site_answers([good, poison])
    store_id = woo_store(app)
    # when the orders are synced
    result = run_step(app, store_id, "orders", "test-owner")
    # then the good one is held, the poison one is dead-lettered with its reason, and the run is done
    assert result.outcome == "done"
    with get_engine(app).connect() as conn:
        held = conn.execute(select(Order.platform_id).where(Order.store_id == store_id)).scalars().all()
        letters = conn.execute(select(DeadLetter).where(DeadLetter.store_id == store_id)).all()
        state = conn.execute(select(SyncState).where(SyncState.store_id == store_id)).one()
    assert held == [good["id"]]
    assert [(d.kind, d.entity, d.platform_id) for d in letters] == [("sync", "orders", poison["id"])]
    assert "'last tuesday' is not a timestamp" in letters[0].reason
    assert letters[0].payload["id"] == poison["id"]
    assert state.state == "done" and state.done == 2
    # and reading it again does not pile up letters: the one letter counts the attempts
    assert run_step(app, store_id, "orders", "test-owner", full=True).outcome == "done"
    with get_engine(app).connect() as conn:
        letters = conn.execute(select(DeadLetter).where(DeadLetter.store_id == store_id)).all()
    assert [(d.platform_id, d.attempts) for d in letters] == [(poison["id"], 2)]


@responses.activate
def test_a_site_that_refuses_the_keys_stops_the_sync_and_says_what_to_do(app: Flask) -> None:
    responses.add(
        responses.GET,
        re.compile(rf"{SITE}/wp-json/wc/v3/orders.*"),
        status=401,
        json={"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources."},
    )
    store_id = woo_store(app)
    result = run_step(app, store_id, "orders", "test-owner")
    assert result.outcome == "failed"
    with get_engine(app).connect() as conn:
        state = conn.execute(select(SyncState).where(SyncState.store_id == store_id)).one()
    assert state.state == "failed" and "credentials" in (state.last_error or "")
    with session(app) as s:
        from connector.db.models import Store

        store = s.get_one(Store, store_id)
        assert store.status == "needs_reauth" and "reconnect" in (store.status_reason or "")
    # and a store that must be reconnected is not synced again until it is
    assert run_step(app, store_id, "orders", "test-owner").outcome == "skipped"


@pytest.mark.parametrize("status", [500, 503])
@responses.activate
def test_a_site_that_keeps_failing_pauses_the_run_with_its_reason(app: Flask, status: int) -> None:
    responses.add(responses.GET, re.compile(rf"{SITE}/wp-json/wc/v3/orders.*"), status=status, body="down")
    store_id = woo_store(app)
    result = run_step(app, store_id, "orders", "test-owner")
    assert result.outcome == "retry"
    with get_engine(app).connect() as conn:
        state = conn.execute(select(SyncState).where(SyncState.store_id == store_id)).one()
    assert state.state == "running" and state.lease_owner is None and state.last_error


# --- poison in a write of many records (pages joined into one transaction) ------------------------

JOINED = 75  # three pages of 25, joined into one write: more than COPY_AT_LEAST rows
POISONED = 1040  # the order that carries the poison, in the middle of the second page


@pytest.fixture
def joined_app(app_env: dict[str, str], redis_conn: Any) -> Iterator[Flask]:
    """The app with the default transaction size, so the site's pages join into one write."""
    application = create_app({**app_env, "CONNECTOR_SYNC_WRITE_RECORDS": "1000"})
    with application.app_context():
        yield application
    application.extensions["crm.engine"].dispose()


def nul_in_names(o: dict[str, Any]) -> None:
    o["line_items"][0]["name"] = "Woo\x00 Single"
    o["billing"]["first_name"] = "Jo\x00hn"


POISONS = {  # how the order is poisoned → the reason its dead letter gives (None: it is written)
    "nul-in-a-name": (nul_in_names, None),
    "infinity-total": (lambda o: o.update(total="Infinity"), "total is not a finite amount ('Infinity')"),
    "id-2^63": (
        lambda o: o.update(id=2**63),
        "id 9223372036854775808 is not a platform id (a whole number from 1 to 2^63 - 1)",
    ),
    "negative-id": (
        lambda o: o.update(id=-5),
        "id -5 is not a platform id (a whole number from 1 to 2^63 - 1)",
    ),
    "negative-customer-id": (lambda o: o.update(customer_id=-7), "customer_id -7 is not a platform id"),
    "nul-in-an-email": (lambda o: o["billing"].update(email="john\x00@example.com"), "email contains a NUL"),
}


@pytest.mark.parametrize("kind", POISONS)
@responses.activate
def test_one_poison_in_a_joined_write_is_dead_lettered_and_the_rest_is_written(
    joined_app: Flask, kind: str
) -> None:
    # given 75 orders in pages of 25, one of them poisoned, joined into one write
    poison, reason = POISONS[kind]
    orders = [woo_order(1000 + i) for i in range(JOINED)]
    poison(orders[40])
    poisoned_id = orders[40]["id"]
    site_answers(orders, page_size=25)
    store_id = woo_store(joined_app)
    # when the orders are synced
    result = run_step(joined_app, store_id, "orders", "test-owner")
    # then the step is done, every other order is held, and the poison alone is set aside
    assert result.outcome == "done"
    with get_engine(joined_app).connect() as conn:
        held = set(conn.execute(select(Order.platform_id).where(Order.store_id == store_id)).scalars())
        letters = conn.execute(select(DeadLetter).where(DeadLetter.store_id == store_id)).all()
        state = conn.execute(select(SyncState).where(SyncState.store_id == store_id)).one()
        titles = conn.execute(
            select(OrderLineItem.title).where(OrderLineItem.order_platform_id == POISONED)
        ).scalars()
        raw = conn.execute(select(Order.raw).where(Order.platform_id == POISONED)).scalar()
    good = {o["id"] for o in orders} - {poisoned_id}
    assert state.state == "done" and state.done == JOINED
    if reason is None:  # NUL in free text: written, without the NUL (PostgreSQL cannot keep it)
        assert held == good | {POISONED} and letters == []
        assert raw is not None and raw["billing"]["first_name"] == "John"
        assert "Woo Single" in set(titles)
        return
    assert held == good
    assert [(d.kind, d.entity) for d in letters] == [("sync", "orders")]
    assert reason in letters[0].reason and letters[0].reason.startswith(
        "the record could not be read: orders "
    )
    assert letters[0].payload["id"] == poisoned_id and "\x00" not in json.dumps(letters[0].payload)


@responses.activate
def test_records_the_database_refuses_are_bisected_out_of_a_page_of_a_hundred(joined_app: Flask) -> None:
    # given a page of 100 orders of which the database refuses the first, one in the middle and the last
    orders = [woo_order(2000 + i) for i in range(100)]
    refused = {orders[0]["id"], orders[57]["id"], orders[99]["id"]}
    site_answers(orders)
    store_id = woo_store(joined_app)
    engine = get_engine(joined_app)
    # when the orders are synced
    with database_refusing(engine, tuple(f"#{i}" for i in sorted(refused))):
        result = run_step(joined_app, store_id, "orders", "test-owner")
    # then the 97 others are held and each refused one has its own letter, in words
    assert result.outcome == "done"
    with engine.connect() as conn:
        held = set(conn.execute(select(Order.platform_id).where(Order.store_id == store_id)).scalars())
        items = conn.execute(
            select(OrderLineItem.order_platform_id).where(OrderLineItem.store_id == store_id)
        )
        letters = conn.execute(select(DeadLetter).where(DeadLetter.store_id == store_id)).all()
    assert held == {o["id"] for o in orders} - refused
    assert {i for (i,) in items} == held  # the refused orders' line items went with them
    assert sorted(d.platform_id for d in letters) == sorted(refused)
    for letter in letters:
        assert letter.reason.startswith("the CRM store refused this record: ")
        assert "Error" not in letter.reason and "constraint" not in letter.reason.lower()


# --- the write path's bisection, at every size --------------------------------------------------------

REFUSED_VALUES = {  # a value the database refuses (built past the mapper, which would refuse it first)
    "infinite-amount": {"total_price": Decimal("Infinity")},
    "reference-of-2^63": {"customer_platform_id": 2**63},
    "nul-in-a-name": {"name": "#1\x002"},  # refused by PostgreSQL only; SQLite keeps it
}


@pytest.mark.parametrize("size", [1, 2, 3, 49, 50, 51, 100, 1000])
@pytest.mark.parametrize("kind", REFUSED_VALUES)
def test_apply_isolating_refuses_only_the_bad_batches_at_every_size(
    engine: Engine, size: int, kind: str
) -> None:
    # given `size` order batches (50 or more rows go through COPY on PostgreSQL), the first,
    # middle and last of them holding a value the database refuses
    day = datetime(2026, 11, 1, tzinfo=UTC)
    batches = [order_batch(5000 + i, created=day, email=f"p{i}@example.com") for i in range(size)]
    bad = sorted({0, size // 2, size - 1})
    for i in bad:
        batches[i].rows["orders"][0].update(REFUSED_VALUES[kind])
    with engine.begin() as conn:
        store_id = make_store(conn)
    refusing = kind != "nul-in-a-name" or engine.dialect.name == "postgresql"
    # when they are applied together
    with engine.begin() as conn:
        refused = apply_isolating(conn, store_id, batches, defer_insights=True)
    # then exactly the bad ones are refused (each with its error) and every other one is written
    with engine.connect() as conn:
        held = set(conn.execute(select(Order.platform_id).where(Order.store_id == store_id)).scalars())
    expected = bad if refusing else []
    assert [i for i, _exc in refused] == expected
    assert held == {5000 + i for i in range(size)} - {5000 + i for i in expected}
    assert all(not refusals.is_database_trouble(exc) for _i, exc in refused)


def test_a_broken_connection_is_raised_for_a_retry_not_dead_lettered(engine: Engine) -> None:
    # given a write whose connection to the database breaks
    day = datetime(2026, 11, 1, tzinfo=UTC)
    batches = [order_batch(7000 + i, created=day, email=f"q{i}@example.com") for i in range(60)]
    with engine.begin() as conn:
        store_id = make_store(conn)
    conn = engine.connect()
    try:
        conn.begin()
        conn.connection.dbapi_connection.close()  # type: ignore[union-attr]
        # when the batches are applied, then the database's trouble is raised, nothing refused
        with pytest.raises(Exception) as raised:
            apply_isolating(conn, store_id, batches)
        assert refusals.is_database_trouble(raised.value)
    finally:
        conn.invalidate()
        conn.close()


@responses.activate
def test_a_poison_record_does_not_stop_the_reconciliation_of_deletions(app: Flask) -> None:
    # given a site whose orders include a poison one, and one order the site has since deleted
    good, poison = woo_order(3001), woo_order(3002, total="Infinity")
    gone = woo_order(3003)
    listed = [good, poison, gone]

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlparse(request.url).query)
        if "include" in query:  # fetched by id
            wanted = {int(i) for i in query["include"][0].split(",")}
            found = [o for o in listed if o["id"] in wanted]
        elif query.get("_fields") == ["id"]:  # the id list
            found = [{"id": o["id"]} for o in listed]
        else:
            found = listed if "modified_after" in query else []
        return (
            200,
            {"X-WP-Total": str(len(found)), "X-WP-TotalPages": "1" if found else "0"},
            json.dumps(found),
        )

    responses.add_callback(responses.GET, re.compile(rf"{SITE}/wp-json/wc/v3/orders.*"), callback=answer)
    store_id = woo_store(app)
    assert run_step(app, store_id, "orders", "test-owner").outcome == "done"
    listed.remove(gone)
    # when a later run reconciles deletions (the poison one is missing here, so it is fetched again)
    result = run_step(app, store_id, "orders", "test-owner")
    # then the reconciliation finishes: the deleted order is tombstoned, the poison one stays a letter
    assert result.outcome == "done"
    with get_engine(app).connect() as conn:
        rows = dict(
            conn.execute(select(Order.platform_id, Order.deleted_at).where(Order.store_id == store_id)).all()
        )
        runs = conn.execute(select(SyncRun.kind, SyncRun.outcome).where(SyncRun.kind == "reconcile")).all()
        letters = conn.execute(
            select(DeadLetter.platform_id).where(DeadLetter.store_id == store_id)
        ).scalars()
    assert rows[good["id"]] is None and rows[gone["id"]] is not None and poison["id"] not in rows
    assert runs == [("reconcile", "done")] and list(letters) == [poison["id"]]
