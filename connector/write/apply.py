"""Applying a mapped batch to the CRM store: the one path webhooks and sync both take,
as a list of named steps (`STEPS`): identity, parents, children, consent, checkouts,
subscriptions, tombstones, insights, the destinations' outbox, statistics. All run in the
caller's transaction.

Parents are written through the versioned upsert; then the children of the parents that
were written (an order's line items, fulfilments, refunds; a product's variants), and
children those parents no longer have are removed. Children of a stale parent are not
written, so an old payload cannot bring back a line item an edit removed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, and_, delete, not_, select, tuple_, update
from sqlalchemy.engine import Connection

from connector.crm import (
    consent,
    destination_outbox,
    identity,
    insight_backlog,
    insights,
    subscriptions,
    suppression,
)
from connector.db import analyze as statistics
from connector.db.models import RECORDS
from connector.db.upsert import TOMBSTONE_HASH, UpsertResult, upsert
from connector.write import refusals
from platforms.base import Batch
from platforms.entities import CHILDREN, PARENTS

TABLES: dict[str, Table] = {name: model.__table__ for name, model in RECORDS.items()}  # type: ignore[attr-defined]


@dataclass
class BatchWrite:
    """One batch on its way through the steps: what it is, and what the steps found."""

    conn: Connection
    store_id: int
    batch: Batch
    rules: insights.Rules | None
    defer_insights: bool
    results: dict[str, UpsertResult] = field(default_factory=dict)
    written: dict[str, set[int]] = field(default_factory=dict)  # per parent table, the ids written
    fresh: dict[str, set[int]] = field(default_factory=dict)  # parents seen for the first time
    touched: set[int | None] = field(default_factory=set)  # contacts whose insights change
    contacts_created: int = 0
    insights_refreshed: int = 0


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
    write = BatchWrite(conn, store_id, batch, rules, defer_insights)
    for step in STEPS:
        step(write)
    return write.results


def assign_identity(w: BatchWrite) -> None:
    """What the batch says about erased people is held back (they stay erased), the rest
    get contacts; the contacts merged, ordering, or losing an order are touched."""
    held = suppression.scrub(w.conn, w.store_id, w.batch)
    assigned = identity.assign(w.conn, w.store_id, w.batch)
    held.attach(w.batch)
    w.contacts_created = assigned.created
    w.touched = {*assigned.merged, *(r.get("contact_id") for r in w.batch.rows.get("orders", []))}
    if w.batch.deleted.get("orders"):
        deleted = [pid for pid, _at in w.batch.deleted["orders"]]
        w.touched |= insights.contacts_of_orders(w.conn, w.store_id, deleted)


def write_parents(w: BatchWrite) -> None:
    for table in PARENTS:
        rows = [{**r, "store_id": w.store_id} for r in w.batch.rows.get(table, [])]
        if rows:
            w.results[table] = upsert(w.conn, TABLES[table], rows)
            w.written[table] = {k[1] for k in w.results[table].written_keys}
            w.fresh[table] = {k[1] for k in w.results[table].created_keys}


def write_children(w: BatchWrite) -> None:
    """The children of the parents written (or not in the batch); a parent updated loses
    the children its payload no longer lists, unless the batch says they are partial."""
    in_batch = {t: {r["platform_id"] for r in w.batch.rows.get(t, [])} for t in PARENTS}
    for child, (parent, parent_column) in CHILDREN.items():
        written = w.written.get(parent, set())
        rows = [
            {**r, "store_id": w.store_id}
            for r in w.batch.rows.get(child, [])
            if r[parent_column] not in in_batch[parent] or r[parent_column] in written
        ]
        if rows:
            w.results[child] = upsert(w.conn, TABLES[child], rows)
        if child not in w.batch.unpruned:
            updated = written - w.fresh.get(parent, set())
            _prune_children(w.conn, w.store_id, child, parent_column, updated, rows)


def apply_consent(w: BatchWrite) -> None:
    consent.apply(w.conn, w.store_id, w.batch)


def complete_checkouts(w: BatchWrite) -> None:
    """A WooCommerce checkout draft becomes the order with its id: the checkout is completed.
    One lookup per batch; an update only for the (few) drafts that turned into orders."""
    written = w.written.get("orders")
    if not written:
        return
    table = TABLES["checkouts"]
    drafts = select(table.c.platform_id).where(
        table.c.store_id == w.store_id, table.c.platform_id.in_(written), table.c.completed_at.is_(None)
    )
    open_drafts = set(w.conn.execute(drafts).scalars())
    for row in w.batch.rows["orders"]:
        if row["platform_id"] in open_drafts:
            w.conn.execute(
                update(table)
                .where(table.c.store_id == w.store_id, table.c.platform_id == row["platform_id"])
                .values(completed_at=row.get("source_created_at") or row["source_updated_at"])
            )


def notify_subscribers(w: BatchWrite) -> None:
    if w.written.get("products"):
        products = [r for r in w.batch.rows["products"] if r["platform_id"] in w.written["products"]]
        subscriptions.notify_new_products(w.conn, w.store_id, products)


def write_tombstones(w: BatchWrite) -> None:
    for table, deletions in w.batch.deleted.items():
        tombstones = [
            {
                "store_id": w.store_id,
                "platform_id": pid,
                "source_updated_at": at,
                "deleted_at": at,
                "content_hash": TOMBSTONE_HASH,
            }
            for pid, at in deletions
        ]
        w.results.setdefault(table, UpsertResult())
        w.results[table] += upsert(w.conn, TABLES[table], tombstones)


def refresh_insights(w: BatchWrite) -> None:
    if w.defer_insights:
        insight_backlog.note(w.conn, w.touched)
    else:
        w.insights_refreshed = insights.refresh(w.conn, w.touched, w.rules or insights.Rules.current())


def mark_for_destinations(w: BatchWrite) -> None:
    """The transactional outbox: what this batch changed, marked for each destination."""
    named = {r.get("contact_id") for t in ("customers", "orders") for r in w.batch.rows.get(t, [])}
    if w.batch.consents:  # a consent topic names the customer only
        table = TABLES["customers"]
        ids = sorted({customer for customer, _state, _at in w.batch.consents})
        named |= set(
            w.conn.execute(
                select(table.c.contact_id).where(table.c.store_id == w.store_id, table.c.platform_id.in_(ids))
            ).scalars()
        )
    contacts: set[int] = {c for c in named | w.touched if c is not None}
    orders = w.written.get("orders", set()) | {pid for pid, _at in w.batch.deleted.get("orders", [])}
    destination_outbox.mark_written(w.conn, w.store_id, contacts, orders)


def note_statistics(w: BatchWrite) -> None:
    """The rows each table grew by, for the planner statistics' refresh (`db.analyze`)."""
    grown = {t: r.created + r.updated for t, r in w.results.items()}
    grown["contacts"] = w.contacts_created
    statistics.note_written(w.conn, {**grown, "contact_insights": w.insights_refreshed})


STEPS: tuple[Callable[[BatchWrite], None], ...] = (
    assign_identity,
    write_parents,
    write_children,
    apply_consent,
    complete_checkouts,
    notify_subscribers,
    write_tombstones,
    refresh_insights,
    mark_for_destinations,
    note_statistics,
)


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
