"""Contacts: one per real person across every store of an account, kept as records arrive.

A written customer is matched to a contact by normalised e-mail, then by E.164 phone; if
the two point at different contacts, the person was two contacts and they are merged
(the absorbed one points at the survivor, the survivor records why, and every record
follows it). An order belongs to its customer's contact; a guest order attaches by
e-mail, or starts a contact of its own. Contact fields a merchant edited by hand
(`manual_fields`) are never overwritten; blanks are filled from the records. Contacts are
versioned like records: a payload older than its stored customer changes nothing, and a
field is overwritten only from a record at least as new as the one the contact last took
fields from (`contacts.source_updated_at`). A merge can be undone (`unmerge`): the records
it moved go back, and the pair is kept apart.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection

from connector.crm import destination_outbox, insights
from connector.db.models import Contact, Customer, Order, Store
from connector.db.types import utcnow
from connector.errors import BadInput
from platforms.base import Batch

FIELDS = ("email", "email_normalized", "phone_e164", "first_name", "last_name")
VERSION = "source_updated_at"


class _Book:
    """The account's contacts met in this batch, by e-mail and by phone (survivors only)."""

    def __init__(self, conn: Connection, account_id: int) -> None:
        self.conn, self.account_id = conn, account_id
        self.by_email: dict[str, int] = {}
        self.by_phone: dict[str, int] = {}
        self.rows: dict[int, dict[str, Any]] = {}
        self.merged: set[int] = set()  # contacts whose records a merge moved (both sides)
        self.created = 0  # contacts made in this batch

    def load(self, emails: set[str], phones: set[str]) -> None:
        """The survivors holding these e-mails or phones: one indexed lookup per key (an OR of
        the two would scan the account's contacts on SQLite)."""
        for column, keys in ((Contact.email_normalized, emails), (Contact.phone_e164, phones)):
            if not keys:
                continue
            found = self.conn.execute(
                select(Contact).where(
                    Contact.account_id == self.account_id, column.in_(keys), Contact.merged_into_id.is_(None)
                )
            ).all()
            for c in found:
                self.remember(c.id, dict(c._mapping))

    def remember(self, contact_id: int, row: dict[str, Any]) -> None:
        self.rows[contact_id] = row
        if row.get("email_normalized"):
            self.by_email.setdefault(row["email_normalized"], contact_id)
        if row.get("phone_e164"):
            self.by_phone.setdefault(row["phone_e164"], contact_id)

    def match(self, email: str | None, phone: str | None) -> int | None:
        by_email = self.by_email.get(email) if email else None
        by_phone = self.by_phone.get(phone) if phone else None
        if by_email and by_phone and by_email != by_phone and not self.kept_apart(by_email, by_phone):
            self.merge(by_phone, into=by_email, reason="same phone as a contact with this e-mail")
        return by_email or by_phone

    def contacts_of_customers(
        self, store_id: int, platform_ids: list[int]
    ) -> dict[int, tuple[int, dict[str, Any]]]:
        """The contacts (survivors) these customers already have: a customer keeps its contact
        when its e-mail and phone change (matching by platform id comes first)."""
        if not platform_ids:
            return {}
        held = Customer.__table__
        was = {f"was_{k}": held.c[k] for k in (*FIELDS, VERSION)}
        rows = self.conn.execute(
            select(held.c.platform_id, *(c.label(n) for n, c in was.items()), Contact)
            .join(Contact, Contact.id == held.c.contact_id)
            .where(held.c.store_id == store_id, held.c.platform_id.in_(platform_ids))
        ).all()
        survivors = {r.merged_into_id for r in rows if r.merged_into_id is not None}
        if survivors:
            for c in self.conn.execute(select(Contact).where(Contact.id.in_(survivors))).all():
                self.remember(c.id, dict(c._mapping))
        found = {}
        for r in rows:
            own = {k: v for k, v in r._mapping.items() if k != "platform_id" and k not in was}
            if r.merged_into_id is None:
                self.remember(r.id, own)
            found[r.platform_id] = (
                r.merged_into_id or r.id,
                {k: r._mapping[f"was_{k}"] for k in (*FIELDS, VERSION)},
            )
        return found

    def kept_apart(self, a: int, b: int) -> bool:
        """The merchant undid a merge of these two: they stay apart."""
        for one, other in ((a, b), (b, a)):
            manual = (self.rows.get(one) or {}).get("manual_fields") or {}
            if other in manual.get("not_same_as", []):
                return True
        return False

    def create(self, values: dict[str, Any]) -> int:
        self.created += 1
        row = {"account_id": self.account_id, **{k: values.get(k) for k in (*FIELDS, VERSION)}}
        contact_id = int(self.conn.execute(insert(Contact).values(**row).returning(Contact.id)).scalar_one())
        self.remember(contact_id, {**row, "id": contact_id, "manual_fields": None})
        return contact_id

    def fill(self, contact_id: int, values: dict[str, Any], *, was: dict[str, Any] | None = None) -> None:
        """Blanks of the contact filled from a record; a field the contact took from this very
        customer (`was`: the customer as stored) follows the customer's change if the record
        is at least as new as the contact's fields. A record older than the stored customer
        (the upsert refuses it) changes nothing. Hand-edited fields are left alone."""
        row = self.rows.get(contact_id) or {}
        manual = set((row.get("manual_fields") or {}).keys())
        was = was or {}
        version = values.get(VERSION)
        if _older(version, was.get(VERSION)):
            return
        newer = not _older(version, row.get(VERSION))

        def wanted(k: str) -> bool:
            if not values.get(k) or k in manual or row.get(k) == values[k]:
                return False
            return not row.get(k) or (newer and was.get(k) is not None and row.get(k) == was.get(k))

        changes: dict[str, Any] = {k: values[k] for k in FIELDS if wanted(k)}
        if changes:
            if version is not None and (row.get(VERSION) is None or newer):
                changes[VERSION] = version
            self.conn.execute(update(Contact).where(Contact.id == contact_id).values(**changes))
            self.remember(contact_id, {**row, **changes})

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
        self.merged |= {absorbed, into}
        gone = self.rows.pop(absorbed, {})
        for key, index in (("email_normalized", self.by_email), ("phone_e164", self.by_phone)):
            if gone.get(key) and index.get(gone[key]) == absorbed:
                index[gone[key]] = into


