"""Undoing a merge marks both people and the orders that move back, for each destination of
the account, in the same transaction: the CRM gets the two contacts and the orders' new owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from connector.crm import identity, insights
from connector.db.models import Contact, Order, Store
from connector.db.operations import Destination, DestinationMark
from connector.write.apply import apply_batch
from platforms.base import Batch
from tests.builders import customer_row, make_store, order_batch

DAY = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)


def test_an_unmerge_marks_both_contacts_and_the_orders_moved_back(engine: Engine) -> None:
    # given two people made one by a shared phone, in an account with a destination
    with engine.begin() as conn:
        shop = make_store(conn)
        account = conn.execute(select(Store.account_id).where(Store.id == shop)).scalar_one()
        dest = conn.execute(
            insert(Destination)
            .values(account_id=account, kind="hubspot", credentials=b"sealed")
            .returning(Destination.id)
        ).scalar_one()
        apply_batch(conn, shop, order_batch(1, created=DAY, email="kim@example.com", total="10.00"))
        apply_batch(conn, shop, order_batch(2, created=DAY, email="k.m@example.com", total="20.00"))
        for pid, email in ((11, "k.m@example.com"), (12, "kim@example.com")):
            batch = Batch()
            batch.rows["customers"] = [
                customer_row(
                    shop, platform_id=pid, email=email, email_normalized=email, phone_e164="+14155550111"
                )
            ]
            apply_batch(conn, shop, batch)
        absorbed = conn.execute(
            select(Contact.id).where(Contact.email_normalized == "k.m@example.com")
        ).scalar_one()
        moved = conn.execute(select(Order.id).where(Order.platform_id == 2)).scalar_one()
        conn.execute(delete(DestinationMark))  # everything so far was pushed
    # when the merge is undone
    with engine.begin() as conn:
        survivor = identity.unmerge(conn, absorbed, insights.Rules())
    # then both people and the order that went back are marked for the destination
    with engine.connect() as conn:
        marks = set(
            conn.execute(
                select(DestinationMark.destination_id, DestinationMark.object, DestinationMark.record_id)
            ).all()
        )
    assert {(dest, "contacts", absorbed), (dest, "contacts", survivor), (dest, "orders", moved)} <= marks
