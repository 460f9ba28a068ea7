"""GDPR/CCPA requests, honoured for real: export everything held on a person, erase a
person, erase a shop. A person is a contact, so a request reaches every store of the
merchant account. Each request leaves a receipt row (ids only, never the details).

Erasing a person blanks the contact and the personal fields and raw payloads of its
platform records (tombstoning the customers; orders and checkouts keep their amounts),
deletes its consent events, subscriptions and messages (the .eml files too), and the
stored webhook deliveries, dead letters and export files that mention it. Amounts, counts
and insights stay, attached to a contact that no longer says who it was. The erasure lasts:
`forget` and `customers/redact` leave a suppression (connector.crm.suppression) that every
later write consults, so no re-sync, reconcile, webhook or re-connect brings them back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from connector import logs
from connector.crm import destination_outbox, suppression
from connector.db.models import Checkout, Contact, Customer, Fulfillment, Order, OrderLineItem, Refund, Store
from connector.db.operations import DeadLetter, NotificationOutbox, PrivacyRequest, WebhookInbox
from connector.db.people import ConsentEvent, ContactInsight, ProductSubscription
from connector.db.types import utcnow
from platforms.base import e164, normalize_email

log = logs.get(__name__)
CUSTOMER_PII = dict.fromkeys((*suppression.PERSONAL["customers"], *suppression.CONSENT["customers"]))
ORDER_PII = dict.fromkeys((*suppression.PERSONAL["orders"], *suppression.CONSENT["orders"]))
CHECKOUT_PII = dict.fromkeys(suppression.PERSONAL["checkouts"])
CONTACT_PII = dict.fromkeys(
    ("email", "email_normalized", "phone_e164", "first_name", "last_name", "addresses", "manual_fields")
)


def people(
    conn: Connection,
    account_id: int,
    *,
    email: str | None = None,
    store_id: int | None = None,
    customer_id: int | None = None,
    order_ids: list[int] | None = None,
) -> set[int]:
    """The contacts a request is about: by e-mail, by a store's customer and order ids,
    and every contact merged into or out of those."""
    found: set[int] = set()
    key = normalize_email(email)
    if key:
        found |= set(
            conn.execute(
                select(Contact.id).where(Contact.account_id == account_id, Contact.email_normalized == key)
            ).scalars()
        )
    if store_id is not None:
        for model, ids in ((Customer, [customer_id] if customer_id else []), (Order, order_ids or [])):
            if ids:
                found |= {
                    c
                    for c in conn.execute(
                        select(model.contact_id).where(model.store_id == store_id, model.platform_id.in_(ids))
                    ).scalars()
                    if c is not None
                }
    while True:  # merged contacts travel together
        linked = set(
            conn.execute(
                select(Contact.id, Contact.merged_into_id).where(
                    or_(Contact.id.in_(found), Contact.merged_into_id.in_(found))
                )
            ).all()
        )
        more = {i for pair in linked for i in pair if i is not None} - found
        if not more:
            return found
        found |= more


def _rows(conn: Connection, statement: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(statement)]


def gather(conn: Connection, contacts: set[int]) -> dict[str, list[dict[str, Any]]]:
    """Everything held on these contacts, table by table."""
    orders = _rows(conn, select(Order).where(Order.contact_id.in_(contacts)))
    keys = [(o["store_id"], o["platform_id"]) for o in orders]

    def children(model: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for store_id in {s for s, _ in keys}:
            ids = [p for s, p in keys if s == store_id]
            out += _rows(
                conn, select(model).where(model.store_id == store_id, model.order_platform_id.in_(ids))
            )
        return out

    by_contact = Contact.id.in_(contacts)
    return {
        "contacts": _rows(conn, select(Contact).where(by_contact)),
        "customers": _rows(conn, select(Customer).where(Customer.contact_id.in_(contacts))),
        "orders": orders,
        "checkouts": _rows(conn, select(Checkout).where(Checkout.contact_id.in_(contacts))),
        "order_line_items": children(OrderLineItem),
        "fulfillments": children(Fulfillment),
        "refunds": children(Refund),
        "consent_events": _rows(conn, select(ConsentEvent).where(ConsentEvent.contact_id.in_(contacts))),
        "product_subscriptions": _rows(
            conn, select(ProductSubscription).where(ProductSubscription.contact_id.in_(contacts))
        ),
        "notifications": _rows(
            conn, select(NotificationOutbox).where(NotificationOutbox.contact_id.in_(contacts))
        ),
        "insights": _rows(conn, select(ContactInsight).where(ContactInsight.contact_id.in_(contacts))),
    }


def export(
    conn: Connection, contacts: set[int], exports: Path, *, store_id: int | None, subject: dict[str, Any]
) -> int:
    """customers/data_request or `privacy export`: one JSON file of everything held."""
    held = gather(conn, contacts)
    counts = {k: len(v) for k, v in held.items()}
    receipt = _receipt(conn, store_id, None, "data_request", subject, counts)
    exports.mkdir(parents=True, exist_ok=True)
    path = exports / f"privacy-request-{receipt}.json"
    path.write_text(json.dumps(held, default=str, indent=2))
    path.chmod(0o600)
    conn.execute(
        update(PrivacyRequest)
        .where(PrivacyRequest.id == receipt)
        .values(result={**counts, "file": str(path)})
    )
    log.info("privacy export written", extra={"store_id": store_id, "receipt": receipt})
    return receipt


def forget(
    conn: Connection,
    account_id: int,
    contacts: set[int],
    instance: Path,
    *,
    store_id: int | None,
    subject: dict[str, Any],
    needles: Sequence[Any] = (),
    found: suppression.Identifiers | None = None,
) -> int:
    """customers/redact or `privacy forget`: erase the person everywhere, and for good (a
    suppression of what identifies them: `found`, and all held on them); returns the receipt."""
    found = found or suppression.Identifiers()
    found.emails |= {e for e in map(normalize_email, needles) if e}
    countries = dict(
        conn.execute(select(Store.id, Store.country).where(Store.account_id == account_id)).all()
    )
    found.add_held(gather(conn, contacts) if contacts else {}, countries)
    suppressed = suppression.record(conn, account_id, contacts, found)
    result: dict[str, Any] = dict(erase(conn, account_id, contacts, instance, needles))
    result["suppression"] = suppressed or 0
    destinations = destination_outbox.destinations_of_account(conn, account_id) if contacts else []
    result["destinations"] = {str(d): "deletion queued" for d in destinations}  # the push says "deleted"
    receipt = _receipt(conn, store_id, None, "customer_redact", subject, result)
    destination_outbox.mark_erased(conn, account_id, contacts, receipt)
    log.info("person erased", extra={"store_id": store_id, "receipt": receipt})
    return receipt


def erase(
    conn: Connection, account_id: int, contacts: set[int], instance: Path, needles: Sequence[Any] = ()
) -> dict[str, int]:
    """The erasure itself; what it touched, counted."""
    held = gather(conn, contacts) if contacts else {}
    marks = _needles(held, needles)
    now = utcnow()
    result = {
        "contacts": len(contacts),
        "customers": conn.execute(
            update(Customer)
            .where(Customer.contact_id.in_(contacts))
            .values(**CUSTOMER_PII, deleted_at=now, content_hash="redacted")
        ).rowcount,
        "orders": conn.execute(
            update(Order).where(Order.contact_id.in_(contacts)).values(**ORDER_PII, content_hash="redacted")
        ).rowcount,
        "checkouts": _erase_checkouts(conn, account_id, contacts, held),
    }
    for f in held.get("fulfillments", []):
        conn.execute(
            update(Fulfillment)
            .where(Fulfillment.id == f["id"])
            .values(tracking_number=None, tracking_url=None)
        )
    result["consent_events"] = conn.execute(
        delete(ConsentEvent).where(ConsentEvent.contact_id.in_(contacts))
    ).rowcount
    messages = [m["id"] for m in held.get("notifications", [])]
    conn.execute(delete(NotificationOutbox).where(NotificationOutbox.contact_id.in_(contacts)))
    result["messages"] = len(messages)
    for message_id in messages:
        (instance / "outbox" / f"{message_id}.eml").unlink(missing_ok=True)
    result["subscriptions"] = conn.execute(
        delete(ProductSubscription).where(ProductSubscription.contact_id.in_(contacts))
    ).rowcount
    conn.execute(
        update(Contact)
        .where(Contact.id.in_(contacts))
        .values(**CONTACT_PII, merge_provenance={"redacted_at": now.isoformat()})
    )
    stores = list(conn.execute(select(Store.id).where(Store.account_id == account_id)).scalars())
    result["inbox_deliveries"] = _purge(conn, WebhookInbox, WebhookInbox.body, stores, marks)
    result["dead_letters"] = _purge(conn, DeadLetter, DeadLetter.payload, stores, marks)
    result["export_files"] = _purge_files(instance / "exports", marks)
    return result


def _erase_checkouts(
    conn: Connection, account_id: int, contacts: set[int], held: dict[str, list[dict[str, Any]]]
) -> int:
    """The person's checkouts, by contact or (one no contact holds) by e-mail in the account."""
    emails = {r["email_normalized"] for t in ("contacts", "customers", "orders") for r in held.get(t, [])}
    emails.discard(None)
    stores = select(Store.id).where(Store.account_id == account_id).scalar_subquery()
    theirs = or_(
        Checkout.contact_id.in_(contacts),
        and_(Checkout.store_id.in_(stores), Checkout.email_normalized.in_(emails)),
    )
    return int(
        conn.execute(update(Checkout).where(theirs).values(**CHECKOUT_PII, content_hash="redacted")).rowcount
    )


