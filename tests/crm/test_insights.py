"""Insights per contact: on a backfilled shop and site they equal a straightforward
recomputation (and the generator's money to the cent), and they follow edits,
cancellations, deletions and merges as records arrive, one contact at a time."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from connector.crm import identity, insights
from connector.db import get_engine
from connector.db.models import Contact, Order
from connector.db.people import ContactInsight
from connector.write.apply import apply_batch
from platforms.base import Batch
from tests.builders import customer_row, make_store, order_batch
from tests.crm.conftest import truth_order
from tests.rig import Rig

NOW = datetime.now(UTC).replace(microsecond=0)
RULES = insights.Rules()


def naive_score(values: list[Any], value: Any) -> int:
    below = sum(1 for v in values if v < value)
    return 1 + 5 * below // len(values)


@pytest.mark.slow
def test_insights_equal_a_straightforward_recomputation(synced: Rig) -> None:
    engine = get_engine(synced.app)
    with engine.begin() as conn:
        for store_id in (synced.shop.id, synced.site.id):
            insights.score(conn, store_id, NOW)
        stored = {(r.store_id, r.contact_id): r for r in conn.execute(select(ContactInsight))}
        orders = conn.execute(select(Order)).all()
    # the straightforward way: every counted order of every contact, in Python
    mine: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for o in orders:
        if o.deleted_at is None and o.cancelled_at is None:
            mine[(o.store_id, o.contact_id)].append(o)
    assert set(stored) == set(mine)
    for store_id in (synced.shop.id, synced.site.id):
        keys = [k for k in mine if k[0] == store_id]
        last = [max(o.source_created_at for o in mine[k]) for k in keys]
        count = [len(mine[k]) for k in keys]
        spend = [sum((o.total_price - o.total_refunded for o in mine[k]), Decimal(0)) for k in keys]
        truth = Decimal(0)
        for k, lst, n, money in zip(keys, last, count, spend, strict=True):
            row = stored[k]
            assert (row.orders, row.spend, row.last_order_at) == (n, money, lst)
            assert (row.rfm_r, row.rfm_f, row.rfm_m) == (
                naive_score(last, lst),
                naive_score(count, n),
                naive_score(spend, money),
            )
            recent = sum(1 for o in mine[k] if o.source_created_at >= NOW - timedelta(days=183))
            flags = insights.flags(row, RULES, NOW)
            assert flags["advocate"] == (recent >= 2)
            assert flags["inactive"] == (lst < NOW - timedelta(days=180))
            assert row.segment == insights.segment_of(row.rfm_r, row.rfm_f, row.rfm_m, n)
            assert row.predicted_value is not None and f"= {row.predicted_value:.2f} " in row.prediction
            for o in mine[k]:
                t = truth_order(synced, store_id, o.platform_id)
                assert not t["cancelled"]
                truth += t["total"] - t["refund_amount"]
        # and the store's spend is the generator's money to the cent
        assert sum(spend, Decimal(0)) == truth
    segments = {r.segment for r in stored.values()}
    assert {"champions", "lost"} <= segments and any(
        insights.flags(r, RULES, NOW)["advocate"] for r in stored.values()
    )


def totals(conn: Connection) -> dict[int, tuple[int, Decimal]]:
    return {r.contact_id: (r.orders, r.spend) for r in conn.execute(select(ContactInsight))}


def contact_of(conn: Connection, email: str) -> int:
    return int(conn.execute(select(Contact.id).where(Contact.email_normalized == email)).scalar_one())


def test_insights_follow_edits_cancellations_and_deletions(engine: Engine) -> None:
    with engine.begin() as conn:
        shop = make_store(conn)
        day = NOW - timedelta(days=10)
        # given a guest with two orders
        apply_batch(conn, shop, order_batch(1, created=day, email="ann@example.com", total="40.00"))
        apply_batch(conn, shop, order_batch(2, created=day + timedelta(days=1), email="ann@example.com"))
        ann = contact_of(conn, "ann@example.com")
        assert totals(conn) == {ann: (2, Decimal("140.00"))}
        # when the first is edited, then the second cancelled
        edited = order_batch(1, created=day, email="ann@example.com", total="55.50", edited_s=60)
        apply_batch(conn, shop, edited)
        assert totals(conn) == {ann: (2, Decimal("155.50"))}
        cancelled = order_batch(
            2,
            created=day + timedelta(days=1),
            email="ann@example.com",
            edited_s=60,
            cancelled_at=NOW.isoformat(),
        )
        apply_batch(conn, shop, cancelled)
        assert totals(conn) == {ann: (1, Decimal("55.50"))}
        # and when the last one is deleted, the contact has no insights left
        gone = Batch()
        gone.delete("orders", 1, NOW)
        apply_batch(conn, shop, gone)
        assert totals(conn) == {}


def test_insights_move_with_a_merge_and_back_with_its_undoing(engine: Engine) -> None:
    with engine.begin() as conn:
        shop = make_store(conn)
        day = NOW - timedelta(days=3)
        apply_batch(conn, shop, order_batch(1, created=day, email="kim@example.com", total="10.00"))
        apply_batch(conn, shop, order_batch(2, created=day, email="k.m@example.com", total="20.00"))
        kim, km = contact_of(conn, "kim@example.com"), contact_of(conn, "k.m@example.com")
        for pid, email in ((11, "k.m@example.com"), (12, "kim@example.com")):
            row = customer_row(
                shop, platform_id=pid, email=email, email_normalized=email, phone_e164="+14155550111"
            )
            batch = Batch()
            batch.rows["customers"] = [row]
            apply_batch(conn, shop, batch)
        # the shared phone made them one person: one insight row holding both orders
        assert totals(conn) == {kim: (2, Decimal("30.00"))}
        assert identity.unmerge(conn, km) == kim
        assert totals(conn) == {km: (1, Decimal("20.00")), kim: (1, Decimal("10.00"))}


def test_rfm_segments_name_the_scores() -> None:
    assert insights.segment_of(5, 5, 5, 9) == "champions"
    assert insights.segment_of(5, 1, 2, 1) == "new_customers"
    assert insights.segment_of(1, 5, 5, 8) == "cant_lose"
    assert insights.segment_of(1, 1, 1, 1) == "lost"
    value, why = insights.predict(3, Decimal("300"), NOW - timedelta(days=365), NOW, "USD", 0.3, NOW)
    assert value == Decimal("200.00") and "2.0 orders/yr" in why and "100.00 USD average order" in why
