"""Erasure as a lasting fact: an erased person is kept as what identifies their records (a
store's platform ids, keyed hashes of their e-mail and E.164 phone), never the values.

`record` writes those keys when a person is erased; `scrub` runs on every batch before it
is written (records.apply_batch, the one write path): a suppressed customer becomes a blank
tombstone, a suppressed order or checkout keeps its amounts and line items but loses its
personal fields and its consent, and `Held.attach` gives it the anonymous contact the
erasure left (never a contact with their e-mail).
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from connector import logs
from connector.crypto import derived_keys
from connector.db.models import Contact, Store
from connector.db.operations import WebhookInbox
from connector.db.people import Suppression, SuppressionKey
from connector.db.upsert import dialect_insert
from connector.errors import ConfigError
from platforms.base import Batch, batched, e164, normalize_email

log = logs.get(__name__)
PERSONAL: dict[str, tuple[str, ...]] = {  # what a record says about who its person is
    "customers": (
        "email",
        "email_normalized",
        "phone",
        "phone_e164",
        "first_name",
        "last_name",
        "default_address",
        "raw",
    ),
    "orders": ("email", "email_normalized", "phone", "shipping_city", "landing_page", "raw"),
    "checkouts": ("email", "email_normalized", "recovery_url", "raw"),
    "fulfillments": ("tracking_number", "tracking_url"),
}
CONSENT = {  # what a record says about their consent: never re-created for an erased person
    "customers": ("email_consent", "email_consent_at", "sms_consent"),
    "orders": ("buyer_accepts_marketing",),
    "checkouts": (),
}
RECORDS = ("customers", "orders", "checkouts")
PURPOSE = "crm-connector erasure suppression v1"


class Hasher:
    """Keyed hashes of e-mails and phones, under every configured encryption key (the
    first is current; the others still match what was recorded before a rotation)."""

    def __init__(self, keys: tuple[bytes, ...]) -> None:
        self.keys = keys

    @classmethod
    def current(cls) -> Hasher:
        if not has_app_context():
            raise ConfigError("erasure suppressions need the app's CONNECTOR_ENCRYPTION_KEY: run in the app")
        return cls(derived_keys(current_app.extensions["crm.settings"].encryption_keys, PURPOSE))

    def digest(self, kind: str, value: str, key: int = 0) -> str:
        return hmac.new(self.keys[key], f"{kind}:{value}".encode(), sha256).hexdigest()

    def every(self, kind: str, value: str) -> list[str]:
        return [self.digest(kind, value, i) for i in range(len(self.keys))]


@dataclass
class Identifiers:
    """What identifies one erased person: e-mails (normalised), E.164 phones, and records
    as (store id, table, platform id)."""

    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    records: set[tuple[int, str, int]] = field(default_factory=set)

    def add_held(self, held: dict[str, list[dict[str, Any]]], countries: dict[int, str | None]) -> None:
        """Everything `privacy.gather` found on the person."""
        for table in ("contacts", *RECORDS):
            for row in held.get(table, []):
                self.emails.add(row.get("email_normalized") or "")
                self.phones.add(
                    row.get("phone_e164")
                    or e164(row.get("phone"), countries.get(row.get("store_id") or 0))
                    or ""
                )
                if table != "contacts":
                    self.records.add((row["store_id"], table, row["platform_id"]))
        self.emails.discard("")
        self.phones.discard("")


def scope_of(platform: str, domain: str) -> str:
    """A store's scope: its platform and domain, so its keys outlive the store row (a store
    removed and connected again, or re-installed after shop/redact, is still covered)."""
    return f"{platform}:{domain.lower()}"


def account_scope(account_id: int) -> str:
    return f"account:{account_id}"


def record(conn: Connection, account_id: int, contacts: set[int], found: Identifiers) -> int | None:
    """Suppress one erased person: their keys, in the account's scope and every store's."""
    if not (found.emails or found.phones or found.records):
        return None
    stores = {s.id: s for s in conn.execute(select(Store).where(Store.account_id == account_id))}
    survivor = conn.execute(
        select(Contact.id)
        .where(Contact.id.in_(contacts), Contact.merged_into_id.is_(None))
        .order_by(Contact.id)
    ).scalar()
    suppression_id = int(
        conn.execute(
            insert(Suppression).values(account_id=account_id, contact_id=survivor).returning(Suppression.id)
        ).scalar_one()
    )
    hasher = Hasher.current()
    hashed = [("email", hasher.digest("email", e)) for e in found.emails]
    hashed += [("phone", hasher.digest("phone", p)) for p in found.phones]
    scopes = [account_scope(account_id), *(scope_of(s.platform, s.domain) for s in stores.values())]
    keys = [(scope, kind, value) for scope in scopes for kind, value in hashed]
    keys += [
        (scope_of(stores[s].platform, stores[s].domain), table, str(pid))
        for s, table, pid in found.records
        if s in stores
    ]
    for part in batched(sorted(set(keys)), 500):
        rows = [{"suppression_id": suppression_id, "scope": s, "kind": k, "value": v} for s, k, v in part]
        conn.execute(dialect_insert(conn, SuppressionKey.__table__).on_conflict_do_nothing(), rows)
    log.info("person suppressed", extra={"suppression_id": suppression_id, "identifiers": len(keys)})
    return suppression_id


@dataclass
class Held:
    """What `scrub` held back until the batch's contacts are assigned: blank customer rows
    (written without a contact) and the anonymous contacts of scrubbed orders and checkouts."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    owners: dict[tuple[str, int], int] = field(default_factory=dict)

    def attach(self, batch: Batch) -> None:
        """After identity.assign: the scrubbed rows take the erased person's anonymous contact."""
        for table in ("orders", "checkouts"):
            for row in batch.rows.get(table, []):
                owner = self.owners.get((table, row["platform_id"]))
                if owner is not None and row.get("contact_id") is None:
                    row["contact_id"] = owner
        if self.customers:
            batch.rows.setdefault("customers", []).extend(self.customers)


