"""Applying a mapped batch to the CRM store: the one path webhooks and sync both take.
First, what it says about erased people is scrubbed (connector.crm.suppression).

Parents first, through the versioned upsert; then the children of the parents that
were written (an order's line items, fulfilments, refunds; a product's variants), and
children those parents no longer have are removed. Children of a stale parent are not
written, so an old payload cannot bring back a line item an edit removed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, and_, delete, not_, or_, select, tuple_, update
from sqlalchemy.engine import Connection

from connector.crm import consent, identity, insight_backlog, insights, subscriptions, suppression
from connector.db import analyze as statistics
from connector.db.models import RECORDS
from connector.db.types import utcnow
from connector.db.upsert import TOMBSTONE_HASH, UpsertResult, dialect_insert, upsert
from connector.write import refusals
from platforms.base import Batch
from platforms.entities import CHILDREN, PARENTS

TABLES: dict[str, Table] = {name: model.__table__ for name, model in RECORDS.items()}  # type: ignore[attr-defined]
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def apply_batch(
    conn: Connection,
    store_id: int,
    batch: Batch,
    rules: insights.Rules | None = None,
    *,
    defer_insights: bool = False,
) -> dict[str, UpsertResult]:
    """Write the batch; the touched contacts' insights are refreshed now, or, with
    `defer_insights` (a sync step), noted for the step's end (`insight_backlog`)."""
    held = suppression.scrub(conn, store_id, batch)  # erased people stay erased
    assigned = identity.assign(conn, store_id, batch)
    held.attach(batch)
    touched: set[int | None] = {
        *assigned.merged,
        *(r.get("contact_id") for r in batch.rows.get("orders", [])),
    }
    if batch.deleted.get("orders"):
        touched |= insights.contacts_of_orders(conn, store_id, [pid for pid, _at in batch.deleted["orders"]])
    results: dict[str, UpsertResult] = {}
    written: dict[str, set[int]] = {}
    fresh: dict[str, set[int]] = {}  # parents seen for the first time: no children to prune
    for table in PARENTS:
        rows = [{**r, "store_id": store_id} for r in batch.rows.get(table, [])]
        if rows:
            results[table] = upsert(conn, TABLES[table], rows)
            written[table] = {k[1] for k in results[table].written_keys}
            fresh[table] = {k[1] for k in results[table].created_keys}
    in_batch = {t: {r["platform_id"] for r in batch.rows.get(t, [])} for t in PARENTS}
    for child, (parent, parent_column) in CHILDREN.items():
        rows = [
            {**r, "store_id": store_id}
            for r in batch.rows.get(child, [])
            if r[parent_column] not in in_batch[parent] or r[parent_column] in written.get(parent, set())
        ]
        if rows:
            results[child] = upsert(conn, TABLES[child], rows)
        if child not in batch.unpruned:
            updated = written.get(parent, set()) - fresh.get(parent, set())
            _prune_children(conn, store_id, child, parent_column, updated, rows)
    for customer_id, state, at in batch.consents:
        apply_consent(conn, store_id, customer_id, state, at)
    if written.get("orders"):
        _complete_checkouts(conn, store_id, batch.rows["orders"], written["orders"])
    consent.record(conn, consent.claims_of(conn, store_id, batch))
    if written.get("products"):
        products = [r for r in batch.rows["products"] if r["platform_id"] in written["products"]]
        subscriptions.notify_new_products(conn, store_id, products)
    for table, deletions in batch.deleted.items():
        tombstones = [
            {
                "store_id": store_id,
                "platform_id": pid,
                "source_updated_at": at,
                "deleted_at": at,
                "content_hash": TOMBSTONE_HASH,
            }
            for pid, at in deletions
        ]
        results.setdefault(table, UpsertResult())
        results[table] += upsert(conn, TABLES[table], tombstones)
    if defer_insights:
        insight_backlog.note(conn, touched)
        refreshed = 0
    else:
        refreshed = insights.refresh(conn, touched, rules or insights.Rules.current())
    grown = {t: r.created + r.updated for t, r in results.items()}
    grown["contacts"] = assigned.created
    statistics.note_written(conn, {**grown, "contact_insights": refreshed})
    return results


