"""A record the connector cannot read goes to the dead-letter table with a plain reason;
the rest of its page is written and the sync finishes. The site is the real HTTP stack
answered by `responses` at the network edge, with the platform's published payloads."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses
from flask import Flask
from sqlalchemy import select

from connector.db import get_engine, session
from connector.models import DeadLetter, Order, SyncState
from connector.stores import account_named, connect_store
from sync.engine import run_step
from tests.builders import fixture

SITE = "https://poison.example"


def site_answers(orders: list[dict[str, Any]]) -> None:
    def listing(request: Any) -> tuple[int, dict[str, str], str]:
        recent = "modified_after" in request.url  # all of them changed lately: none in the history
        found = orders if recent else []
        return (
            200,
            {"X-WP-Total": str(len(found)), "X-WP-TotalPages": "1" if found else "0"},
            json.dumps(found),
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
        from connector.models import Store

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
