"""Contacts: one per real person across every store of an account, kept as records arrive.

A written customer is matched to a contact by normalised e-mail, then by E.164 phone; if
the two point at different contacts, the person was two contacts and they are merged
(the absorbed one points at the survivor, the survivor records why, and every record
follows it). An order belongs to its customer's contact; a guest order attaches by
e-mail, or starts a contact of its own. Contact fields a merchant edited by hand
(`manual_fields`) are never overwritten; blanks are filled from the records. A merge
can be undone (`unmerge`): the records it moved go back, and the pair is kept apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.engine import Connection

from connector.errors import BadInput
from connector.models import Contact, Customer, Order, Store
from connector.types import utcnow

FIELDS = ("email", "email_normalized", "phone_e164", "first_name", "last_name")


class _Book:
    """The account's contacts met in this batch, by e-mail and by phone (survivors only)."""

    def __init__(self, conn: Connection, account_id: int) -> None:
        self.conn, self.account_id = conn, account_id
        self.by_email: dict[str, int] = {}
        self.by_phone: dict[str, int] = {}
        self.rows: dict[int, dict[str, Any]] = {}

    def load(self, emails: set[str], phones: set[str]) -> None:
        if not emails and not phones:
            return
        found = self.conn.execute(
            select(Contact).where(
                Contact.account_id == self.account_id,
                Contact.merged_into_id.is_(None),
                or_(Contact.email_normalized.in_(emails), Contact.phone_e164.in_(phones)),
            )
        ).all()
        for c in found:
            self._remember(c.id, dict(c._mapping))

    def _remember(self, contact_id: int, row: dict[str, Any]) -> None:
        self.rows[contact_id] = row
        if row.get("email_normalized"):
            self.by_email.setdefault(row["email_normalized"], contact_id)
        if row.get("phone_e164"):
            self.by_phone.setdefault(row["phone_e164"], contact_id)

    def match(self, email: str | None, phone: str | None) -> int | None:
        by_email = self.by_email.get(email) if email else None
        by_phone = self.by_phone.get(phone) if phone else None
        if by_email and by_phone and by_email != by_phone and not self._kept_apart(by_email, by_phone):
            self.merge(by_phone, into=by_email, reason="same phone as a contact with this e-mail")
        return by_email or by_phone

    def _kept_apart(self, a: int, b: int) -> bool:
        """The merchant undid a merge of these two: they stay apart."""
        for one, other in ((a, b), (b, a)):
            manual = (self.rows.get(one) or {}).get("manual_fields") or {}
            if other in manual.get("not_same_as", []):
                return True
        return False

    def create(self, values: dict[str, Any]) -> int:
        row = {"account_id": self.account_id, **{k: values.get(k) for k in FIELDS}}
        contact_id = int(self.conn.execute(insert(Contact).values(**row).returning(Contact.id)).scalar_one())
        self._remember(contact_id, {**row, "id": contact_id, "manual_fields": None})
        return contact_id

    def fill(self, contact_id: int, values: dict[str, Any]) -> None:
        """Blanks of the contact filled from a record; hand-edited fields left alone."""
        row = self.rows.get(contact_id) or {}
        manual = set((row.get("manual_fields") or {}).keys())
        changes = {k: values[k] for k in FIELDS if values.get(k) and not row.get(k) and k not in manual}
        if changes:
            self.conn.execute(update(Contact).where(Contact.id == contact_id).values(**changes))
            self._remember(contact_id, {**row, **changes})

    def merge(self, absorbed: int, *, into: int, reason: str) -> None:
        survivor = self.rows.get(into) or {}
        provenance = dict(survivor.get("merge_provenance") or {})
        moved = {
            name: list(self.conn.execute(select(model.id).where(model.contact_id == absorbed)).scalars())
            for name, model in (("customers", Customer), ("orders", Order))
        }
        provenance.setdefault("merged", []).append(
            {"contact_id": absorbed, "reason": reason, "at": utcnow().isoformat(), "moved": moved}
        )
        self.conn.execute(update(Contact).where(Contact.id == into).values(merge_provenance=provenance))
        self.conn.execute(
            update(Contact)
            .where(or_(Contact.id == absorbed, Contact.merged_into_id == absorbed))
            .values(merged_into_id=into)
        )
        for model in (Customer, Order):
            self.conn.execute(update(model).where(model.contact_id == absorbed).values(contact_id=into))
        self.rows[into] = {**survivor, "merge_provenance": provenance}
        gone = self.rows.pop(absorbed, {})
        for key, index in (("email_normalized", self.by_email), ("phone_e164", self.by_phone)):
            if gone.get(key) and index.get(gone[key]) == absorbed:
                index[gone[key]] = into


