"""Opt-outs made in a CRM, brought back after a push: into the consent ledger as refusals with
their source and time, the contacts marked so the CRM gets the connector's consent back. A CRM
that can search them is asked only what changed since the last read-back (its watermark moves
in the ledger's transaction); the others are asked about every contact pushed there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from connector.crm import consent, destination_outbox
from connector.db.operations import Destination, DestinationRecord
from connector.runtime.signals import deferred_stops
from destinations.protocol import ReadsOptoutsSince, Session


def read_optouts(engine: Engine, dest: Any, session: Session) -> int:
    """Opt-outs made in the CRM, into the ledger as refusals with their source and time; a
    CRM that can search them is asked only what changed since the last read-back, whose
    watermark moves in the ledger's transaction. A stop waits for the database work (a stop
    cutting a query leaves its connection unusable, and the push could not say it stopped)."""
    with deferred_stops(), engine.connect() as conn:
        pushed: dict[str, int] = {
            str(e): r
            for e, r in conn.execute(
                select(DestinationRecord.external_id, DestinationRecord.record_id).where(
                    DestinationRecord.destination_id == dest.id,
                    DestinationRecord.object == "contacts",
                    DestinationRecord.external_id.is_not(None),
                )
            )
        }
    if not pushed:
        return 0
    mark = None
    if isinstance(session, ReadsOptoutsSince):
        found, mark = session.optouts_since(dest.optouts_checked_at)
    else:
        found = session.optouts(sorted(pushed))
    claims = [
        consent.Claim(
            int(pushed[o.external_id]),
            None,
            o.channel,
            consent.REFUSAL,
            o.source,
            o.occurred_at,
            o.occurred_at,
        )
        for o in found
        if o.external_id in pushed
    ]
    with deferred_stops(), engine.begin() as conn:
        added = consent.record(conn, claims)
        if added:
            destination_outbox.mark_contacts(conn, [c.contact_id for c in claims])
        if mark is not None:
            conn.execute(update(Destination).where(Destination.id == dest.id).values(optouts_checked_at=mark))
    return added
