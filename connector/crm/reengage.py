"""The re-engagement list: people worth a message, each with the reason, and only people
whose current e-mail consent is a grant. Two reasons: no order within the inactivity
window (CONNECTOR_INACTIVE_DAYS), and a checkout left unfinished in the last
CHECKOUT_DAYS (with its recovery link), when they have not ordered since.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from connector.crm import consent
from connector.crm.insights import Rules
from connector.db.models import Checkout, Contact
from connector.db.people import ContactInsight

CHECKOUT_DAYS = 30


def reengagement(conn: Connection, store_ids: list[int], rules: Rules, now: datetime) -> list[dict[str, Any]]:
    """One entry per contact (the checkout reason first), biggest spenders first among the inactive."""
    last_order = _last_orders(conn, store_ids)
    found: dict[int, dict[str, Any]] = {}
    _left_a_checkout(conn, store_ids, last_order, now, found)
    _inactive(conn, store_ids, last_order, rules.inactive_before(now), now, found)
    allowed = consent.consented(conn, found)
    emails = dict(conn.execute(select(Contact.id, Contact.email).where(Contact.id.in_(allowed))).all())
    return [{**entry, "email": emails.get(cid)} for cid, entry in found.items() if cid in allowed]


def _last_orders(conn: Connection, store_ids: list[int]) -> dict[int, datetime | None]:
    """Each contact's latest order in any of the stores."""
    return dict(
        conn.execute(
            select(ContactInsight.contact_id, func.max(ContactInsight.last_order_at))
            .where(ContactInsight.store_id.in_(store_ids))
            .group_by(ContactInsight.contact_id)
        ).all()
    )


def _left_a_checkout(
    conn: Connection,
    store_ids: list[int],
    last_order: dict[int, datetime | None],
    now: datetime,
    found: dict[int, dict[str, Any]],
) -> None:
    """Who left a checkout in the last CHECKOUT_DAYS and has not ordered since (the newest one)."""
    left = conn.execute(
        select(
            Checkout.contact_id,
            Checkout.store_id,
            Checkout.source_created_at,
            Checkout.total_price,
            Checkout.currency,
            Checkout.recovery_url,
        )
        .where(
            Checkout.store_id.in_(store_ids),
            Checkout.contact_id.is_not(None),
            Checkout.deleted_at.is_(None),
            Checkout.completed_at.is_(None),
            Checkout.source_created_at >= now - timedelta(days=CHECKOUT_DAYS),
        )
        .order_by(Checkout.source_created_at.desc())
    ).all()
    for c in left:
        ordered = last_order.get(c.contact_id)
        if c.contact_id in found or (ordered is not None and ordered >= c.source_created_at):
            continue
        found[c.contact_id] = {
            "contact_id": c.contact_id,
            "store_id": c.store_id,
            "reason": f"left a checkout of {c.total_price or 0:.2f} {c.currency or ''}"
            f" on {c.source_created_at:%Y-%m-%d}",
            "recovery_url": c.recovery_url,
        }


def _inactive(
    conn: Connection,
    store_ids: list[int],
    last_order: dict[int, datetime | None],
    before: datetime,
    now: datetime,
    found: dict[int, dict[str, Any]],
) -> None:
    """Who has not ordered in any store since `before`, biggest spenders first."""
    inactive = conn.execute(
        select(ContactInsight)
        .where(ContactInsight.store_id.in_(store_ids), ContactInsight.last_order_at < before)
        .order_by(ContactInsight.spend.desc())
    ).all()
    for r in inactive:
        if r.contact_id in found or last_order.get(r.contact_id, r.last_order_at) >= before:
            continue
        days = (now - r.last_order_at).days
        found[r.contact_id] = {
            "contact_id": r.contact_id,
            "store_id": r.store_id,
            "reason": f"no order in {days} days"
            f" (spent {r.spend:.2f} {r.currency or ''} over {r.orders} order{'' if r.orders == 1 else 's'})",
            "recovery_url": None,
        }
