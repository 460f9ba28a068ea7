"""Housekeeping jobs: keep the inbox from growing without bound.

Processed or ignored webhook deliveries are kept for CONNECTOR_INBOX_RETENTION_DAYS
(for audit and replay), then deleted. Pending and failed ones are never pruned.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete

from connector import logs, settings_of
from connector.db import get_engine
from connector.models import WebhookInbox
from connector.types import utcnow

log = logs.get(__name__)


def prune_inbox() -> int:
    cutoff = utcnow() - timedelta(days=settings_of(current_app).inbox_retention_days)
    with get_engine().begin() as conn:
        result = conn.execute(
            delete(WebhookInbox).where(
                WebhookInbox.status.in_(("done", "ignored")), WebhookInbox.processed_at < cutoff
            )
        )
    log.info("inbox pruned", extra={"rows": result.rowcount, "cutoff": cutoff.isoformat()})
    return int(result.rowcount)
