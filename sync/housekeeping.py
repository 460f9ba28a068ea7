"""Housekeeping jobs: keep the inbox from growing without bound, and let no shop's data
outlive its uninstall.

Processed, ignored, refused (failed verification) and uninstalled (arrived after the app
was uninstalled) webhook deliveries are kept for CONNECTOR_INBOX_RETENTION_DAYS (for audit
and replay), then deleted. Pending, held and failed ones are never pruned. A shop
uninstalled for CONNECTOR_UNINSTALLED_RETENTION_DAYS is erased as `shop/redact` would
erase it (Shopify sends that 48 hours after an uninstall; this is for the one that never
arrives), unless it was installed again meanwhile.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from connector import logs
from connector.accounts import stores
from connector.context import settings_of
from connector.crm import privacy
from connector.db import get_engine
from connector.db.models import Store
from connector.db.operations import WebhookInbox
from connector.db.types import utcnow
from connector.runtime.queue import get_redis

log = logs.get(__name__)
PRUNED = ("done", "ignored", "refused", "uninstalled")  # inbox statuses nothing will act on again


def prune_inbox() -> int:
    cutoff = utcnow() - timedelta(days=settings_of(current_app).inbox_retention_days)
    with get_engine().begin() as conn:
        result = conn.execute(
            delete(WebhookInbox).where(WebhookInbox.status.in_(PRUNED), WebhookInbox.processed_at < cutoff)
        )
    log.info("inbox pruned", extra={"rows": result.rowcount, "cutoff": cutoff.isoformat()})
    return int(result.rowcount)


def erase_uninstalled_shops() -> int:
    settings = settings_of(current_app)
    cutoff = utcnow() - timedelta(days=settings.uninstalled_retention_days)
    erased: list[stores.Removed] = []
    with get_engine().begin() as conn:
        due = conn.execute(
            select(Store.id, Store.domain).where(Store.status == "uninstalled", Store.uninstalled_at < cutoff)
        ).all()
        for store_id, domain in due:
            erased.append(stores.traces(conn, store_id))
            receipt = privacy.redact_shop(conn, store_id, domain, settings.instance_path)
            log.info("uninstalled shop erased", extra={"store_id": store_id, "receipt": receipt})
    for removed in erased:  # once the erasure committed: its jobs and keys in Redis go too
        removed.forget(get_redis())
    return len(erased)
