"""A sync step refreshes the insights of the contacts it touched once, when it ends; the
contacts are noted in each chunk's own transaction, so a step killed before its end loses
nothing: cron settles what it left."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from connector.crm import insight_backlog
from connector.crm.insights import Rules
from connector.db.models import Order
from connector.db.people import ContactInsight, InsightBacklog
from connector.write.apply import apply_isolating
from platforms.base import MapContext
from platforms.woocommerce.mapper import order_rows
from tests.builders import fixture, make_store


def order(platform_id: int, email: str) -> dict[str, Any]:
    """The real WooCommerce order, as another order of another buyer."""
    o = fixture("woocommerce/rest-order.json")
    return {**o, "id": platform_id, "customer_id": 0, "billing": {**o["billing"], "email": email}}


def held(engine: Engine, statement: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(statement).scalar_one()


@pytest.fixture
def written_by_a_step_that_died(engine: Engine) -> int:
    """Two orders of one guest and one of another, written as a sync step writes a chunk
    (insights deferred), by a step that never reached its end."""
    with engine.begin() as conn:
        store_id = make_store(conn, "woocommerce", "https://backlog.example")
    ctx = MapContext(country="US")
    orders = [order(9001, "ada@example.com"), order(9002, "ada@example.com"), order(9003, "bo@example.com")]
    with engine.begin() as conn:
        refused = apply_isolating(conn, store_id, [order_rows(o, ctx) for o in orders], defer_insights=True)
    assert refused == []
    return store_id


def test_a_step_that_died_leaves_its_contacts_noted_and_cron_settles_them(
    app: Flask, engine: Engine, written_by_a_step_that_died: int
) -> None:
    # given the orders are written and their two contacts noted, with no insights yet
    assert held(engine, select(func.count()).select_from(Order)) == 3
    assert held(engine, select(func.count()).select_from(InsightBacklog)) == 2
    assert held(engine, select(func.count()).select_from(ContactInsight)) == 0
    # when cron settles the backlog
    assert insight_backlog.settle_all() == 2
    # then each contact's insights count its own orders, and nothing is owed any more
    with engine.connect() as conn:
        counts = sorted(conn.execute(select(ContactInsight.orders)).scalars())
    assert counts == [1, 2]
    assert held(engine, select(func.count()).select_from(InsightBacklog)) == 0
    assert insight_backlog.settle_all() == 0


def test_settling_claims_in_parts_and_refreshes_every_contact(
    engine: Engine, written_by_a_step_that_died: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(insight_backlog, "CLAIM", 1)  # one contact per transaction
    assert insight_backlog.settle(engine, Rules()) == 2
    assert held(engine, select(func.count()).select_from(ContactInsight)) == 2
    assert held(engine, select(func.count()).select_from(InsightBacklog)) == 0
