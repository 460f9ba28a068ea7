"""The CRM store's synced records: tenants and stores, contacts, and one table per entity
of `platforms.entities` (RECORDS maps each entity to its model). The CRM's own tables
about people are in `connector.db.people`; the machinery's in `connector.db.operations`.

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
from platforms.entities import ENTITIES

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
    # its id is known outside the database (Redis, suppressions): never given twice (migration 0012)
    __table_args__ = (UniqueConstraint("platform", "domain"), {"sqlite_autoincrement": True})
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
    # what the store says of itself when added or checked (connector.accounts.profiles)
    name: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(35))  # e.g. en_US, for money in its e-mails
    time_zone: Mapped[str | None] = mapped_column(String(64))  # IANA, for its times on the dashboard
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


def _records() -> dict[str, type[PlatformRecord]]:
    """Each entity's model, in the table's order (an entity without a model fails here)."""
    mappers = Base.registry.mappers
    models = {m.class_.__tablename__: m.class_ for m in mappers if issubclass(m.class_, PlatformRecord)}  # type: ignore[attr-defined]
    if missing := [entity.name for entity in ENTITIES if entity.name not in models]:
        raise TypeError(f"no PlatformRecord model has the table of entity {', '.join(missing)}")
    return {entity.name: models[entity.name] for entity in ENTITIES}


RECORDS: dict[str, type[PlatformRecord]] = _records()