NOTHING_HELD = Held()  # never changed: scrub returns it when the batch speaks of no one erased


def scrub(conn: Connection, store_id: int, batch: Batch) -> Held:
    """Before a batch is written: blank what it says about erased people (see the module)."""
    found = _look_up(conn, store_id, [batch])
    if found is None:
        return NOTHING_HELD
    wanted, matched = found.wanted, found.matched
    contacts = _contacts(conn, set(matched.values()), found.account_id)
    held = Held()
    erased = _scrub_customers(batch, wanted, matched, held)
    _learn(
        conn,
        found.store_scope,
        {pid: s for pid, s in erased.items() if ("customers", str(pid)) not in matched},
    )
    _scrub_buyers(batch, wanted, matched, contacts, erased, held)
    batch.consents = [
        c for c in batch.consents if c[0] not in erased and ("customers", str(c[0])) not in matched
    ]
    log.info("erased people scrubbed from a batch", extra={"store_id": store_id, "rows": wanted.scrubbed})
    return held


def mentioned(conn: Connection, store_id: int, batches: list[Batch]) -> list[int]:
    """Which of these batches (mapped webhook deliveries) speak of an erased person: their
    stored bodies are blanked once applied, so the inbox does not keep what was scrubbed."""
    found = _look_up(conn, store_id, batches)
    if found is None:
        return []
    return [i for i, batch in enumerate(batches) if found.wanted.mentions(batch, found.matched)]


def blank_deliveries(conn: Connection, inbox_ids: list[int]) -> None:
    """Applied deliveries that spoke of an erased person keep their place, not their body."""
    if inbox_ids:
        conn.execute(update(WebhookInbox).where(WebhookInbox.id.in_(inbox_ids)).values(body=b"{}"))


@dataclass
class _Found:
    account_id: int
    store_scope: str
    wanted: _Wanted
    matched: dict[tuple[str, str], int]


def _look_up(conn: Connection, store_id: int, batches: list[Batch]) -> _Found | None:
    """The suppressed keys these batches hold, if the store has any suppression at all (one
    indexed query when it has none: the common case costs nothing more)."""
    if not any(b.consents or any(b.rows.get(t) for t in (*RECORDS, "fulfillments")) for b in batches):
        return None
    store = conn.execute(
        select(Store.account_id, Store.platform, Store.domain, Store.country).where(Store.id == store_id)
    ).one()
    scopes = (scope_of(store.platform, store.domain), account_scope(store.account_id))
    any_key = select(SuppressionKey.id).where(SuppressionKey.scope.in_(scopes)).limit(1)
    if conn.execute(any_key).first() is None:
        return None
    wanted = _Wanted(Hasher.current(), store.country)
    for batch in batches:
        wanted.add_batch(batch)
    matched = _matches(conn, scopes, wanted.keys)
    return _Found(store.account_id, scopes[0], wanted, matched) if matched else None