def apply_isolating(
    conn: Connection,
    store_id: int,
    batches: list[Batch],
    rules: insights.Rules | None = None,
    *,
    defer_insights: bool = False,
) -> list[tuple[int, Exception]]:
    """Apply the batches together; if a record fails (the database refuses its values), the
    batches are halved, each half in its own savepoint, until the failing ones stand alone:
    the rest are written, at any number of batches and on every write path. Returns the
    failed ones (index, error); the database's own trouble (`refusals`) is raised."""
    refused: list[tuple[int, Exception]] = []
    _apply_halving(conn, store_id, list(enumerate(batches)), refused, rules, defer_insights)
    return sorted(refused, key=lambda pair: pair[0])


def _apply_halving(
    conn: Connection,
    store_id: int,
    part: list[tuple[int, Batch]],
    refused: list[tuple[int, Exception]],
    rules: insights.Rules | None,
    defer_insights: bool,
) -> None:
    """Write `part` in one savepoint; refused, write each half the same way (a lone batch
    refused is noted). A part with n batches and k refused records costs about k·log2(n) tries."""
    combined = Batch()
    for _index, batch in part:
        combined.extend(batch)
    try:
        with conn.begin_nested():
            apply_batch(conn, store_id, combined, rules, defer_insights=defer_insights)
        return
    except Exception as exc:
        if refusals.is_database_trouble(exc):
            raise
        if len(part) == 1:
            refused.append((part[0][0], exc))
            return
    middle = len(part) // 2
    for half in (part[:middle], part[middle:]):
        _apply_halving(conn, store_id, half, refused, rules, defer_insights)


def apply_consent(conn: Connection, store_id: int, customer_id: int, state: str, at: datetime) -> None:
    """A consent change wins over older consent, never over newer; it does not touch the
    customer's own version, so the customer payload that follows still applies."""
    table = TABLES["customers"]
    newer = or_(table.c.email_consent_at.is_(None), table.c.email_consent_at <= at)
    changed = conn.execute(
        update(table)
        .where(
            table.c.store_id == store_id,
            table.c.platform_id == customer_id,
            newer,
        )
        .values(email_consent=state, email_consent_at=at)
    ).rowcount
    if not changed:  # not seen yet: hold the consent; any customer payload will supersede the rest
        conn.execute(
            dialect_insert(conn, table)
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


def _complete_checkouts(
    conn: Connection, store_id: int, orders: list[dict[str, Any]], written: set[int]
) -> None:
    """A WooCommerce checkout draft becomes the order with its id: the checkout is completed.
    One lookup per batch; an update only for the (few) drafts that turned into orders."""
    table = TABLES["checkouts"]
    open_drafts = set(
        conn.execute(
            select(table.c.platform_id).where(
                table.c.store_id == store_id, table.c.platform_id.in_(written), table.c.completed_at.is_(None)
            )
        ).scalars()
    )
    for row in orders:
        if row["platform_id"] in open_drafts:
            conn.execute(
                update(table)
                .where(table.c.store_id == store_id, table.c.platform_id == row["platform_id"])
                .values(completed_at=row.get("source_created_at") or row["source_updated_at"])
            )


def _prune_children(
    conn: Connection,
    store_id: int,
    child: str,
    parent_column: str,
    parents: set[int],
    rows: list[dict[str, Any]],
) -> None:
    if not parents:
        return
    table = TABLES[child]
    keep: dict[int, set[int]] = defaultdict(set)
    for r in rows:
        keep[r[parent_column]].add(r["platform_id"])
    kept_pairs = [(p, c) for p, children in keep.items() for c in children]
    condition = and_(table.c.store_id == store_id, table.c[parent_column].in_(parents))
    if kept_pairs:
        condition = and_(condition, not_(tuple_(table.c[parent_column], table.c.platform_id).in_(kept_pairs)))
    conn.execute(delete(table).where(condition))