def _needles(held: dict[str, list[dict[str, Any]]], extra: Sequence[Any]) -> list[bytes]:
    """What identifies the person in stored text: e-mails and phones, as written."""
    values = set(extra)
    for table in ("contacts", "customers", "orders", "checkouts"):
        for row in held.get(table, []):
            values |= {row.get(k) for k in ("email", "phone", "phone_e164")}
    return sorted({str(v).encode() for v in values if v and len(str(v)) >= 5})


def _purge(conn: Connection, model: Any, column: Any, stores: list[int], marks: list[bytes]) -> int:
    if not marks or not stores:
        return 0
    doomed = []
    for row_id, content in conn.execute(select(model.id, column).where(model.store_id.in_(stores))):
        data = content if isinstance(content, bytes) else json.dumps(content, default=str).encode()
        if any(m in data for m in marks):
            doomed.append(row_id)
    if doomed:
        conn.execute(delete(model).where(model.id.in_(doomed)))
    return len(doomed)


def _purge_files(folder: Path, marks: list[bytes]) -> int:
    gone = 0
    for path in folder.glob("*") if folder.is_dir() and marks else []:
        if path.is_file() and any(m in path.read_bytes() for m in marks):
            path.unlink()
            gone += 1
    return gone


def _receipt(
    conn: Connection,
    store_id: int | None,
    shop_domain: str | None,
    kind: str,
    subject: dict[str, Any],
    result: dict[str, Any],
) -> int:
    values = {
        "store_id": store_id,
        "shop_domain": shop_domain,
        "kind": kind,
        "subject": subject,
        "status": "done",
        "result": result,
        "completed_at": utcnow(),
    }
    return int(
        conn.execute(insert(PrivacyRequest).values(**values).returning(PrivacyRequest.id)).scalar_one()
    )


