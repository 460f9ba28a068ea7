"""Insights a sync step owes. As a step writes, the contacts each chunk touched are noted
here, in that chunk's transaction; when the step ends, each is refreshed once, instead
of once for every chunk it appears in. The list is a table, so a step killed midway loses
nothing: the next step's end, or cron (every minute), refreshes what it left.

Claiming is a DELETE … RETURNING in the refresh's own transaction: a contact noted again
meanwhile by another writer is either seen by this refresh (it committed first) or noted
anew after the claim (its insert waits for the claim's row lock), never lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Engine

from connector import logs
from connector.crm import destination_outbox, insights
from connector.db import analyze as statistics
from connector.db import get_engine
from connector.db.people import InsightBacklog
from connector.db.upsert import dialect_insert

log = logs.get(__name__)
CLAIM = 2_000  # contacts refreshed per transaction


def note(conn: Connection, contact_ids: Iterable[int | None]) -> int:
    """The contacts noted, in one statement whose text does not change with their number
    (a VALUES list of n rows is compiled anew for every n; executemany is compiled once)."""
    ids = sorted({c for c in contact_ids if c is not None})
    if ids:
        statement = dialect_insert(conn, InsightBacklog.__table__).on_conflict_do_nothing(
            index_elements=["contact_id"]
        )
        conn.execute(statement, [{"contact_id": c} for c in ids])
    return len(ids)


def settle(engine: Engine, rules: insights.Rules) -> int:
    """Refresh every noted contact, a claim at a time; how many were refreshed."""
    t: Any = InsightBacklog.__table__
    settled = 0
    while True:
        with engine.begin() as conn:
            oldest = select(t.c.contact_id).order_by(t.c.contact_id).limit(CLAIM)
            claimed = list(
                conn.execute(delete(t).where(t.c.contact_id.in_(oldest)).returning(t.c.contact_id)).scalars()
            )
            if not claimed:
                return settled
            refreshed = insights.refresh(conn, claimed, rules)
            destination_outbox.mark_contacts(conn, claimed)  # their orders and spend changed
            statistics.note_written(conn, {"contact_insights": refreshed})
        settled += len(claimed)


def settle_all() -> int:
    """Cron: what steps that died before their end left noted."""
    settled = settle(get_engine(), insights.Rules.of(current_app))
    if settled:
        log.info("insight backlog settled", extra={"contacts": settled})
    return settled
