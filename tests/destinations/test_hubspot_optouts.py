"""HubSpot's opt-outs come back by the CRM search, not by reading every contact: one opted out
in the portal before the first push and one after both reach the ledger at HubSpot's time; a
contact not changed since the last read-back's watermark is not read again; a search past the
10,000th hit is asked again past the last id, so none is lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import select, update

from connector.db import get_engine
from connector.db.models import Contact
from connector.db.operations import Destination
from destinations.hubspot import connect, open_session
from destinations.hubspot.client import HubSpotClient
from sandbox.hubspot.portal import HubRecord, stamp
from sandbox.server import SandboxServer
from tests.destinations.helpers import add_hubspot, assert_optout_read, push_until_done, sync_everything
from tests.rig import Rig

SEARCH = "/hubspot/crm/v3/objects/contacts/search"
READ = "/hubspot/crm/v3/objects/contacts/batch/read"
ID = "connector_contact_id"


def unsubscribe(rig: Rig, email: str) -> dict[str, str]:
    """The person opts out of all e-mail in HubSpot; the history entry HubSpot keeps of it."""
    portal = rig.sandbox.world.hubspot
    answer = requests.post(
        rig.sandbox.url + "/hubspot/communication-preferences/v3/unsubscribe",
        json={"emailAddress": email, "subscriptionId": "1"},
        headers={"Authorization": f"Bearer {portal.token}"},
        timeout=10,
    )
    assert answer.status_code == 200
    holder = portal.unique_index("contacts", "email")[email.lower()]
    return portal.records["contacts"][holder].history["hs_email_optout"][-1]


def at(said: dict[str, str]) -> datetime:
    return datetime.fromisoformat(said["timestamp"].replace("Z", "+00:00"))


def people_with_email(rig: Rig, n: int) -> list[tuple[int, str]]:
    with get_engine(rig.app).connect() as conn:
        rows = conn.execute(
            select(Contact.id, Contact.email)
            .where(Contact.email.is_not(None), Contact.merged_into_id.is_(None))
            .order_by(Contact.id)
            .limit(n)
        ).all()
    return [(int(i), str(e)) for i, e in rows]


def already_there(rig: Rig, contact_id: int, email: str) -> None:
    """The contact in the portal before the connector's first push (say a former connection)."""
    portal = rig.sandbox.world.hubspot
    client = HubSpotClient(portal.token, rig.sandbox.url + "/hubspot")
    connect.prepare(client)
    client.call(
        "POST",
        "/crm/v3/objects/contacts/batch/upsert",
        {
            "inputs": [
                {"idProperty": "connector_contact_id", "id": str(contact_id), "properties": {"email": email}}
            ]
        },
    )
    client.close()


def calls(rig: Rig, path: str) -> list[int]:
    """The inputs each call to `path` named, in order, since the log was last cleared."""
    return [n for _, p, n in rig.sandbox.world.hubspot.log if p == path]


def time_passes(rig: Rig, dest: int) -> None:
    """An hour on: every contact last changed an hour ago, the last read-back half an hour ago."""
    old = stamp(datetime.now(UTC) - timedelta(hours=1))
    for record in rig.sandbox.world.hubspot.records["contacts"].values():
        record.updated_at = old
    with get_engine(rig.app).begin() as conn:
        conn.execute(
            update(Destination)
            .where(Destination.id == dest)
            .values(optouts_checked_at=datetime.now(UTC) - timedelta(minutes=30))
        )


def test_optouts_before_the_first_push_and_after_reach_the_ledger_and_nothing_is_read_twice(
    rig: Rig,
) -> None:
    # given an account backfilled, a destination added, and one person already in the portal and
    # opted out there before the connector's first push
    dest = add_hubspot(rig)
    sync_everything(rig)
    (early, early_email), (late, late_email), (third, third_email) = people_with_email(rig, 3)
    already_there(rig, early, early_email)
    said_early = unsubscribe(rig, early_email)
    # when the first push runs, then that opt-out reaches the ledger at HubSpot's time
    event = assert_optout_read(rig, dest, early, "hubspot")
    assert event.occurred_at == at(said_early)
    # and it was found by search, then only that one read with its history (not every contact)
    assert calls(rig, READ) == [1]
    # when another opts out after it, then the next push reads that one back too
    said_late = unsubscribe(rig, late_email)
    assert assert_optout_read(rig, dest, late, "hubspot").occurred_at == at(said_late)
    assert push_until_done(rig.app, dest)[-1].optouts == 0  # the consent pushed back: nothing new
    # when time passes with nothing changed there, then a push searches once and reads nobody
    time_passes(rig, dest)
    rig.sandbox.world.hubspot.log.clear()
    assert push_until_done(rig.app, dest)[-1].optouts == 0
    assert len(calls(rig, SEARCH)) == 1 and calls(rig, READ) == []
    # and when a third opts out, only that one is read again, not the two before
    unsubscribe(rig, third_email)
    rig.sandbox.world.hubspot.log.clear()
    assert_optout_read(rig, dest, third, "hubspot")
    assert calls(rig, READ) == [1]
    with get_engine(rig.app).connect() as conn:
        mark = conn.execute(select(Destination.optouts_checked_at).where(Destination.id == dest)).scalar_one()
    assert mark is not None and mark > datetime.now(UTC) - timedelta(minutes=10)


def opted_out_contacts(sandbox: SandboxServer, n: int) -> dict[str, HubRecord]:
    portal = sandbox.world.hubspot
    portal.properties["contacts"]["connector_contact_id"] = {
        "name": "connector_contact_id",
        "hasUniqueValue": True,
    }
    now = stamp()
    made = {}
    for k in range(n):
        record = HubRecord(
            portal.new_id(), {"connector_contact_id": str(k), "hs_email_optout": "true"}, now, now
        )
        record.history["hs_email_optout"] = [{"value": "true", "timestamp": now, "sourceType": "EMAIL"}]
        portal.add_record("contacts", record)
        made[record.id] = record
    return made


def test_a_search_past_10000_hits_is_asked_again_past_the_last_id(sandbox: SandboxServer) -> None:
    # given 10,250 opted-out contacts of the connector's in the portal, and room in the window
    made = opted_out_contacts(sandbox, 10_250)
    sandbox.world.hubspot.max_per_window = 10_000
    session = open_session({"token": sandbox.world.hubspot.token}, sandbox.url + "/hubspot")
    # when a first read-back asks for all of them
    found, mark = session.optouts_since(None)
    session.close()
    # then every one comes back once, by a second query past the 10,000th
    assert sorted(o.external_id for o in found) == sorted(made)
    searches = [n for _, p, n in sandbox.world.hubspot.log if p == SEARCH]
    assert len(searches) == 52  # 50 pages of 200, then 250 more past the last id: 2 pages
    assert mark < datetime.now(UTC)
