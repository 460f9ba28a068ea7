"""Destinations connected: an account's CRMs with their sealed credentials and state (one
added starts with everything of its account marked for it), and each
as `destinations list` and the dashboard show it — per object pushed, pending, failed and the
last push (from the outbox's marks and what the destination holds of each record).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector import logs
from connector.accounts.stores import existing_account
from connector.crm import destination_outbox
from connector.crypto import Vault
from connector.db.models import Account
from connector.db.operations import Destination, DestinationMark, DestinationRecord
from connector.errors import BadInput

log = logs.get(__name__)
OBJECTS = ("contacts", "orders")


def add(
    session: Session, vault: Vault, *, account: str, kind: str, credentials: dict[str, Any]
) -> Destination:
    """A destination for an existing account, its credentials (already checked) sealed, and
    everything the account already holds marked for it in the same transaction (so the first
    push sends it all)."""
    owner = existing_account(session, account)
    destination_outbox.hold_for_adding(session.connection(), owner.id)
    dest = Destination(account_id=owner.id, kind=kind, credentials=vault.seal(credentials), status="active")
    session.add(dest)
    session.flush()
    destination_outbox.mark_everything(session.connection(), dest.id, owner.id)
    log.info("destination added", extra={"destination_id": dest.id, "kind": kind})
    return dest


def find(session: Session, ref: str, account_id: int | None = None) -> Destination:
    """The destination with this id (of this account, when given)."""
    if not ref.strip().isdigit():
        raise BadInput(f"no destination {ref!r}: a destination is named by its id (`destinations list`)")
    dest = session.get(Destination, int(ref))
    if dest is None or (account_id is not None and dest.account_id != account_id):
        raise BadInput(f"no destination {ref}; `destinations list` shows them")
    return dest


def reconnect(session: Session, vault: Vault, dest: Destination, credentials: dict[str, Any]) -> None:
    dest.credentials = vault.seal(credentials)
    dest.status, dest.status_reason = "active", None


def describe(session: Session, dests: list[Destination]) -> list[dict[str, Any]]:
    ids = [d.id for d in dests]
    owners = select(Account.id, Account.name).where(Account.id.in_({d.account_id for d in dests}))
    names = {account_id: name for account_id, name in session.execute(owners).all()}
    pending = _pending(session, ids)
    held = _held(session, ids)
    return [
        {
            "id": d.id,
            "kind": d.kind,
            "account": names.get(d.account_id),
            "status": d.status,
            "status_reason": d.status_reason,
            "objects": {obj: _object(held, pending, d.id, obj) for obj in OBJECTS},
        }
        for d in dests
    ]


def _pending(session: Session, ids: list[int]) -> dict[tuple[int, str], int]:
    rows = session.execute(
        select(
            DestinationMark.destination_id,
            DestinationMark.object,
            func.count(func.distinct(DestinationMark.record_id)),
        )
        .where(DestinationMark.destination_id.in_(ids))
        .group_by(DestinationMark.destination_id, DestinationMark.object)
    ).all()
    return {(d, o): n for d, o, n in rows}


def _held(session: Session, ids: list[int]) -> dict[tuple[int, str, str], tuple[int, datetime | None]]:
    rows = session.execute(
        select(
            DestinationRecord.destination_id,
            DestinationRecord.object,
            DestinationRecord.state,
            func.count(),
            func.max(DestinationRecord.pushed_at),
        )
        .where(DestinationRecord.destination_id.in_(ids))
        .group_by(DestinationRecord.destination_id, DestinationRecord.object, DestinationRecord.state)
    ).all()
    return {(d, o, s): (n, at) for d, o, s, n, at in rows}


def _object(held: dict[Any, Any], pending: dict[Any, int], dest_id: int, obj: str) -> dict[str, Any]:
    pushed, last = held.get((dest_id, obj, "pushed"), (0, None))
    failed, _ = held.get((dest_id, obj, "failed"), (0, None))
    return {
        "pushed": pushed,
        "pending": pending.get((dest_id, obj), 0),
        "failed": failed,
        "last_pushed_at": last.isoformat() if last else None,
    }


def every(session: Session, account_id: int | None = None) -> list[Destination]:
    query = select(Destination).order_by(Destination.id)
    if account_id is not None:
        query = query.where(Destination.account_id == account_id)
    return list(session.scalars(query))


def remove(session: Session, dest: Destination) -> None:
    """The destination and its marks and records here (the CRM keeps what it was sent)."""
    session.delete(dest)
    log.info("destination removed", extra={"destination_id": dest.id})
