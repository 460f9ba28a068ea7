"""The consent ledger: append-only events per contact and channel (email, sms) from the
platforms' consent fields and topics, checkout, our subscription form and unsubscribe
links. The current state is derived (the newest event), never stored over.

What a platform says can withdraw consent, but can grant it only with the time the
person gave it, and only if that is newer than their last refusal: a re-sync replaying
an old "subscribed", or one that does not say when, never undoes an unsubscribe.
A platform's "not subscribed" is the absence of a grant, not a refusal: it is recorded
only while the ledger knows nothing else, or to take back that same store's own platform
grant (a store that said "subscribed" and now says "not subscribed" has seen the person
leave: Magento's `is_subscribed` turning false is how an unsubscribe there shows).

`apply` is the write path's consent step: a batch's consent topics set the customer's own
consent columns (the platform's view), and what the batch says is appended to the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection

from connector.db.id_sets import among
from connector.db.models import Customer
from connector.db.people import ConsentEvent
from connector.db.types import utcnow
from connector.db.upsert import dialect_insert
from platforms.base import Batch

GRANT, REFUSAL, NONE = "subscribed", "unsubscribed", "not_subscribed"
CHANNELS = ("email", "sms")
PLATFORM_SOURCES = ("platform", "checkout")  # grants that must say when, and be newer
PLATFORM_STATES = {"subscribed": GRANT, "unsubscribed": REFUSAL, "not_subscribed": NONE}
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # a consent-only customer's version: any payload supersedes it


@dataclass(frozen=True)
class Claim:
    """Something a source says about a contact's consent on one channel."""

    contact_id: int
    store_id: int | None
    channel: str
    state: str
    source: str
    occurred_at: datetime | None  # None: the source did not say when
    fallback_at: datetime  # the record's own time, for an untimed claim that is recorded


def current(conn: Connection, contact_ids: Iterable[int]) -> dict[tuple[int, str], Any]:
    """The newest event per (contact, channel)."""
    latest: dict[tuple[int, str], Any] = {}
    for e in conn.execute(
        select(ConsentEvent)
        .where(among(conn, ConsentEvent.contact_id, set(contact_ids)))
        .order_by(ConsentEvent.occurred_at, ConsentEvent.id)
    ):
        latest[(e.contact_id, e.channel)] = e
    return latest


def state_of(conn: Connection, contact_id: int, channel: str = "email") -> str:
    event = current(conn, [contact_id]).get((contact_id, channel))
    return event.state if event else NONE


def consented(conn: Connection, contact_ids: Iterable[int], channel: str = "email") -> set[int]:
    """The contacts whose current state on the channel is a grant."""
    return {c for (c, ch), e in current(conn, contact_ids).items() if ch == channel and e.state == GRANT}


def accepts(claim: Claim, now: Any) -> bool:
    """Whether a claim changes what the ledger says (the rules of the module docstring)."""
    if now is None:
        return True
    if claim.state == NONE:
        return _taken_back(claim, now)
    if claim.state == now.state:
        return False
    if claim.state == GRANT and claim.source in PLATFORM_SOURCES:
        return claim.occurred_at is not None and claim.occurred_at > now.occurred_at
    return (claim.occurred_at or claim.fallback_at) >= now.occurred_at


def _taken_back(claim: Claim, now: Any) -> bool:
    """A store's "not subscribed", newer than the grant that same store's platform gave."""
    return (
        now.state == GRANT
        and now.source == claim.source == "platform"
        and now.store_id == claim.store_id
        and (claim.occurred_at or claim.fallback_at) > now.occurred_at
    )


def record(conn: Connection, claims: list[Claim]) -> int:
    """Append the claims that change the ledger, in time order; returns how many."""
    if not claims:
        return 0
    now = current(conn, {c.contact_id for c in claims})
    added = []
    for claim in sorted(claims, key=lambda c: c.occurred_at or c.fallback_at):
        key = (claim.contact_id, claim.channel)
        if not accepts(claim, now.get(key)):
            continue
        at = claim.occurred_at or claim.fallback_at
        event = {
            "contact_id": claim.contact_id,
            "store_id": claim.store_id,
            "channel": claim.channel,
            "state": claim.state,
            "source": claim.source,
            "occurred_at": at,
            "evidence": {"timed": claim.occurred_at is not None},
        }
        added.append(event)
        now[key] = _Event(claim.state, at, claim.source, claim.store_id)
    if added:
        conn.execute(insert(ConsentEvent), added)
    return len(added)


@dataclass(frozen=True)
class _Event:
    state: str
    occurred_at: datetime
    source: str
    store_id: int | None


def claims_of(conn: Connection, store_id: int, batch: Batch) -> list[Claim]:
    """What a mapped batch says about consent: customers' platform fields, checkout opt-ins,
    and consent topics (whose customer may only be known from the store)."""
    out: list[Claim] = []
    for r in batch.rows.get("customers", []):
        contact = r.get("contact_id")
        if contact is None:
            continue
        for channel, state, at in (
            ("email", r.get("email_consent"), r.get("email_consent_at")),
            ("sms", r.get("sms_consent"), None),
        ):
            if str(state or "").lower() in PLATFORM_STATES:
                mapped = PLATFORM_STATES[str(state).lower()]
                out.append(Claim(contact, store_id, channel, mapped, "platform", at, r["source_updated_at"]))
    for r in batch.rows.get("orders", []):
        if r.get("buyer_accepts_marketing") and r.get("contact_id") is not None:
            at = r.get("source_created_at") or r["source_updated_at"]
            out.append(Claim(r["contact_id"], store_id, "email", GRANT, "checkout", at, at))
    if batch.consents:
        owners = dict(
            conn.execute(
                select(Customer.platform_id, Customer.contact_id).where(
                    Customer.store_id == store_id,
                    Customer.platform_id.in_([c for c, _s, _a in batch.consents]),
                    Customer.contact_id.is_not(None),
                )
            ).all()
        )
        for customer_id, state, at in batch.consents:
            owner, said = owners.get(customer_id), PLATFORM_STATES.get(str(state).lower())
            if owner is not None and said:
                out.append(Claim(owner, store_id, "email", said, "platform", at, at))
    return out


def apply(conn: Connection, store_id: int, batch: Batch) -> int:
    """The batch's consent, in one place: its consent topics set the customers' consent
    columns, then what it says is appended to the ledger; returns the events added."""
    for customer_id, state, at in batch.consents:
        set_customer_consent(conn, store_id, customer_id, state, at)
    return record(conn, claims_of(conn, store_id, batch))


def set_customer_consent(conn: Connection, store_id: int, customer_id: int, state: str, at: datetime) -> None:
    """A consent change wins over older consent, never over newer; it does not touch the
    customer's own version, so the customer payload that follows still applies."""
    newer = or_(Customer.email_consent_at.is_(None), Customer.email_consent_at <= at)
    changed = conn.execute(
        update(Customer)
        .where(Customer.store_id == store_id, Customer.platform_id == customer_id, newer)
        .values(email_consent=state, email_consent_at=at)
    ).rowcount
    if not changed:  # not seen yet: hold the consent; any customer payload will supersede the rest
        conn.execute(
            dialect_insert(conn, Customer.__table__)
            .values(
                store_id=store_id,
                platform_id=customer_id,
                source_updated_at=EARLIEST,
                content_hash="consent-only",
                first_seen_at=utcnow(),
                email_consent=state,
                email_consent_at=at,
            )
            .on_conflict_do_nothing(index_elements=["store_id", "platform_id"])
        )