def account_of(conn: Connection, store_id: int) -> int:
    return int(conn.execute(select(Store.account_id).where(Store.id == store_id)).scalar_one())


def export_customer(
    conn: Connection, store_id: int, customer: dict[str, Any], order_ids: list[int], exports: Path
) -> int:
    """customers/data_request from a shop."""
    account = account_of(conn, store_id)
    contacts = people(
        conn,
        account,
        email=customer.get("email"),
        store_id=store_id,
        customer_id=customer.get("id"),
        order_ids=order_ids,
    )
    return export(
        conn,
        contacts,
        exports,
        store_id=store_id,
        subject={"customer_id": customer.get("id"), "orders": order_ids},
    )


def redact_customer(
    conn: Connection, store_id: int, customer: dict[str, Any], order_ids: list[int], instance: Path
) -> int:
    """customers/redact from a shop: the person is erased from every store of the account."""
    account = account_of(conn, store_id)
    cid = customer.get("id")
    contacts = people(
        conn, account, email=customer.get("email"), store_id=store_id, customer_id=cid, order_ids=order_ids
    )
    # the shop's own records of the person, even those no contact holds
    conn.execute(
        update(Customer)
        .where(Customer.store_id == store_id, Customer.platform_id == cid)
        .values(**CUSTOMER_PII, deleted_at=utcnow(), content_hash="redacted")
    )
    if order_ids:
        conn.execute(
            update(Order)
            .where(Order.store_id == store_id, Order.platform_id.in_(order_ids))
            .values(**ORDER_PII, content_hash="redacted")
        )
    needles = [customer.get("email"), customer.get("phone"), f'"id":{cid}' if cid else None]
    subject = {"customer_id": cid, "orders": order_ids}
    country = conn.execute(select(Store.country).where(Store.id == store_id)).scalar()
    found = suppression.Identifiers(
        phones={p for p in [e164(customer.get("phone"), country)] if p},
        records={(store_id, "orders", o) for o in order_ids}
        | ({(store_id, "customers", cid)} if cid else set()),
    )
    return forget(
        conn, account, contacts, instance, store_id=store_id, subject=subject, needles=needles, found=found
    )


def redact_shop(conn: Connection, store_id: int, shop_domain: str, instance: Path) -> int:
    """shop/redact: the shop's data goes, the store row with it (every record cascades);
    contacts known only from this shop are erased too."""
    account = account_of(conn, store_id)
    mine = set()
    for model in (Customer, Order):
        mine |= {
            c for c in conn.execute(select(model.contact_id).where(model.store_id == store_id)).scalars() if c
        }
    destination_outbox.mark_store(conn, store_id)  # the push deletes there what goes, updates the rest
    conn.execute(delete(ContactInsight).where(ContactInsight.store_id == store_id))
    conn.execute(delete(Store).where(Store.id == store_id))
    elsewhere = set()
    for model in (Customer, Order):
        elsewhere |= {
            c for c in conn.execute(select(model.contact_id).where(model.contact_id.in_(mine))).scalars() if c
        }
    only_here = mine - elsewhere
    erased = erase(conn, account, only_here, instance) if only_here else {}
    receipt = _receipt(
        conn,
        None,
        shop_domain,
        "shop_redact",
        {"shop_domain": shop_domain},
        {"store_deleted": True, **{f"erased_{k}": v for k, v in erased.items()}},
    )
    log.info("shop redacted", extra={"receipt": receipt})
    return receipt


def receipt_of(conn: Connection, receipt: int) -> dict[str, Any]:
    row = conn.execute(select(PrivacyRequest).where(PrivacyRequest.id == receipt)).one()
    return {"receipt": row.id, "kind": row.kind, "completed_at": row.completed_at, "result": row.result}
