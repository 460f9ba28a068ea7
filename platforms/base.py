"""What every platform adapter produces: neutral CRM rows, and the helpers that make them.

A mapper turns one platform payload into a `Batch`: rows for CRM tables (no store id;
the write path adds it) plus tombstones. Mappers are pure: the same payload and
context always give the same batch, and nothing here touches a database or network.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Protocol, TypeVar, overload
from urllib.parse import parse_qs, urlparse

import phonenumbers

from connector.errors import RetryLater, error_for_status
from platforms.rows import (
    MONEY_SCALE,
    CheckoutRow,
    ContactFields,
    CustomerRow,
    FulfillmentRow,
    InventoryLevelRow,
    LineItemRow,
    OrderRow,
    ProductRow,
    RefundRow,
    Utm,
    VariantRow,
)

T = TypeVar("T")

CHANNELS = ("online_store", "pos", "mobile_app", "marketplace", "social", "draft_manual", "api_other")


@dataclass(frozen=True)
class MapContext:
    """What a mapper may know besides the payload: the store's region and the receipt time."""

    country: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Batch:
    # each row made as its table's shape (platforms.rows; `add` holds a mapper to it), then
    # kept as a plain dict: the write path adds what it knows (the store, the contact)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted: dict[str, list[tuple[int, datetime]]] = field(default_factory=dict)
    consents: list[tuple[int, str, datetime]] = field(default_factory=list)  # customer id, state, time
    # child tables whose rows here are not all of their parents' children: keep the others
    unpruned: set[str] = field(default_factory=set)

    @overload
    def add(self, table: Literal["customers"], row: CustomerRow) -> None: ...
    @overload
    def add(self, table: Literal["products"], row: ProductRow) -> None: ...
    @overload
    def add(self, table: Literal["product_variants"], row: VariantRow) -> None: ...
    @overload
    def add(self, table: Literal["orders"], row: OrderRow) -> None: ...
    @overload
    def add(self, table: Literal["order_line_items"], row: LineItemRow) -> None: ...
    @overload
    def add(self, table: Literal["fulfillments"], row: FulfillmentRow) -> None: ...
    @overload
    def add(self, table: Literal["refunds"], row: RefundRow) -> None: ...
    @overload
    def add(self, table: Literal["inventory_levels"], row: InventoryLevelRow) -> None: ...
    @overload
    def add(self, table: Literal["checkouts"], row: CheckoutRow) -> None: ...
    def add(self, table: str, row: Any) -> None:
        """A row of the table, of that table's shape (mypy refuses a column it does not name)."""
        self.rows.setdefault(table, []).append(row)

    def delete(self, table: str, platform_id: int, at: datetime) -> None:
        self.deleted.setdefault(table, []).append((platform_id, at))

    def extend(self, other: Batch) -> None:
        for table, rows in other.rows.items():
            self.rows.setdefault(table, []).extend(rows)
        for table, ids in other.deleted.items():
            self.deleted.setdefault(table, []).extend(ids)
        self.consents.extend(other.consents)
        self.unpruned |= other.unpruned

    def __len__(self) -> int:
        return sum(map(len, self.rows.values())) + sum(map(len, self.deleted.values())) + len(self.consents)


@dataclass(frozen=True)
class Chunk:
    """Some records read from a platform, and where to resume once they are written."""

    records: list[dict[str, Any]]
    cursor: str | None
    total: int | None = None  # the whole run's record count, when the platform says


class Reader(Protocol):
    """What the sync engine asks of a platform (each platform's `reader.py`)."""

    snapshot_ids: bool  # live_ids is one consistent snapshot (else deletions are confirmed by id)

    def chunks(
        self, entity: str, since: datetime | None, until: datetime, cursor: str | None
    ) -> Iterator[Chunk]:
        """Records changed after `since` (None: all of them) up to `until`, from `cursor` on."""
        ...

    def map(self, entity: str, record: dict[str, Any], ctx: MapContext) -> Batch:
        """One record as read by `chunks` → CRM rows (pure)."""
        ...

    def live_ids(self, entity: str) -> Iterator[list[int]]:
        """Every id the platform holds for the entity now, in batches (deletion reconciliation)."""
        ...

    def visible_since(self, entity: str) -> datetime | None:
        """Records created before this are not visible to the app (None: all are)."""
        ...

    def fetch(self, entity: str, ids: list[int]) -> Iterator[Chunk]:
        """Those records, if they still exist; ids that are gone are simply not returned."""
        ...


class MappingError(ValueError):
    """The payload cannot be mapped (a poison record): say what is wrong, in plain words."""


# --- small, shared conversions ---------------------------------------------------------------------
# Each refuses, with the field's name and the value shown, what the CRM store could not hold.

MAX_ID = 2**63 - 1  # platform ids are kept as signed 64-bit integers; both platforms' ids are positive
MAX_AMOUNT = Decimal(2**63 - 1) / MONEY_SCALE  # Money is kept in ten-thousandths, in 64 bits
MAX_COUNT = 2**31 - 1  # quantities and counts are 32-bit integers