class _Wanted:
    """The keys each row of a batch could be suppressed by."""

    def __init__(self, hasher: Hasher, country: str | None) -> None:
        self.hasher, self.country = hasher, country
        self.keys: set[tuple[str, str]] = set()
        self.of_row: dict[int, list[tuple[str, str]]] = {}
        self.scrubbed = 0

    def add(self, keys: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        listed = list(keys)
        self.keys.update(listed)
        return listed

    def add_batch(self, batch: Batch) -> None:
        for table in RECORDS:
            for row in batch.rows.get(table, []):
                self.add_row(table, row)
        self.add(("orders", str(r["order_platform_id"])) for r in batch.rows.get("fulfillments", []))
        self.add(("customers", str(c)) for c, _s, _a in batch.consents)

    def mentions(self, batch: Batch, matched: dict[tuple[str, str], int]) -> bool:
        rows = (r for t in RECORDS for r in batch.rows.get(t, []))
        return (
            any(self.suppressor(r, matched) is not None for r in rows)
            or any(
                ("orders", str(r["order_platform_id"])) in matched for r in batch.rows.get("fulfillments", [])
            )
            or any(("customers", str(c)) in matched for c, _s, _a in batch.consents)
        )

    def add_row(self, table: str, row: dict[str, Any]) -> None:
        keys = [(table, str(row["platform_id"]))]
        if table == "checkouts":  # a WooCommerce checkout draft has its order's id
            keys.append(("orders", str(row["platform_id"])))
        if table != "customers" and row.get("customer_platform_id"):
            keys.append(("customers", str(row["customer_platform_id"])))
        email = normalize_email(row.get("email_normalized") or row.get("email"))
        phone = row.get("phone_e164") or _e164(row.get("phone"), self.country)
        keys += [("email", h) for h in (self.hasher.every("email", email) if email else [])]
        keys += [("phone", h) for h in (self.hasher.every("phone", phone) if phone else [])]
        self.of_row[id(row)] = self.add(keys)

    def suppressor(self, row: dict[str, Any], matched: dict[tuple[str, str], int]) -> int | None:
        """The suppression a row falls under, if any."""
        return next((matched[k] for k in self.of_row.get(id(row), []) if k in matched), None)


@functools.lru_cache(maxsize=65536)
def _e164(phone: Any, country: str | None) -> str | None:
    """A written phone as E.164 (parsing costs ~30 µs; a person's orders repeat their phone)."""
    return e164(phone, country) if isinstance(phone, str) else None


def _matches(
    conn: Connection, scopes: tuple[str, ...], wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The wanted (kind, value) keys that are suppressed, each with its suppression."""
    found: dict[tuple[str, str], int] = {}
    kinds = sorted({k for k, _v in wanted})
    for part in batched(sorted({v for _k, v in wanted}), 500):
        for kind, value, suppression_id in conn.execute(
            select(SuppressionKey.kind, SuppressionKey.value, SuppressionKey.suppression_id).where(
                SuppressionKey.scope.in_(scopes),
                SuppressionKey.kind.in_(kinds),
                SuppressionKey.value.in_(part),
            )
        ):
            if (kind, value) in wanted:
                found[(kind, value)] = suppression_id
    return found


def _contacts(conn: Connection, suppressions: set[int], account_id: int) -> dict[int, int]:
    """The anonymous contact of each suppression, when it is this account's (a store connected
    again to another account keeps its erasures, but never reaches the old account's contacts)."""
    rows = conn.execute(
        select(Suppression.id, Suppression.contact_id).where(
            Suppression.id.in_(suppressions), Suppression.account_id == account_id
        )
    ).all()
    return {s: c for s, c in rows if c is not None}


def _learn(conn: Connection, store_scope: str, customers: dict[int, int]) -> None:
    """A customer suppressed by e-mail or phone alone is suppressed by its id from now on, so
    its orders are too, whatever e-mail they carry."""
    rows = [
        {"suppression_id": s, "scope": store_scope, "kind": "customers", "value": str(pid)}
        for pid, s in customers.items()
    ]
    if rows:
        conn.execute(dialect_insert(conn, SuppressionKey.__table__).on_conflict_do_nothing(), rows)


def _scrub_customers(
    batch: Batch, wanted: _Wanted, matched: dict[tuple[str, str], int], held: Held
) -> dict[int, int]:
    """Suppressed customers leave the batch until its contacts are assigned, as blank
    tombstones; returns their platform ids, each with its suppression."""
    kept, erased = [], {}
    for row in batch.rows.get("customers", []):
        suppressor = wanted.suppressor(row, matched)
        if suppressor is None:
            kept.append(row)
            continue
        erased[row["platform_id"]] = suppressor
        blank = dict.fromkeys((*PERSONAL["customers"], *CONSENT["customers"]))
        held.customers.append(
            {
                **{k: v for k, v in row.items() if k != "contact_id"},
                **blank,
                "deleted_at": row["source_updated_at"],
            }
        )
        wanted.scrubbed += 1
    if erased:
        batch.rows["customers"] = kept
    return erased


def _scrub_buyers(
    batch: Batch,
    wanted: _Wanted,
    matched: dict[tuple[str, str], int],
    contacts: dict[int, int],
    erased_customers: dict[int, int],
    held: Held,
) -> None:
    """Suppressed orders and checkouts (and those of a customer suppressed in this batch) keep
    their amounts; their personal and consent fields, and their shipments' tracking, go."""
    scrubbed_orders: set[int] = set()
    for table in ("orders", "checkouts"):
        rows = batch.rows.get(table, [])
        for i, row in enumerate(rows):
            buyer = row.get("customer_platform_id") or 0
            suppressor = wanted.suppressor(row, matched) or erased_customers.get(buyer)
            if suppressor is None:
                continue
            rows[i] = {**row, **dict.fromkeys((*PERSONAL[table], *CONSENT[table]))}
            wanted.scrubbed += 1
            if table == "orders":
                scrubbed_orders.add(row["platform_id"])
            if suppressor in contacts:
                held.owners[(table, row["platform_id"])] = contacts[suppressor]
    shipments = batch.rows.get("fulfillments", [])
    for i, row in enumerate(shipments):
        if (
            row["order_platform_id"] in scrubbed_orders
            or ("orders", str(row["order_platform_id"])) in matched
        ):
            shipments[i] = {**row, **dict.fromkeys(PERSONAL["fulfillments"])}
