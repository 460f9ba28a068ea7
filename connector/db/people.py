"""What the CRM keeps about people besides their records: the consent ledger, product
subscriptions, each contact's insights and the backlog of those owed, and the
suppressions that keep an erased person erased.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from connector.db.models import Base
from connector.db.types import BigId, utcnow


class ConsentEvent(Base):
    """Append-only consent ledger: the current state is derived, never stored over."""

    __tablename__ = "consent_events"
    __table_args__ = (Index(None, "contact_id", "channel", "occurred_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))  # email | sms
    state: Mapped[str] = mapped_column(String(32))  # subscribed | unsubscribed | pending | ...
    source: Mapped[str] = mapped_column(String(64))  # checkout | platform | form | unsubscribe_link ...
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    evidence: Mapped[dict[str, Any] | None]


class ProductSubscription(Base):
    __tablename__ = "product_subscriptions"
    # its id is signed into unsubscribe links that outlive it: never given twice (migration 0012)
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    scope_type: Mapped[str] = mapped_column(String(32))  # store | collection | tag | vendor | product_type
    scope_value: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(16), default="email")
    token: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(64), default="form")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]


class ContactInsight(Base):
    """A contact's standing with one store, kept incrementally as its orders arrive:
    the aggregates are recomputed for the contacts a batch touched, never for the store;
    RFM scores, segment and predicted value are refreshed per store on a schedule."""

    __tablename__ = "contact_insights"
    __table_args__ = (
        Index(None, "store_id", "last_order_at"),
        Index(None, "store_id", "segment"),
        Index(None, "contact_id"),
    )
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    spend: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    currency: Mapped[str | None] = mapped_column(String(3))
    first_order_at: Mapped[datetime | None]
    last_order_at: Mapped[datetime | None]
    advocate_since: Mapped[datetime | None]  # the Nth newest order: advocate while it is in the window
    rfm_r: Mapped[int | None] = mapped_column(Integer)
    rfm_f: Mapped[int | None] = mapped_column(Integer)
    rfm_m: Mapped[int | None] = mapped_column(Integer)
    segment: Mapped[str | None] = mapped_column(String(32))
    predicted_value: Mapped[Decimal | None]
    prediction: Mapped[str | None] = mapped_column(Text)  # the one-line explanation
    platform_rfm_group: Mapped[str | None] = mapped_column(String(32))
    platform_spend_tier: Mapped[str | None] = mapped_column(String(32))
    scored_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InsightBacklog(Base):
    """Contacts whose insights a sync step owes: noted as it writes, refreshed once when it
    ends (or by cron, if it died first)."""

    __tablename__ = "insight_backlog"
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)


class Suppression(Base):
    """An erased person, kept so that no write brings them back: what identifies their
    records (`SuppressionKey`), never the values. Their kept orders attach to `contact_id`,
    the anonymous contact the erasure left."""

    __tablename__ = "suppressions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SuppressionKey(Base):
    """One thing that identifies an erased person's records: a platform id of a store
    (scope "platform:domain", so it outlives the store row), or a keyed hash of their
    e-mail or phone (scope "account:<id>" and each store's scope)."""

    __tablename__ = "suppression_keys"
    __table_args__ = (UniqueConstraint("scope", "kind", "value"), Index(None, "suppression_id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    suppression_id: Mapped[int] = mapped_column(ForeignKey("suppressions.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))  # customers | orders | checkouts | email | phone
    value: Mapped[str] = mapped_column(String(64))  # a platform id, or an HMAC in hex
