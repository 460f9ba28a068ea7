"""Stores: adding, listing and removing the shops and sites a merchant account connects.

Installing the same store twice updates the one row (never a duplicate); credentials
are sealed by the vault before they touch the database. `describe` gives the
machine-readable shape that `stores list --json` prints (DESIGN §3).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from connector import logs
from connector.accounts import health
from connector.crm import destination_outbox
from connector.crypto import Vault
from connector.db.models import RECORDS, Account, PlatformRecord, Store
from connector.db.operations import SyncState, WebhookInbox
from connector.db.progress import Progress
from connector.db.types import utcnow
from connector.errors import BadInput
from connector.runtime import store_keys
from platforms import entities

log = logs.get(__name__)
# what a store's description counts: the entities some platform's reader syncs
ENTITIES: dict[str, type[PlatformRecord]] = {
    e.name: RECORDS[e.name] for e in entities.ENTITIES if e.synced_by
}


def account_named(session: Session, name: str) -> Account:
    """The merchant account of that name, created if there is none (connecting a store)."""
    name = name.strip()
    if not name:
        raise BadInput("--account: a merchant account needs a name (letters, digits, anything but blank)")
    account = find_account(session, name)
    if account is None:
        account = Account(name=name)
        session.add(account)
        session.flush()
        log.info("account created", extra={"account_id": account.id})
    return account


def existing_account(session: Session, name: str) -> Account:
    """The merchant account of that name; a name that is not there (a typo) is refused,
    listing the ones there are, so nothing is made for an account nobody has."""
    account = find_account(session, name)
    if account is None:
        names = sorted(set(session.scalars(select(Account.name))))
        there = (
            ", ".join(names) if names else "none yet (`stores add-shopify` or `add-woocommerce` makes one)"
        )
        raise BadInput(f"--account: no account named {name!r}; the accounts are: {there}")
    return account


def find_account(session: Session, name: str) -> Account | None:
    return session.scalar(select(Account).where(Account.name == name).order_by(Account.id).limit(1))


def connect_store(
    session: Session,
    vault: Vault,
    *,
    account: Account,
    platform: str,
    domain: str,
    credentials: dict[str, Any],
) -> Store:
    """Create the store, or refresh the credentials of the one already connected."""
    store = session.scalar(select(Store).where(Store.platform == platform, Store.domain == domain))
    if store is not None and store.account_id != account.id:
        raise BadInput(f"{domain} is already connected to another merchant account")
    if store is None:
        store = Store(
            account_id=account.id, platform=platform, domain=domain, store_key=secrets.token_urlsafe(18)
        )
        session.add(store)
    store.credentials = vault.seal(credentials)
    store.status, store.status_reason, store.uninstalled_at = "active", None, None
    session.flush()
    _forget_old_failures(session, store.id)
    log.info("store connected", extra={"store_id": store.id, "platform": platform, "account_id": account.id})
    return store


def _forget_old_failures(session: Session, store_id: int) -> None:
    """New credentials: what the old ones failed with no longer describes the store. A failed
    entity starts afresh at the next run, one waiting to retry is tried again now (if the
    failure was not the keys', that run says so again)."""
    conn = session.connection()
    ours = SyncState.store_id == store_id
    conn.execute(update(SyncState).where(ours, SyncState.state == "failed").values(state="idle"))
    conn.execute(update(SyncState).where(ours).values(last_error=None, retry_at=None, retries=0))


def webhook_secret(vault: Vault, store: Store) -> str:
    """The store's webhook signing secret, created (random, sealed) the first time it is needed."""
    if store.webhook_secret:
        return str(vault.open(store.webhook_secret)["secret"])
    secret = secrets.token_urlsafe(32)
    store.webhook_secret = vault.seal({"secret": secret})
    return secret


def settle_url_change(session: Session, store: Store, *, accept: bool) -> int:
    """Adopt the URL deliveries moved to (and process what was held) or refuse it (and drop
    the held deliveries); returns how many deliveries were released or dropped."""
    if not store.pending_url:
        raise BadInput(f"store {store.id} has no URL change waiting")
    held = (WebhookInbox.store_id == store.id) & (WebhookInbox.status == "held")
    if accept:
        store.domain = store.pending_url
        count = (
            session.connection().execute(update(WebhookInbox).where(held).values(status="pending")).rowcount
        )
    else:
        count = session.connection().execute(delete(WebhookInbox).where(held)).rowcount
    store.pending_url, store.status_reason = None, None
    log.info("url change settled", extra={"store_id": store.id, "accepted": accept, "deliveries": count})
    return int(count)


def mark_uninstalled(conn: Connection, store_id: int) -> None:
    """The app was uninstalled from the shop (confirmed: its token answers 401): the
    credentials go, and its deliveries are recorded, not applied, until it is installed again."""
    conn.execute(
        update(Store)
        .where(Store.id == store_id)
        .values(
            status="uninstalled",
            status_reason="the app was uninstalled from the shop",
            uninstalled_at=utcnow(),
            credentials=None,
        )
    )
    log.info("store uninstalled", extra={"store_id": store_id})


def hold_for_url(conn: Connection, store_id: int, domain: str, source: str) -> None:
    """Deliveries now come from `source`, whose site answered with this store's keys as that
    site: wait for the merchant to confirm the move (`settle_url_change`) or reject it."""
    reason = (
        f"deliveries now come from {source}, not {domain}; the site there answered with this store's "
        f"keys: a moved site or a copy of it. Only if you moved the site, confirm with "
        f"`crm-connector stores confirm-url {store_id}`; otherwise reject with "
        f"`stores reject-url {store_id}`."
    )
    conn.execute(update(Store).where(Store.id == store_id).values(pending_url=source, status_reason=reason))


def needs_reauthorisation(session: Session, store: Store, reason: str) -> None:
    """The platform refused our credentials: say so on the store, in plain words; jobs for a
    store in this state are not run until the merchant reconnects it."""
    store.status, store.status_reason = "needs_reauth", reason
    log.warning("store needs re-authorisation", extra={"store_id": store.id})


def rotate_secrets(session: Session, vault: Vault) -> int:
    """Re-encrypt every sealed value under the first CONNECTOR_ENCRYPTION_KEY (after adding a
    new key in front of the old one); afterwards the old key can be removed."""
    rotated = 0
    for store in session.scalars(select(Store)):
        for column in ("credentials", "webhook_secret"):
            sealed = getattr(store, column)
            if sealed:
                setattr(store, column, vault.rotate(sealed))
                rotated += 1
    log.info("secrets rotated", extra={"values": rotated})
    return rotated


def install_store(
    session: Session, vault: Vault, *, platform: str, domain: str, credentials: dict[str, Any]
) -> Store:
    """A store installed from its platform: re-installing keeps its account and data, a new
    store gets an account of its own (named for it)."""
    existing = session.scalar(select(Store).where(Store.platform == platform, Store.domain == domain))
    account = session.get(Account, existing.account_id) if existing else None
    if account is None:
        account = Account(name=domain)
        session.add(account)
        session.flush()
    return connect_store(
        session, vault, account=account, platform=platform, domain=domain, credentials=credentials
    )


def find_store(session: Session, ref: str) -> Store:
    """A store by numeric id or by domain / URL."""
    store = session.get(Store, int(ref)) if ref.isdigit() else None
    if store is None:
        store = session.scalar(select(Store).where(Store.domain == ref.rstrip("/").lower()))
    if store is None:
        raise BadInput(f"no store {ref!r}; see `crm-connector stores list`")
    return store


@dataclass(frozen=True)
class Removed:
    """What Redis may still hold about a removed store; `forget` it once the removal commits."""

    store_id: int
    platform: str
    store_key: str
    jobs: tuple[str, ...]  # its sync steps' job ids

    def forget(self, conn: redis.Redis) -> None:
        """Redis down: said in the log; what it kept is fenced where it is read."""
        try:
            store_keys.forget(conn, self.store_id, self.platform, self.store_key, self.jobs)
        except (redis.RedisError, OSError):
            log.warning(
                "removed store not forgotten in redis: unreachable", extra={"store_id": self.store_id}
            )


def traces(conn: Connection, store_id: int) -> Removed:
    """What Redis may hold about the store, read before it is deleted."""
    store = conn.execute(select(Store.platform, Store.store_key).where(Store.id == store_id)).one()
    jobs = conn.execute(select(SyncState.job_id).where(SyncState.store_id == store_id)).scalars()
    return Removed(store_id, store.platform, store.store_key, tuple(j for j in jobs if j))


def remove_store(session: Session, store: Store) -> Removed:
    """Delete the store and, by cascade, every record synced from it; its contacts and orders
    are marked for the account's destinations first (what goes with it is deleted there)."""
    removed = traces(session.connection(), store.id)
    destination_outbox.mark_store(session.connection(), store.id)
    session.delete(store)
    session.flush()
    log.info("store removed", extra={"store_id": store.id, "platform": store.platform})
    return removed


def describe(session: Session, stores: list[Store]) -> list[dict[str, Any]]:
    """Each store as `stores list --json`, the API and the stores page show it: DESIGN §3's
    fields, each entity's activity and last run, and the store's health badge with why."""
    ids, now = [s.id for s in stores], utcnow()
    named = select(Account.id, Account.name).where(Account.id.in_({s.account_id for s in stores}))
    accounts: dict[int, str] = {row.id: row.name for row in session.execute(named)}
    counts = {name: _live_counts(session, model, ids) for name, model in ENTITIES.items()}
    states = {
        (st.store_id, st.entity): st
        for st in session.scalars(select(SyncState).where(SyncState.store_id.in_(ids)))
    }
    rows = []
    for s in stores:
        held = {
            name: _entity(counts[name].get(s.id, 0), states.get((s.id, name)), now)
            for name in ENTITIES
            if name in entities.synced_by(s.platform)
        }
        rows.append(
            {
                "id": s.id,
                "platform": s.platform,
                "domain": s.domain,
                "name": s.name,
                "locale": s.locale,
                "time_zone": s.time_zone,
                "account": accounts.get(s.account_id),
                "status": s.status,
                "health": health.badge(s, held),
                "entities": held,
            }
        )
    return rows


def _entity(count: int, state: SyncState | None, now: datetime) -> dict[str, Any]:
    """DESIGN §3's count / state / last_synced_at, plus what the sync is doing (`activity`),
    the run's progress while one runs, the last finished run, and the last error."""
    doing = health.activity(state, now)
    if state is None:
        return {
            "count": count,
            "state": "never",
            "activity": doing,
            "last_synced_at": None,
            "last_error": None,
            "next_attempt_at": None,
            "progress": None,
            "last_run": None,
        }
    progress = Progress(state.done, state.total_estimate, state.rate_per_s)
    eta = progress.eta_s
    finished = state.state in ("done", "idle") and state.last_synced_at is not None
    return {
        "count": count,
        "state": state.state,
        "activity": doing,
        "last_synced_at": _iso(state.last_synced_at),
        "last_error": state.last_error,
        "next_attempt_at": _iso(state.retry_at),  # the scheduler's next try after a failed reach
        "progress": {
            "phase": state.phase,
            "done": state.done,
            "total": progress.known_total,
            "rate_per_s": round(state.rate_per_s, 1) if state.rate_per_s else None,
            "eta_s": round(eta) if eta is not None else None,
        },
        # what the last finished run did: its kind and the records it read (not what is held)
        "last_run": {"phase": state.phase, "read": state.done, "finished_at": _iso(state.last_synced_at)}
        if finished
        else None,
    }


def _live_counts(session: Session, model: type[PlatformRecord], store_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(model.store_id, func.count())
        .where(model.store_id.in_(store_ids), model.deleted_at.is_(None))
        .group_by(model.store_id)
    )
    return {store_id: count for store_id, count in rows}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