def _older(version: Any, than: Any) -> bool:
    """A record version older than another (an unknown version is never older)."""
    return version is not None and than is not None and version < than


class Assigned(NamedTuple):
    merged: set[int]  # contacts a merge moved records between (their insights must be redone)
    created: int  # contacts made


def assign(conn: Connection, store_id: int, batch: Batch) -> Assigned:
    """Before they are written: each customer and order row of the batch gets its contact,
    so the rows are written once (updating a stored order later would rewrite its payload).
    Says which contacts a merge moved records between, and how many contacts it made."""
    customers, orders = batch.rows.get("customers", []), batch.rows.get("orders", [])
    checkouts = batch.rows.get("checkouts", [])
    if not customers and not orders and not checkouts:
        return Assigned(set(), 0)
    account_id = conn.execute(select(Store.account_id).where(Store.id == store_id)).scalar_one()
    book = _Book(conn, account_id)
    book.load(
        {r["email_normalized"] for r in customers if r.get("email_normalized")},
        {r["phone_e164"] for r in customers if r.get("phone_e164")},
    )
    known = book.contacts_of_customers(store_id, [r["platform_id"] for r in customers])
    for row in customers:
        matched = book.match(row.get("email_normalized"), row.get("phone_e164"))
        prior, was = known.get(row["platform_id"], (None, {}))
        if (
            prior is not None
            and matched is not None
            and matched != prior
            and not book.kept_apart(prior, matched)
        ):
            book.merge(matched, into=prior, reason="a customer's new details belong to another contact")
        contact_id = prior or matched or book.create(row)
        book.fill(contact_id, row, was=was)
        row["contact_id"] = contact_id
        if not _older(row.get(VERSION), was.get(VERSION)):  # as the upsert will store it
            known[row["platform_id"]] = (contact_id, {k: row.get(k) for k in (*FIELDS, VERSION)})
    _assign_buyers(conn, book, store_id, customers, orders)
    _assign_buyers(conn, book, store_id, customers, checkouts)
    return Assigned(book.merged, book.created)


def _assign_buyers(
    conn: Connection,
    book: _Book,
    store_id: int,
    customers: list[dict[str, Any]],
    orders: list[dict[str, Any]],
) -> None:
    """An order (or a checkout) takes its customer's contact; a guest's (or an unseen
    customer's) attaches by e-mail, new contacts made in one statement."""
    if not orders:
        return
    of_customer = {r["platform_id"]: r["contact_id"] for r in customers}
    unknown = {
        r["customer_platform_id"] for r in orders if r.get("customer_platform_id")
    } - of_customer.keys()
    if unknown:
        held = Customer.__table__
        of_customer |= dict(
            conn.execute(
                select(held.c.platform_id, held.c.contact_id).where(
                    held.c.store_id == store_id,
                    held.c.platform_id.in_(unknown),
                    held.c.contact_id.is_not(None),
                )
            ).all()
        )
    guests = [
        r
        for r in orders
        if of_customer.get(r.get("customer_platform_id")) is None and r.get("email_normalized")
    ]
    book.load({r["email_normalized"] for r in guests}, set())
    new = sorted(
        {
            r["email_normalized"]: r.get("email")
            for r in guests
            if book.match(r["email_normalized"], None) is None
        }.items()
    )
    if new:
        made = conn.execute(
            insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
            [{"account_id": book.account_id, "email": email, "email_normalized": key} for key, email in new],
        ).scalars()
        book.created += len(new)
        for (key, email), contact_id in zip(new, made, strict=True):
            book.remember(contact_id, {"id": contact_id, "email": email, "email_normalized": key})
    for row in orders:
        owner = of_customer.get(row.get("customer_platform_id"))
        email = row.get("email_normalized")
        row["contact_id"] = owner if owner is not None else book.by_email.get(email) if email else None


def unmerge(conn: Connection, absorbed: int, rules: insights.Rules | None = None) -> int:
    """Undo a merge: the absorbed contact stands alone again with the records it brought,
    and the two are kept apart from now on. Returns the contact it had been merged into."""
    rules = rules or insights.Rules.current()
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
    insights.refresh(conn, {absorbed, survivor_id}, rules)
    destination_outbox.mark_contacts(conn, [absorbed, survivor_id])
    dests = destination_outbox.destinations_of_account(conn, contact.account_id)
    destination_outbox.mark(conn, dests, "orders", entry["moved"].get("orders") or [])
    return int(survivor_id)
