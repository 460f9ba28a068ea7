"""The channel report against the generator's truth: per channel of the one taxonomy,
orders, revenue to the cent, share, customers (people) and repeat rate, over the whole
history and over a recent range; credit follows its configured formula."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from connector.config import load_settings
from connector.crm.channels import credit_formula, report
from connector.db import get_engine
from connector.db.models import Order
from connector.errors import ConfigError
from tests.crm.conftest import created_at, truth_order
from tests.rig import Rig

# what each generated sale is, in the taxonomy, written out here independently of the mappers
SHOPIFY_SOURCE = {
    "web": "online_store",
    "pos": "pos",
    "iphone": "mobile_app",
    "shopify_draft_order": "draft_manual",
    "facebook": "social",
}
WOO_CREATED_VIA = {
    "checkout": "online_store",
    "store-api": "online_store",
    "admin": "draft_manual",
    "rest-api": "api_other",
}
WEIGHTS = (("revenue", 0.5), ("new_customers", 0.5))


def truth(rig: Rig, since: datetime, until: datetime) -> dict[str, dict[str, Any]]:
    with get_engine(rig.app).connect() as conn:
        held = conn.execute(select(Order.store_id, Order.platform_id, Order.source_created_at)).all()
    per: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"orders": 0, "revenue": Decimal(0), "people": set()}
    )
    bought: dict[int, int] = defaultdict(int)
    for store_id, platform_id, held_at in held:
        t, created = truth_order(rig, store_id, platform_id), created_at(held_at)
        if t["cancelled"] or created >= until:
            continue
        bought[t["person"]] += 1
        if created < since:
            continue
        source, via = t["channel"][0], t["channel"][1]
        channel = SHOPIFY_SOURCE[source] if store_id == rig.shop.id else WOO_CREATED_VIA[via]
        per[channel]["orders"] += 1
        per[channel]["revenue"] += t["total"] - t["refund_amount"]
        per[channel]["people"].add(t["person"])
    for row in per.values():
        row["repeat"] = sum(1 for p in row["people"] if bought[p] > 1) / len(row["people"])
    return per


@pytest.mark.slow
@pytest.mark.parametrize("days", [None, 90])
def test_channel_report_equals_the_generated_truth(synced: Rig, days: int | None) -> None:
    until = datetime.now(UTC) + timedelta(days=1)
    since = until - timedelta(days=days) if days else datetime(2000, 1, 1, tzinfo=UTC)
    with get_engine(synced.app).connect() as conn:
        rows = report(conn, [synced.shop.id, synced.site.id], since, until, WEIGHTS)
    expected = truth(synced, since, until)
    assert {r.channel for r in rows} == set(expected)
    total = sum((e["revenue"] for e in expected.values()), Decimal(0))
    for r in rows:
        e = expected[r.channel]
        assert (r.orders, r.revenue, r.customers) == (e["orders"], e["revenue"], len(e["people"]))
        assert r.revenue_share == pytest.approx(float(e["revenue"] / total))
        assert r.repeat_rate == pytest.approx(e["repeat"])
        assert r.average_order_value == (e["revenue"] / e["orders"]).quantize(Decimal("0.01"))
        assert r.conversion is None  # no checkout data: said, not guessed
    assert sum(r.revenue_share for r in rows) == pytest.approx(1.0)
    assert sum(r.credit for r in rows) == pytest.approx(1.0)
    new_total = sum(r.new_customers for r in rows)
    for r in rows:
        assert r.credit == pytest.approx(0.5 * r.revenue_share + 0.5 * r.new_customers / new_total)


def test_the_credit_formula_is_configured_and_checked() -> None:
    settings = load_settings({"CONNECTOR_CHANNEL_CREDIT": "revenue=0.25,orders=0.75"})
    assert settings.channel_credit == (("revenue", 0.25), ("orders", 0.75))
    assert credit_formula(settings.channel_credit) == "0.25 x share of revenue + 0.75 x share of orders"
    for bad in ("revenue=0.5", "clicks=1", "revenue=lots"):
        with pytest.raises(ConfigError, match="CONNECTOR_CHANNEL_CREDIT"):
            load_settings({"CONNECTOR_CHANNEL_CREDIT": bad})
