"""Dead letters, the one writer: a sync record, webhook delivery or message that failed for
good, kept with a plain-language reason for the merchant's retry (sync/retry.py).
One open letter per record: written again while open, it counts another attempt and keeps
the newest reason and payload; a retry resolves its letter, or counts another attempt on
it. Text and payload are kept as the store can hold them (`storable.clean_text`,
`clean_json`: no NUL characters, no lone surrogates).
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import insert, update
from sqlalchemy.engine import Connection

from connector.db.operations import DeadLetter
from connector.db.types import utcnow
from platforms.storable import clean_json, clean_text

Kind = Literal["sync", "webhook", "notification", "destination"]


def write(
    conn: Connection,
    store_id: int | None,
    kind: Kind,
    reason: str,
    *,
    entity: str | None = None,
    platform_id: int | None = None,
    detail: str | None = None,
    payload: dict[str, Any] | None = None,
    attempts: int = 1,
) -> None:
    """Open a letter, or count another attempt on the open one for the same record (a
    letter without a record id, such as a webhook delivery's, is always a new one)."""
    reason, payload = clean_text(reason), clean_json(payload)
    if platform_id is not None and _count_again(conn, store_id, kind, entity, platform_id, reason, payload):
        return
    conn.execute(
        insert(DeadLetter).values(
            store_id=store_id,
            kind=kind,
            entity=entity,
            platform_id=platform_id,
            reason=reason,
            detail=detail,
            payload=payload,
            attempts=attempts,
        )
    )


def _count_again(
    conn: Connection,
    store_id: int | None,
    kind: str,
    entity: str | None,
    platform_id: int,
    reason: str,
    payload: dict[str, Any] | None,
) -> bool:
    same = (
        DeadLetter.store_id == store_id,
        DeadLetter.kind == kind,
        DeadLetter.entity == entity,
        DeadLetter.platform_id == platform_id,
        DeadLetter.resolved_at.is_(None),
    )
    counted = conn.execute(
        update(DeadLetter)
        .where(*same)
        .values(attempts=DeadLetter.attempts + 1, reason=reason, payload=payload)
    ).rowcount
    return bool(counted)


def resolve(conn: Connection, letter_id: int) -> None:
    """The letter's record (delivery, message) went through: the letter is closed for good."""
    conn.execute(update(DeadLetter).where(DeadLetter.id == letter_id).values(resolved_at=utcnow()))


def retry_failed(conn: Connection, letter_id: int, reason: str) -> None:
    """The merchant's retry of this letter failed too: one more attempt, the new reason; the
    payload kept (a letter with no record id is counted on as well)."""
    conn.execute(
        update(DeadLetter)
        .where(DeadLetter.id == letter_id)
        .values(attempts=DeadLetter.attempts + 1, reason=clean_text(reason))
    )