def link(conn: Connection, store_id: int, customer_ids: Iterable[int], order_ids: Iterable[int]) -> None:
    """Give the store's just-written customers and orders their contacts."""
    customer_ids, order_ids = list(customer_ids), list(order_ids)
    if not customer_ids and not order_ids:
        return
    account_id = conn.execute(select(Store.account_id).where(Store.id == store_id)).scalar_one()
    book = _Book(conn, account_id)
    _link_customers(conn, book, store_id, customer_ids)
    _link_orders(conn, book, store_id, order_ids)


def _link_customers(conn: Connection, book: _Book, store_id: int, platform_ids: list[int]) -> None:
    if not platform_ids:
        return
    table = Customer.__table__
    rows = conn.execute(
        select(table.c.id, table.c.contact_id, *[table.c[f] for f in FIELDS]).where(
            table.c.store_id == store_id, table.c.platform_id.in_(platform_ids), table.c.deleted_at.is_(None)
        )
    ).all()
    book.load(
        {r.email_normalized for r in rows if r.email_normalized}, {r.phone_e164 for r in rows if r.phone_e164}
    )
    links = []
    for r in rows:
        values = dict(r._mapping)
        contact_id = book.match(r.email_normalized, r.phone_e164) or book.create(values)
        book.fill(contact_id, values)
        if contact_id != r.contact_id:
            links.append({"row_id": r.id, "contact": contact_id})
    _set_contacts(conn, table, links)


def _link_orders(conn: Connection, book: _Book, store_id: int, platform_ids: list[int]) -> None:
    if not platform_ids:
        return
    orders, customers = Order.__table__, Customer.__table__
    rows = conn.execute(
        select(
            orders.c.id,
            orders.c.contact_id,
            orders.c.customer_platform_id,
            orders.c.email,
            orders.c.email_normalized,
        ).where(
            orders.c.store_id == store_id,
            orders.c.platform_id.in_(platform_ids),
            orders.c.deleted_at.is_(None),
        )
    ).all()
    owners = {r.customer_platform_id for r in rows if r.customer_platform_id}
    of_customer = (
        dict(
            conn.execute(
                select(customers.c.platform_id, customers.c.contact_id).where(
                    customers.c.store_id == store_id, customers.c.platform_id.in_(owners)
                )
            ).all()
        )
        if owners
        else {}
    )
    book.load({r.email_normalized for r in rows if r.email_normalized}, set())
    links = []
    for r in rows:
        contact_id = of_customer.get(r.customer_platform_id) if r.customer_platform_id else None
        if contact_id is None and r.email_normalized:  # a guest, or a customer not seen yet
            contact_id = book.match(r.email_normalized, None) or book.create(
                {"email": r.email, "email_normalized": r.email_normalized}
            )
        if contact_id is not None and contact_id != r.contact_id:
            links.append({"row_id": r.id, "contact": contact_id})
    _set_contacts(conn, orders, links)


def _set_contacts(conn: Connection, table: Any, links: list[dict[str, int]]) -> None:
    if links:
        conn.execute(
            update(table).where(table.c.id == bindparam("row_id")).values(contact_id=bindparam("contact")),
            links,
        )


def unmerge(conn: Connection, absorbed: int) -> int:
    """Undo a merge: the absorbed contact stands alone again with the records it brought,
    and the two are kept apart from now on. Returns the contact it had been merged into."""
    contact = conn.execute(select(Contact).where(Contact.id == absorbed)).one()
    survivor_id = contact.merged_into_id
    if survivor_id is None:
        raise BadInput(f"contact {absorbed} is not merged into another")
    survivor = conn.execute(select(Contact).where(Contact.id == survivor_id)).one()
    entries = list((survivor.merge_provenance or {}).get("merged", []))
    entry = next((e for e in entries if e["contact_id"] == absorbed), None)
    if entry is None:
        raise BadInput(f"contact {survivor_id} has no record of absorbing contact {absorbed}")
    for name, model in (("customers", Customer), ("orders", Order)):
        ids = entry["moved"].get(name) or []
        if ids:
            conn.execute(
                update(model)
                .where(model.id.in_(ids), model.contact_id == survivor_id)
                .values(contact_id=absorbed)
            )
    entries.remove(entry)
    apart = sorted({*((survivor.manual_fields or {}).get("not_same_as", [])), absorbed})
    conn.execute(
        update(Contact)
        .where(Contact.id == survivor_id)
        .values(
            merge_provenance={**(survivor.merge_provenance or {}), "merged": entries},
            manual_fields={**(survivor.manual_fields or {}), "not_same_as": apart},
        )
    )
    conn.execute(update(Contact).where(Contact.id == absorbed).values(merged_into_id=None))
    return int(survivor_id)
