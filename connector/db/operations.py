"""The machinery's tables: the webhook inbox, sync state and runs, dead letters, the
notification outbox, dashboard users, API tokens and privacy-request receipts; the
destinations, their outbox of marks and what each holds of each record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from connector.db.models import Base
from connector.db.types import BigId, utcnow


class NotificationOutbox(Base):
    """A message to send (a product notification or a subscription confirmation), written
    once per dedup key in the transaction that decided it, sent later by a worker."""

    __tablename__ = "notification_outbox"
    # its id names the message's file in the instance folder: never given twice (migration 0012)
    __table_args__ = (
        Index(None, "status", "created_at"),
        Index(None, "contact_id"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("product_subscriptions.id"))
    kind: Mapped[str] = mapped_column(String(16), default="product")  # product | confirm
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)  # once per contact and product
    product_platform_id: Mapped[int | None] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(16), default="email")
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]  # a sender took it; a crashed sender's claim lapses
    sent_at: Mapped[datetime | None]


class WebhookInbox(Base):
    """Every accepted webhook delivery, stored before it is acknowledged."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        UniqueConstraint("store_id", "dedup_key"),
        Index(None, "status", "received_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(100))
    dedup_key: Mapped[str] = mapped_column(String(255))
    headers: Mapped[dict[str, Any] | None]
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|enqueued|done|failed|ignored
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    triggered_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class SyncState(Base):
    """Where a store's sync of one entity stands: checkpoint, progress and health."""

    __tablename__ = "sync_state"
    __table_args__ = (UniqueConstraint("store_id", "entity"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(32))  # customers | orders | products
    phase: Mapped[str] = mapped_column(String(32), default="pending")  # recent | history | incremental
    state: Mapped[str] = mapped_column(String(16), default="idle")  # idle | running | failed | done
    cursor: Mapped[str | None] = mapped_column(Text)
    signpost: Mapped[datetime | None]  # the run's start: the cursor never passes it
    high_water: Mapped[datetime | None]  # newest source_updated_at fully synced
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total_estimate: Mapped[int | None] = mapped_column(BigInteger)
    rate_per_s: Mapped[float | None]
    started_at: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    retry_at: Mapped[datetime | None]  # the store could not be reached: the scheduler tries again then
    retries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # such tries in a row
    lease_owner: Mapped[str | None] = mapped_column(String(64))  # the one job allowed to write this run
    lease_until: Mapped[datetime | None]  # renewed with every page; a killed job's lease lapses
    job_id: Mapped[str | None] = mapped_column(String(120))  # the queued or running step
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SyncRun(Base):
    """One step of a sync job as it happened: who ran it, when, how much, and how it ended."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index(None, "store_id", "entity", "started_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # sync | reconcile
    owner: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    outcome: Mapped[str] = mapped_column(String(16), default="running")  # done | paused | failed | lost
    error: Mapped[str | None] = mapped_column(Text)


class DeadLetter(Base):
    """A record or job that failed for good, with a plain-language reason and a retry."""

    __tablename__ = "dead_letters"
    # its id is in retry links and commands: never given twice (migration 0012)
    __table_args__ = (Index(None, "store_id", "resolved_at"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # webhook | sync | notification
    entity: Mapped[str | None] = mapped_column(String(32))
    platform_id: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None]
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class DashboardUser(Base):
    """A person who signs in to the dashboard; sees exactly one merchant account."""

    __tablename__ = "dashboard_users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # moved on at sign-out: every session issued before it is no longer accepted
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token for the JSON API, scoped to one merchant account; only its hash is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class PrivacyRequest(Base):
    """A GDPR/CCPA request and its receipt: what was asked, when, and what was done."""

    __tablename__ = "privacy_requests"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"), index=True)
    shop_domain: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))  # data_request | customer_redact | shop_redact
    subject: Mapped[dict[str, Any] | None]  # platform ids only, never the person's details
    status: Mapped[str] = mapped_column(String(16), default="received")  # received | done
    result: Mapped[dict[str, Any] | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


class Destination(Base):
    """A CRM the account's contacts and orders are pushed to (destinations/), with its sealed
    credentials, its state (active | needs_reconnect | needs_attention: its pushes fail, the
    reason kept) and its field-mapping overrides."""

    __tablename__ = "destinations"
    # its id is in commands and marks: never given twice
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    credentials: Mapped[bytes] = mapped_column(LargeBinary)  # Fernet token of a JSON object
    status: Mapped[str] = mapped_column(String(32), default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    mapping: Mapped[dict[str, Any] | None]  # per object, CRM field → connector field (None: not pushed)
    optouts_checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DestinationMark(Base):
    """The transactional outbox: a contact or order to push (or erase) in one destination,
    written in the transaction that changed it; removed once the destination has it."""

    __tablename__ = "destination_marks"
    __table_args__ = (Index(None, "destination_id", "object", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    destination_id: Mapped[int] = mapped_column(ForeignKey("destinations.id", ondelete="CASCADE"))
    object: Mapped[str] = mapped_column(String(16))  # contacts | orders
    record_id: Mapped[int] = mapped_column(BigInteger)
    erase: Mapped[bool] = mapped_column(default=False)  # a privacy erasure: delete it there
    receipt_id: Mapped[int | None] = mapped_column(BigInteger)  # the erasure's privacy receipt
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DestinationRecord(Base):
    """What one destination holds of one record: its id there and how its last push went."""

    __tablename__ = "destination_records"
    __table_args__ = (
        UniqueConstraint("destination_id", "object", "record_id"),
        Index(None, "destination_id", "object", "state"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    destination_id: Mapped[int] = mapped_column(ForeignKey("destinations.id", ondelete="CASCADE"))
    object: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int] = mapped_column(BigInteger)
    external_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # pushed | failed
    error: Mapped[str | None] = mapped_column(Text)
    pushed_at: Mapped[datetime | None]
