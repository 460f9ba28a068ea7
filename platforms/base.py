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
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlparse

import phonenumbers

from connector.errors import RetryLater, error_for_status

T = TypeVar("T")

CHANNELS = ("online_store", "pos", "mobile_app", "marketplace", "social", "draft_manual", "api_other")
# children replaced with their parent: table → (parent table, column naming the parent)
CHILDREN = {
    "order_line_items": ("orders", "order_platform_id"),
    "fulfillments": ("orders", "order_platform_id"),
    "refunds": ("orders", "order_platform_id"),
    "product_variants": ("products", "product_platform_id"),
}


@dataclass(frozen=True)
class MapContext:
    """What a mapper may know besides the payload: the store's region and the receipt time."""

    country: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Batch:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted: dict[str, list[tuple[int, datetime]]] = field(default_factory=dict)
    consents: list[tuple[int, str, datetime]] = field(default_factory=list)  # customer id, state, time
    # child tables whose rows here are not all of their parents' children: keep the others
    unpruned: set[str] = field(default_factory=set)

    def add(self, table: str, row: dict[str, Any]) -> None:
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


def parse_time(value: Any, *, naive_is_utc: bool = True) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"{value!r} is not a timestamp") from None
    if at.tzinfo is None:
        if not naive_is_utc:
            raise MappingError(f"{value!r} has no time zone")
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def required_time(value: Any, what: str) -> datetime:
    at = parse_time(value)
    if at is None:
        raise MappingError(f"the payload has no {what}")
    return at


def money(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"{value!r} is not an amount") from None


def record_id(value: Any, what: str = "id") -> int:
    """Platform ids are kept exactly: an int, or a numeric string, or a GID's tail; never a float."""
    if isinstance(value, bool) or value is None:
        raise MappingError(f"the payload has no {what}")
    if isinstance(value, int):
        return value
    text = str(value).rsplit("/", 1)[-1]
    if not text.isdigit():
        raise MappingError(f"{value!r} is not a platform id")
    return int(text)


def optional_id(value: Any) -> int | None:
    return None if value in (None, 0, "", "0") else record_id(value)


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


def contact_fields(email: Any, phone: Any, region: str | None) -> dict[str, Any]:
    """How a platform customer can be reached, as kept and as matched (normalised)."""
    return {
        "email": email,
        "email_normalized": normalize_email(email),
        "phone": phone or None,
        "phone_e164": e164(phone, region),
    }


def utm_of(url: Any) -> dict[str, str | None]:
    query = parse_qs(urlparse(str(url or "")).query)
    return {
        f"utm_{k}": next(iter(query.get(f"utm_{k}") or []), None) for k in ("source", "medium", "campaign")
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
