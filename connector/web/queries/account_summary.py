"""One merchant account at a glance, as the demo's terminal prints it: its stores (as the
stores page shows them), webhook deliveries and open failed records, the channel report
and the segments (the very read models the Channels and Segments pages and the API call),
the e-mails sent and the privacy requests honoured. Everything is scoped to the account,
so the terminal and the dashboard of the same sign-in cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from connector.accounts.stores import describe
from connector.crm import insights
from connector.db.models import Store
from connector.db.operations import DeadLetter, NotificationOutbox, PrivacyRequest, WebhookInbox
from connector.web.queries.common import store_ids
from connector.web.queries.contacts import contacts_count
from connector.web.queries.reports import channel_report, segments


@dataclass(frozen=True)
class AccountSummary:
    stores: list[dict[str, Any]]  # accounts.stores.describe, as `stores list --json` and the API give
    across_stores: int  # contacts with records in two stores or more (?across_stores=true)
    deliveries: dict[str, int]  # webhook deliveries by status
    open_dead_letters: int
    channels: dict[str, Any]  # queries.channel_report with its default period
    segments: list[dict[str, Any]]  # queries.segments: per store and segment
    sent: dict[str, int]  # notification e-mails sent, by kind
    privacy: dict[str, int]  # privacy requests honoured, by kind


def account_summary(
    session: Session, account_id: int, weights: tuple[tuple[str, float], ...], rules: insights.Rules
) -> AccountSummary:
    """The account's figures, each from the query the dashboard and the API use for it."""
    conn: Connection = session.connection()
    ids = store_ids(conn, account_id)
    rows = describe(session, list(session.scalars(select(Store).where(Store.id.in_(ids)).order_by(Store.id))))
    return AccountSummary(
        stores=rows,
        across_stores=contacts_count(conn, account_id, {"across_stores": "true"}, rules),
        deliveries=_by(conn, WebhookInbox.status, WebhookInbox.store_id.in_(ids)),
        open_dead_letters=int(
            conn.scalar(
                select(func.count())
                .select_from(DeadLetter)
                .where(DeadLetter.store_id.in_(ids), DeadLetter.resolved_at.is_(None))
            )
            or 0
        ),
        channels=channel_report(conn, account_id, {}, weights),
        segments=segments(conn, account_id),
        sent=_by(
            conn,
            NotificationOutbox.kind,
            NotificationOutbox.store_id.in_(ids),
            NotificationOutbox.status == "sent",
        ),
        privacy=_by(conn, PrivacyRequest.kind, PrivacyRequest.store_id.in_(ids)),
    )


def _by(conn: Connection, column: Any, *where: Any) -> dict[str, int]:
    rows = conn.execute(select(column, func.count()).where(*where).group_by(column).order_by(column))
    return {str(key): int(n) for key, n in rows}
