"""The CRM store's schema: tenants and stores, platform records, CRM fields, and the
machinery tables (webhook inbox, sync state, dead letters, notification outbox).

Platform records share one shape (PlatformRecord): the platform id kept exactly as a
64-bit integer, `source_updated_at` in UTC as the version, a content hash, the raw
payload, and a `deleted_at` tombstone. The one write path (connector.db.upsert) uses it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from connector.db.types import BigId, Money, UTCDateTime, utcnow

Json = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), Decimal: Money(), dict[str, Any]: Json}


class Account(Base):
    """A merchant account: the tenant every store, contact, login and token belongs to."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Store(Base):
    """One installed Shopify shop or WooCommerce site."""

    __tablename__ = "stores"
    __table_args__ = (UniqueConstraint("platform", "domain"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    domain: Mapped[str] = mapped_column(String(255))  # shop domain, or the site URL for WooCommerce
    store_key: Mapped[str] = mapped_column(String(64), unique=True)  # public id in webhook URLs
    status: Mapped[str] = mapped_column(String(32), default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    credentials: Mapped[bytes | None] = mapped_column(LargeBinary)  # Fernet token of a JSON object
    webhook_secret: Mapped[bytes | None] = mapped_column(LargeBinary)  # Fernet token
    scopes: Mapped[str | None] = mapped_column(String(500))
    country: Mapped[str | None] = mapped_column(String(2))  # default phone region
    currency: Mapped[str | None] = mapped_column(String(3))
    plan: Mapped[str | None] = mapped_column(String(32))
    pending_url: Mapped[str | None] = mapped_column(String(255))  # deliveries from another URL, held
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    uninstalled_at: Mapped[datetime | None]


class PlatformRecord:
    """Columns every synced platform record carries; (store_id, platform_id) is its key."""

    upsert_key: tuple[str, ...] = ("store_id", "platform_id")
    extra_indexes: tuple[tuple[str, ...], ...] = ()

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        indexes = [Index(None, *cols) for cols in (("store_id", "source_updated_at"), *cls.extra_indexes)]
        return (UniqueConstraint(*cls.upsert_key), *indexes, {"info": {"upsert_key": cls.upsert_key}})

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    platform_id: Mapped[int] = mapped_column(BigInteger)
    source_updated_at: Mapped[datetime]
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
    content_hash: Mapped[str] = mapped_column(String(32), default="")


class Contact(Base):
    """One real person across every store of an account."""

    __tablename__ = "contacts"
    __table_args__ = (
        Index(None, "account_id", "email_normalized"),
        Index(None, "account_id", "phone_e164"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    email: Mapped[str | None] = mapped_column(String(320))
    email_normalized: Mapped[str | None] = mapped_column(String(320))
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    addresses: Mapped[dict[str, Any] | None]
    manual_fields: Mapped[dict[str, Any] | None]  # merchant edits a re-sync never overwrites
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    merge_provenance: Mapped[dict[str, Any] | None]
    # the version of the record its fields were last taken from: older records change nothing
    source_updated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Customer(PlatformRecord, Base):
    __tablename__ = "customers"
    extra_indexes = (("store_id", "email_normalized"), ("contact_id",))
    email: Mapped[str | None] = mapped_column(String(320))
    email_normalized: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[str | None] = mapped_column(Text)
    orders_count: Mapped[int | None] = mapped_column(Integer)
    total_spent: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    email_consent: Mapped[str | None] = mapped_column(String(32))
    email_consent_at: Mapped[datetime | None]  # consent has its own version: the consent topic's time
    sms_consent: Mapped[str | None] = mapped_column(String(32))
    default_address: Mapped[dict[str, Any] | None]
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    source_created_at: Mapped[datetime | None]
    raw: Mapped[dict[str, Any] | None]


class Order(PlatformRecord, Base):
    __tablename__ = "orders"
    extra_indexes = (
        ("store_id", "source_created_at"),
        ("store_id", "customer_platform_id"),
        ("store_id", "email_normalized"),
        ("store_id", "channel"),
        ("contact_id", "source_created_at"),
    )
    name: Mapped[str | None] = mapped_column(String(64))
    customer_platform_id: Mapped[int | None] = mapped_column(BigInteger)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    email: Mapped[str | None] = mapped_column(String(320))
    email_normalized: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(3))
    subtotal: Mapped[Decimal | None]
    total_tax: Mapped[Decimal | None]
    total_discounts: Mapped[Decimal | None]
    total_shipping: Mapped[Decimal | None]
    total_price: Mapped[Decimal | None]
    total_refunded: Mapped[Decimal | None]
    status: Mapped[str | None] = mapped_column(String(32))
    financial_status: Mapped[str | None] = mapped_column(String(32))
    fulfillment_status: Mapped[str | None] = mapped_column(String(32))
    cancelled_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    buyer_accepts_marketing: Mapped[bool | None] = mapped_column(Boolean)
    channel: Mapped[str | None] = mapped_column(String(32))  # the one taxonomy (DESIGN §5)
    source_name: Mapped[str | None] = mapped_column(String(100))
    utm_source: Mapped[str | None] = mapped_column(String(200))
    utm_medium: Mapped[str | None] = mapped_column(String(200))
    utm_campaign: Mapped[str | None] = mapped_column(String(200))
    referrer_domain: Mapped[str | None] = mapped_column(String(255))
    landing_page: Mapped[str | None] = mapped_column(Text)
    shipping_country: Mapped[str | None] = mapped_column(String(2))
    shipping_region: Mapped[str | None] = mapped_column(String(100))
    shipping_city: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[str | None] = mapped_column(Text)
    source_created_at: Mapped[datetime | None]
    raw: Mapped[dict[str, Any] | None]


class OrderLineItem(PlatformRecord, Base):
    __tablename__ = "order_line_items"
    extra_indexes = (("store_id", "order_platform_id"), ("store_id", "product_platform_id"))
    order_platform_id: Mapped[int] = mapped_column(BigInteger)
    product_platform_id: Mapped[int | None] = mapped_column(BigInteger)
    variant_platform_id: Mapped[int | None] = mapped_column(BigInteger)
    sku: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    price: Mapped[Decimal | None]
    total: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))


class Fulfillment(PlatformRecord, Base):
    __tablename__ = "fulfillments"
    extra_indexes = (("store_id", "order_platform_id"),)
    order_platform_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str | None] = mapped_column(String(32))
    shipment_status: Mapped[str | None] = mapped_column(String(32))
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(200))
    tracking_url: Mapped[str | None] = mapped_column(Text)
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class Refund(PlatformRecord, Base):
    __tablename__ = "refunds"
    extra_indexes = (("store_id", "order_platform_id"),)
    order_platform_id: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(Text)
    refunded_at: Mapped[datetime | None]


