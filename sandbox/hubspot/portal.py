"""One HubSpot account as the sandbox keeps it: the private-app token, records per object type
(contacts, orders, line items; properties as strings, with the history of `hs_email_optout`;
`lastmodifieddate` moved on each write), unique properties and their values (indexes kept
current as records change), associations (an order's contact; a line item's one parent order),
the 10-second rolling rate limit and the search's own per-second one, a log of the calls made,
and the faults to answer next.
Grounded in HubSpot's CRM v3 docs (batch upsert by `idProperty`, errors as
`{"status":"error","message","category","correlationId"}`) and its rate-limit headers.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

OBJECTS = ("contacts", "orders", "line_items")
STANDARD = {
    "contacts": (
        "email",
        "firstname",
        "lastname",
        "phone",
        "address",
        "city",
        "zip",
        "country",
        "hs_email_optout",
    ),
    "orders": (
        "hs_order_name",
        "hs_currency_code",
        "hs_subtotal_price",
        "hs_tax",
        "hs_order_discount",
        "hs_shipping_cost",
        "hs_total_price",
        "hs_refund_amount",
        "hs_fulfillment_status",
        "hs_payment_status",
        "hs_external_created_date",
        "hs_source_store",
        "hs_shipping_address_city",
        "hs_shipping_address_state",
        "hs_shipping_address_country",
    ),
    "line_items": (
        "name",
        "quantity",
        "price",
        "amount",
        "hs_sku",
        "hs_product_id",
        "hs_line_item_currency_code",
    ),
}
NUMBERS = {"line_items": ("quantity", "price", "amount")}  # number properties a value must parse as


def stamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class OAuthApp:
    """The one public app the sandbox's portal knows (the connector's), and what it was granted:
    codes (one use, bound to the client and redirect URI), refresh tokens, access tokens with their
    expiry (monotonic seconds)."""

    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    client_secret: str = field(default_factory=lambda: str(uuid.uuid4()))
    app_id: int = 1_000_001
    hub_domain: str = "sandbox-portal.hubspot.com"
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh_tokens: set[str] = field(default_factory=set)
    access: dict[str, float] = field(default_factory=dict)
    access_seconds: float = 1800.0
    asked: list[str] = field(default_factory=list)  # the token endpoints' paths, each call

    def issue(self) -> str:
        token = "CO" + secrets.token_urlsafe(48)
        self.access[token] = time.monotonic() + self.access_seconds
        return token

    def state(self, token: str) -> str | None:
        """ "valid", "expired" or None (not an access token this app was issued)."""
        expires = self.access.get(token)
        if expires is None:
            return None
        return "valid" if time.monotonic() < expires else "expired"


@dataclass
class HubRecord:
    id: str
    properties: dict[str, str]
    created_at: str
    updated_at: str
    history: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def value(self, name: str) -> str | None:
        """A property's value, HubSpot's own read-only ones (id, create and modify times) included."""
        own = {"hs_object_id": self.id, "createdate": self.created_at, "lastmodifieddate": self.updated_at}
        return own[name] if name in own else self.properties.get(name)

    def as_json(
        self, wanted: list[str] | None = None, with_history: list[str] | None = None
    ) -> dict[str, Any]:
        props = (
            {**self.properties, "createdate": self.created_at, "lastmodifieddate": self.updated_at}
            if wanted is None
            else {k: self.value(k) for k in wanted}
        )
        out: dict[str, Any] = {
            "id": self.id,
            "properties": {**props, "hs_object_id": self.id},
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "archived": False,
        }
        if with_history:
            out["propertiesWithHistory"] = {k: list(reversed(self.history.get(k, []))) for k in with_history}
        return out


class Portal:
    def __init__(self, seed: int = 0, *, max_per_window: int = 100, window_ms: int = 10_000) -> None:
        self.portal_id = 40_000_000 + seed
        self.token = "pat-na1-" + secrets.token_hex(16)
        self.oauth = OAuthApp()
        self.revoked: set[str] = set()
        self.lock = threading.Lock()
        self.records: dict[str, dict[str, HubRecord]] = {o: {} for o in OBJECTS}
        self.archived: dict[str, dict[str, HubRecord]] = {o: {} for o in OBJECTS}  # restorable, 90 days
        self.properties: dict[str, dict[str, dict[str, Any]]] = {
            o: {n: {"name": n, "type": "string", "hasUniqueValue": False} for n in STANDARD[o]}
            for o in OBJECTS
        }
        self.associations: set[tuple[str, str]] = set()  # (order id, contact id)
        self.parents: dict[str, str] = {}  # line item id → its order's id (a line item has one parent)
        self.next_id = 1000
        self.faults: deque[int] = deque()  # statuses to answer next, one per request
        self.faults_on = ""  # only to requests whose path holds this
        self.latency_ms = 0  # each answer held this long after the request was acted on
        self.max_per_window, self.window_ms = max_per_window, window_ms
        self.calls: deque[float] = deque()
        self.daily_limit, self.daily_used = 250_000, 0
        self.throttled = 0
        self.requests = 0
        self.search_per_second, self.search_window_s = 5, 1.0  # the search's own limit
        self.searches: deque[float] = deque()
        self.log: list[tuple[str, str, int]] = []  # (method, path, inputs asked for), each call
        self.indexes: dict[str, dict[str, dict[str, str]]] = {o: {} for o in OBJECTS}

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def rotate_token(self) -> str:
        """The merchant rotates the private app's token: the old one answers 401 from now on."""
        self.revoked.add(self.token)
        self.token = "pat-na1-" + secrets.token_hex(16)
        return self.token

    def admit(self) -> tuple[bool, dict[str, str]]:
        """Count a request against the rolling window; whether it is allowed, and the headers."""
        now = time.monotonic()
        window = self.window_ms / 1000
        while self.calls and self.calls[0] <= now - window:
            self.calls.popleft()
        allowed = len(self.calls) < self.max_per_window
        if allowed:
            self.calls.append(now)
            self.daily_used += 1
        else:
            self.throttled += 1
        headers = {
            "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(self.daily_limit - self.daily_used, 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.window_ms),
            "X-HubSpot-RateLimit-Max": str(self.max_per_window),
            "X-HubSpot-RateLimit-Remaining": str(max(self.max_per_window - len(self.calls), 0)),
        }
        return allowed, headers

    def admit_search(self) -> bool:
        """Count a search against its own limit (per second, per account)."""
        now = time.monotonic()
        while self.searches and self.searches[0] <= now - self.search_window_s:
            self.searches.popleft()
        if len(self.searches) >= self.search_per_second:
            self.throttled += 1
            return False
        self.searches.append(now)
        return True

    def unique_index(self, obj: str, prop: str) -> dict[str, str]:
        """Value → record id of one property; built on first use, then kept current."""
        index = self.indexes[obj].get(prop)
        if index is None:
            index = {r.properties[prop]: r.id for r in self.records[obj].values() if r.properties.get(prop)}
            self.indexes[obj][prop] = index
        return index

    def add_record(self, obj: str, record: HubRecord) -> None:
        self.records[obj][record.id] = record
        for prop, index in self.indexes[obj].items():
            if record.properties.get(prop):
                index[record.properties[prop]] = record.id

    def drop_record(self, obj: str, record_id: str, *, for_good: bool = False) -> None:
        """A record archived (kept restorable, as HubSpot keeps one 90 days), or `for_good` (a
        GDPR delete: nothing kept, archived copy included)."""
        record = self.records[obj].pop(record_id, None)
        if for_good:
            self.archived[obj].pop(record_id, None)
        if record is None:
            return
        if not for_good:
            self.archived[obj][record_id] = record
        for prop, index in self.indexes[obj].items():
            if index.get(record.properties.get(prop) or "") == record_id:
                del index[record.properties[prop]]

    def set_property(
        self,
        record: HubRecord,
        name: str,
        value: str,
        source: str = "INTEGRATION",
        obj: str = "contacts",
        now: str | None = None,
    ) -> None:
        """One property written (`now`: the write's time, once a call), the record's
        modification time moved, its indexes and the opt-out's history kept."""
        old = record.properties.get(name)
        if old == value:
            return
        record.properties[name] = value
        record.updated_at = now or stamp()
        index = self.indexes[obj].get(name) if record.id in self.records[obj] else None
        if index is not None:
            if old and index.get(old) == record.id:
                del index[old]
            if value:
                index[value] = record.id
        if name == "hs_email_optout":
            record.history.setdefault(name, []).append(
                {"value": value, "timestamp": record.updated_at, "sourceType": source}
            )

    def counts(self) -> dict[str, int]:
        return {o: len(self.records[o]) for o in OBJECTS}

    def manifest(self) -> dict[str, Any]:
        app = {"client_id": self.oauth.client_id, "client_secret": self.oauth.client_secret}
        return {"token": self.token, "portal_id": self.portal_id, "counts": self.counts(), "oauth_app": app}
