"""The destinations' transactional outbox: a contact or order that changed is marked for each
destination of its account in the same transaction as the change, so a push cannot miss it;
a destination just added has everything of its account marked; a store about to be removed has
its contacts and orders marked (the push then deletes there what the account no longer holds);
a privacy erasure marks the person (and their orders) for deletion there, with its receipt.
The push (sync/push.py) drains the marks and removes those it has delivered. Marking and adding
meet on the account's row (PostgreSQL), so a write that overlaps a destination's adding is marked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, literal, select, union
from sqlalchemy.engine import Connection

from connector.db.models import Account, Checkout, Contact, Customer, Order, Store
from connector.db.operations import Destination, DestinationMark
from connector.db.people import ContactInsight, ProductSubscription
from platforms.base import batched


def hold_for_adding(conn: Connection, account_id: int) -> None:
    """Before a destination is added: wait for the account's writes under way, and make later ones
    wait for this transaction (PostgreSQL; SQLite runs one writer at a time anyway). Without it, a
    write that read the destinations before the adding committed, and whose new rows the adding's
    `mark_everything` could not yet see, would leave those rows unmarked."""
    conn.execute(select(Account.id).where(Account.id == account_id).with_for_update())


def _destinations_held(conn: Connection, account: Any) -> list[int]:
    """The account's destinations, its row held shared first (with every other write) in a
    statement of its own, so that they are read in a snapshot that sees an adding it waited for."""
    held = select(Account.id).where(Account.id == account).with_for_update(read=True, key_share=True)
    account_id = conn.execute(held).scalar()
    if account_id is None:
        return []
    return list(conn.execute(select(Destination.id).where(Destination.account_id == account_id)).scalars())


def destinations_of_store(conn: Connection, store_id: int) -> list[int]:
    return _destinations_held(conn, select(Store.account_id).where(Store.id == store_id).scalar_subquery())


def destinations_of_account(conn: Connection, account_id: int) -> list[int]:
    return _destinations_held(conn, account_id)


def mark(conn: Connection, destinations: list[int], obj: str, record_ids: Iterable[int | None]) -> int:
    """One mark per destination and record; how many were written."""
    ids = sorted({r for r in record_ids if r is not None})
    rows = [{"destination_id": d, "object": obj, "record_id": r} for d in destinations for r in ids]
    for chunk in batched(rows, 1000):
        conn.execute(insert(DestinationMark), list(chunk))
    return len(rows)


def mark_written(conn: Connection, store_id: int, contacts: set[int], order_platform_ids: set[int]) -> None:
    """The write path's step: the contacts and orders a batch changed, for every destination."""
    if not (contacts or order_platform_ids):
        return
    destinations = destinations_of_store(conn, store_id)
    if not destinations:
        return
    mark(conn, destinations, "contacts", contacts)
    orders: set[int] = set()
    for chunk in batched(sorted(order_platform_ids), 500):
        orders |= set(
            conn.execute(
                select(Order.id).where(Order.store_id == store_id, Order.platform_id.in_(chunk))
            ).scalars()
        )
    mark(conn, destinations, "orders", orders)


def mark_contacts(conn: Connection, contacts: Iterable[int]) -> None:
    """Contacts whose derived fields changed (insights settled), for their account's destinations."""
    ids = sorted(set(contacts))
    for chunk in batched(ids, 500):
        accounts = conn.execute(select(Contact.id, Contact.account_id).where(Contact.id.in_(chunk))).all()
        for account_id in {a for _c, a in accounts}:
            destinations = destinations_of_account(conn, account_id)
            if destinations:
                mark(conn, destinations, "contacts", [c for c, a in accounts if a == account_id])


def mark_erased(conn: Connection, account_id: int, contacts: set[int], receipt_id: int | None) -> list[int]:
    """An erasure: the person and their orders to be deleted in every destination; which ones."""
    destinations = destinations_of_account(conn, account_id)
    if not destinations or not contacts:
        return destinations
    orders = set(conn.execute(select(Order.id).where(Order.contact_id.in_(sorted(contacts)))).scalars())
    rows = [
        {"destination_id": d, "object": obj, "record_id": r, "erase": True, "receipt_id": receipt_id}
        for d in destinations
        for obj, ids in (("contacts", contacts), ("orders", orders))
        for r in sorted(ids)
    ]
    for chunk in batched(rows, 1000):
        conn.execute(insert(DestinationMark), list(chunk))
    return destinations


def mark_everything(conn: Connection, destination_id: int, account_id: int) -> None:
    """A destination just added (or `push --full`): every live contact and order of the account
    not already waiting there (a pending mark pushes it anyway; a second would only split batches)."""
    contacts = select(Contact.id).where(Contact.account_id == account_id, Contact.merged_into_id.is_(None))
    orders = (
        select(Order.id)
        .join(Store, Store.id == Order.store_id)
        .where(Store.account_id == account_id, Order.deleted_at.is_(None))
    )
    for obj, ids in (("contacts", contacts), ("orders", orders)):
        # a set difference, not NOT EXISTS per record: PostgreSQL planned that as a nested loop
        # over the marks this very statement was inserting (minutes for 100,000 contacts)
        waiting = select(DestinationMark.record_id).where(
            DestinationMark.destination_id == destination_id,
            DestinationMark.object == obj,
            DestinationMark.erase.is_(False),
        )
        record = ids.except_(waiting).subquery().c.id
        conn.execute(
            insert(DestinationMark).from_select(
                ["destination_id", "object", "record_id"],
                select(literal(destination_id), literal(obj), record),
            )
        )


def mark_store(conn: Connection, store_id: int) -> None:
    """A store about to be removed (or redacted): its orders and everyone it knew, so the push
    deletes there what goes with it and updates the people other stores still know."""
    destinations = destinations_of_store(conn, store_id)
    if not destinations:
        return
    people = union(
        *(
            select(model.contact_id).where(model.store_id == store_id, model.contact_id.is_not(None))
            for model in (Customer, Order, Checkout, ProductSubscription, ContactInsight)
        )
    )
    mark(conn, destinations, "contacts", conn.execute(people).scalars())
    orders = conn.execute(select(Order.id).where(Order.store_id == store_id)).scalars()
    mark(conn, destinations, "orders", orders)