class Product(PlatformRecord, Base):
    __tablename__ = "products"
    extra_indexes = (("store_id", "vendor"), ("store_id", "product_type"))
    title: Mapped[str | None] = mapped_column(Text)
    handle: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(32))
    vendor: Mapped[str | None] = mapped_column(String(255))
    product_type: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[str | None] = mapped_column(Text)
    collections: Mapped[dict[str, Any] | None]  # collection / category names, for subscriptions
    published_at: Mapped[datetime | None]
    source_created_at: Mapped[datetime | None]
    raw: Mapped[dict[str, Any] | None]


class ProductVariant(PlatformRecord, Base):
    __tablename__ = "product_variants"
    extra_indexes = (("store_id", "product_platform_id"), ("store_id", "sku"))
    product_platform_id: Mapped[int] = mapped_column(BigInteger)
    sku: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal | None]
    inventory_quantity: Mapped[int | None] = mapped_column(Integer)
    inventory_item_id: Mapped[int | None] = mapped_column(BigInteger)


class InventoryLevel(PlatformRecord, Base):
    """Stock of one inventory item at one location; platform_id is the inventory item id."""

    __tablename__ = "inventory_levels"
    upsert_key = ("store_id", "platform_id", "location_id")
    location_id: Mapped[int] = mapped_column(BigInteger, default=0)
    location_name: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(100))
    available: Mapped[int | None] = mapped_column(Integer)


class Checkout(PlatformRecord, Base):
    """A checkout left with items in it (Shopify's abandoned checkouts, WooCommerce's
    checkout drafts); `completed_at` once recovered. The denominator of conversion."""

    __tablename__ = "checkouts"
    extra_indexes = (("store_id", "source_created_at"), ("contact_id",))
    name: Mapped[str | None] = mapped_column(String(64))
    customer_platform_id: Mapped[int | None] = mapped_column(BigInteger)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    email: Mapped[str | None] = mapped_column(String(320))
    email_normalized: Mapped[str | None] = mapped_column(String(320))
    currency: Mapped[str | None] = mapped_column(String(3))
    total_price: Mapped[Decimal | None]
    channel: Mapped[str | None] = mapped_column(String(32))
    recovery_url: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None]
    source_created_at: Mapped[datetime | None]
    raw: Mapped[dict[str, Any] | None]


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


class NotificationOutbox(Base):
    """A message to send (a product notification or a subscription confirmation), written
    once per dedup key in the transaction that decided it, sent later by a worker."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index(None, "status", "created_at"), Index(None, "contact_id"))
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
    __table_args__ = (Index(None, "store_id", "resolved_at"),)
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


UPSERTABLE = (
    Customer,
    Order,
    OrderLineItem,
    Fulfillment,
    Refund,
    Product,
    ProductVariant,
    InventoryLevel,
    Checkout,
)