def shown(value: Any, limit: int = 40) -> str:
    """A platform value quoted in a reason: its repr (control characters escaped), cut short."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def parse_time(value: Any, *, naive_is_utc: bool = True) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if at.tzinfo is None:
            if not naive_is_utc:
                raise MappingError(f"{shown(value)} has no time zone")
            at = at.replace(tzinfo=UTC)
        return at.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, MappingError):
            raise
        raise MappingError(f"{shown(value)} is not a timestamp") from None


def required_time(value: Any, what: str) -> datetime:
    at = parse_time(value)
    if at is None:
        raise MappingError(f"the payload has no {what}")
    return at


def money(value: Any, what: str = "an amount") -> Decimal | None:
    """An amount, exactly (Decimal); NaN, infinities and amounts too large to keep are refused."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise MappingError(f"{what} is not an amount ({shown(value)})")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"{what} is not an amount ({shown(value)})") from None
    if not amount.is_finite():
        raise MappingError(f"{what} is not a finite amount ({shown(value)})")
    if abs(amount) > MAX_AMOUNT:
        raise MappingError(f"{what} is too large an amount to keep ({shown(value)})")
    return amount


def record_id(value: Any, what: str = "id") -> int:
    """Platform ids are kept exactly: an int, or a numeric string, or a GID's tail; never a
    float; always from 1 to 2^63 - 1 (a negative, zero or larger id is no platform's)."""
    if isinstance(value, bool) or value is None:
        raise MappingError(f"the payload has no {what}")
    if isinstance(value, int):
        number = value
    else:
        text = str(value).rsplit("/", 1)[-1]
        if not (text.isascii() and text.isdigit()):  # ASCII digits only, at least one
            raise MappingError(f"{what} {shown(value)} is not a platform id")
        number = int(text)
    if not 1 <= number <= MAX_ID:
        raise MappingError(f"{what} {shown(value)} is not a platform id (a whole number from 1 to 2^63 - 1)")
    return number


def id_or_none(value: Any) -> int | None:
    """The value as a platform id if it is one (see `record_id`), else None: what a record
    that may be poison is known by."""
    try:
        return record_id(value)
    except MappingError:
        return None


def optional_id(value: Any, what: str = "id") -> int | None:
    """A reference that may be absent (None, 0 or empty: a guest, no product)."""
    return None if value in (None, 0, "", "0") else record_id(value, what)


def count(value: Any, what: str) -> int | None:
    """A quantity or a count: a whole number (or its numeral) that a 32-bit column holds."""
    if value in (None, ""):
        return None
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise MappingError(f"{what} is not a whole number ({shown(value)})")
    try:
        number = int(value if isinstance(value, int | float) else str(value).strip())
    except (ValueError, OverflowError):
        raise MappingError(f"{what} is not a whole number ({shown(value)})") from None
    if not -MAX_COUNT - 1 <= number <= MAX_COUNT:
        raise MappingError(f"{what} is too large a number to keep ({shown(value)})")
    return number


def normalize_email(value: Any) -> str | None:
    text = str(value or "").strip().lower()
    return text if "@" in text else None


def e164(phone: Any, region: str | None) -> str | None:
    if not phone:
        return None
    try:
        number = phonenumbers.parse(str(phone), (region or "US").upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def contact_fields(email: Any, phone: Any, region: str | None) -> ContactFields:
    """How a platform customer can be reached, as kept and as matched (normalised)."""
    return {
        "email": email,
        "email_normalized": normalize_email(email),
        "phone": phone or None,
        "phone_e164": e164(phone, region),
    }


def utm_of(url: Any) -> Utm:
    query = parse_qs(urlparse(str(url or "")).query)

    def first(key: str) -> str | None:
        return next(iter(query.get(key) or []), None)

    return {
        "utm_source": first("utm_source"),
        "utm_medium": first("utm_medium"),
        "utm_campaign": first("utm_campaign"),
    }


def domain_of(url: Any) -> str | None:
    host = urlparse(str(url or "")).hostname
    return host.removeprefix("www.") if host else None


def path_of(url: Any) -> str | None:
    if not url:
        return None
    parsed = urlparse(str(url))
    return parsed.path or "/"


SOURCE_CHANNELS = {
    "web": "online_store",
    "pos": "pos",
    "iphone": "mobile_app",
    "android": "mobile_app",
    "shopify_draft_order": "draft_manual",
    "facebook": "social",
    "instagram": "social",
    "tiktok": "social",
    "pinterest": "social",
    "amazon": "marketplace",
    "ebay": "marketplace",
    "etsy": "marketplace",
    "walmart": "marketplace",
    "google": "marketplace",
    # WooCommerce created_via
    "checkout": "online_store",
    "store-api": "online_store",
    "admin": "draft_manual",
    "rest-api": "api_other",
}


def channel_of(source: Any) -> str:
    """The one sales-channel taxonomy across platforms (DESIGN §5)."""
    return SOURCE_CHANNELS.get(str(source or "").lower(), "api_other")


def batched(items: Iterable[T], size: int) -> Iterator[tuple[T, ...]]:
    """`items` in tuples of `size` (the last may be shorter); itertools.batched before 3.12."""
    iterator = iter(items)
    while part := tuple(itertools.islice(iterator, size)):
        yield part


def with_retries(attempt: Callable[[], T], max_attempts: int) -> T:
    """Run `attempt` until it succeeds; a RetryLater waits (Retry-After, else exponential
    backoff up to 10 s) and tries again, anything else is raised at once."""
    for n in range(1, max_attempts + 1):
        try:
            return attempt()
        except RetryLater as error:
            if n == max_attempts:
                raise
            time.sleep(error.retry_after if error.retry_after is not None else min(2**n * 0.25, 10))
    raise AssertionError("unreachable")


def error_for_response(response: Any) -> Exception:
    """The action for a non-2xx platform answer, with its Retry-After."""
    retry_after = float(response.headers.get("Retry-After") or 0) or None
    return error_for_status(response.status_code, response.text[:500], retry_after)
