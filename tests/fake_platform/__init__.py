"""A platform that exists only in the test suite, to prove a platform is one folder plus one
registry line: an in-memory store of customers, read by a reader, mapped by one mapper,
and told of changes by a webhook signed with a fixed app secret (hex HMAC-SHA256).

Nothing outside this folder knows it; the test registers it (platforms.register).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from connector.config import Settings
from connector.errors import BadInput
from platforms.base import Batch, Chunk, MapContext, MappingError, contact_fields, parse_time, record_id
from platforms.plain import (
    claimed_source,
    confirmation,
    connect_by_hand,
    cross_store_subject,
    is_ping,
    needs_confirmation,
    profile,
    refreshed,
    site_refusal,
    unconfigured,
)
from platforms.protocol import Credentials, Headers, SubscriptionState, WebhookFacts

NAME = "fake"
LABEL = "Fake"
HOW_TO_CONNECT = ""
SIGNED_BY: Final = "app"
SIGNATURE_HEADER = "X-Fake-Signature"
UNKNOWN_STORE = "unknown fake store"
SECRET = "fake-app-secret"
TOPICS = ("customer/saved",)
ACTIONS: dict[str, str] = {}
COMPLIANCE: tuple[str, ...] = ()
SUBSCRIPTIONS = ("customer/saved",)
ONE_ENTITY_AT_A_TIME = False
TOKENS_EXPIRE = False
INSTALL_BLUEPRINTS: tuple[str, ...] = ()
ADD_HELP = ""
ADD_OPTIONS = ()
# the platform's own data: store domain → customers (a test fills it)
WORLD: dict[str, list[dict[str, Any]]] = {}


def customer_rows(record: dict[str, Any], ctx: MapContext) -> Batch:
    batch = Batch()
    batch.add(
        "customers",
        {
            "platform_id": record_id(record.get("id")),
            "source_updated_at": _version(record),
            "source_created_at": parse_time(record.get("created")),
            **contact_fields(record.get("email"), None, ctx.country),
            "first_name": record.get("name"),
            "last_name": None,
            "state": None,
            "default_address": None,
            "raw": record,
        },
    )
    return batch


def _version(record: dict[str, Any]) -> datetime:
    updated = parse_time(record.get("updated"))
    if updated is None:
        raise MappingError("the customer has no update time")
    return updated


MAPPERS = {"customer/saved": customer_rows}


def signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def app_secrets(settings: Settings) -> list[str]:
    return [SECRET]


def signature_valid(body: bytes, given: str | None, secrets: Sequence[str]) -> bool:
    return bool(given) and any(hmac.compare_digest(signature(body, s), str(given)) for s in secrets)


def delivery_of(headers: Headers, body: bytes) -> WebhookFacts:
    topic, store, delivery = (
        headers.get("X-Fake-Topic"),
        headers.get("X-Fake-Store"),
        headers.get("X-Fake-Id"),
    )
    if not (topic and store and delivery):
        raise BadInput("missing header X-Fake-Topic, X-Fake-Store or X-Fake-Id")
    return WebhookFacts(topic, store.lower(), delivery, datetime.now(UTC))


def refusal(topic: str, payload: Any, domain: str) -> str | None:
    return None if isinstance(payload, dict) else f"a {topic} body is a JSON object"


def subscriptions(
    settings: Settings, credentials: Credentials, domain: str, address: str
) -> SubscriptionState:
    return SubscriptionState(list(SUBSCRIPTIONS), [], [])


def repair_subscriptions(
    settings: Settings, credentials: Credentials, domain: str, address: str, secret: str | None
) -> None:
    return None


class FakeReader:
    """The in-memory store's customers, one chunk per entity; other entities are empty."""

    snapshot_ids = True

    def __init__(self, domain: str) -> None:
        self.records = WORLD.get(domain, [])

    def chunks(
        self, entity: str, since: datetime | None, until: datetime, cursor: str | None
    ) -> Iterator[Chunk]:
        if entity == "customers" and cursor is None:
            yield Chunk(list(self.records), "done", len(self.records))

    def map(self, entity: str, record: dict[str, Any], ctx: MapContext) -> Batch:
        return customer_rows(record, ctx)

    def live_ids(self, entity: str) -> Iterator[list[int]]:
        yield [r["id"] for r in self.records] if entity == "customers" else []

    def visible_since(self, entity: str) -> datetime | None:
        return None

    def fetch(self, entity: str, ids: list[int]) -> Iterator[Chunk]:
        wanted = set(ids)
        yield Chunk([r for r in self.records if entity == "customers" and r["id"] in wanted], None)


def reader_for(settings: Settings, credentials: Credentials, store: Any) -> FakeReader:
    return FakeReader(store.domain)


__all__ = [
    "claimed_source",
    "confirmation",
    "connect_by_hand",
    "cross_store_subject",
    "is_ping",
    "needs_confirmation",
    "profile",
    "refreshed",
    "site_refusal",
    "unconfigured",
]
