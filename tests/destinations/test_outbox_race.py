"""A write that overlaps a destination's adding is still marked for it, once (PostgreSQL, where
two transactions run at once): whichever of the two takes the account's row first, the other
waits, then sees what the first committed. SQLite runs one writer at a time, so there the race
cannot happen and these tests only check the same outcome in sequence."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, insert, select, text
from sqlalchemy.engine import Connection, Engine

from connector.accounts import destinations
from connector.crm import destination_outbox
from connector.db import get_engine, session
from connector.db.models import Contact
from connector.db.operations import DestinationMark
from sync import push_batch
from tests.builders import make_store
from tests.destinations.helpers import add_hubspot, push_until_done, sync_everything
from tests.rig import Rig

WAIT_S = 0.5  # long enough for a transaction that should block to reach its lock


def new_contact(conn: Connection, email: str) -> int:
    account = conn.execute(text("SELECT id FROM accounts")).scalar_one()
    row = {"account_id": account, "email": email, "email_normalized": email}
    return int(conn.execute(insert(Contact).values(row).returning(Contact.id)).scalar_one())


def add_destination(app: Flask) -> None:
    with session(app) as s, s.begin():
        destinations.add(
            s, app.extensions["crm.vault"], account="test", kind="hubspot", credentials={"token": "t"}
        )


def marks_of(engine: Engine, contact_id: int) -> int:
    with engine.connect() as conn:
        query = select(DestinationMark.id).where(
            DestinationMark.object == "contacts", DestinationMark.record_id == contact_id
        )
        return len(conn.execute(query).all())


def in_thread(work: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the test's thread
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


@pytest.fixture
def store_id(engine: Engine) -> int:
    with engine.begin() as conn:
        return make_store(conn)


def test_a_write_begun_while_a_destination_is_being_added_is_marked_for_it(
    app: Flask, engine: Engine, store_id: int
) -> None:
    # given a destination being added, its transaction not yet committed
    with session(app) as s, s.begin():
        destinations.add(
            s, app.extensions["crm.vault"], account="test", kind="hubspot", credentials={"token": "t"}
        )
        written: list[int] = []

        def write() -> None:  # when a write of a new contact marks what it wrote meanwhile
            with get_engine(app).begin() as conn:
                written.append(new_contact(conn, "new@example.com"))
                destination_outbox.mark_written(conn, store_id, set(written), set())

        thread, errors = in_thread(write)
        time.sleep(WAIT_S)
    # (the adding commits here)
    thread.join(30)
    # then the new contact is marked for the destination exactly once
    assert not errors and not thread.is_alive()
    assert marks_of(engine, written[0]) == 1


def test_a_destination_added_while_a_write_is_under_way_marks_what_it_wrote(
    app: Flask, engine: Engine, store_id: int
) -> None:
    # given a write of a new contact that has marked (for no destination yet) but not committed
    with get_engine(app).begin() as conn:
        contact = new_contact(conn, "new@example.com")
        destination_outbox.mark_written(conn, store_id, {contact}, set())
        # when a destination is added meanwhile
        thread, errors = in_thread(lambda: add_destination(app))
        time.sleep(WAIT_S)
    # (the write commits here)
    thread.join(30)
    # then the adding saw the committed contact and marked it, once
    assert not errors and not thread.is_alive()
    assert marks_of(engine, contact) == 1


def test_a_mark_committed_late_with_a_lower_id_outlives_the_batch_that_did_not_read_it(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a destination with its contacts marked, and a write whose mark for a contact of the
    # first batch gets a lower id than the batch's but commits only while the batch is with the
    # CRM (PostgreSQL hands ids out before commit)
    sync_everything(rig)
    dest = add_hubspot(rig)
    engine = get_engine(rig.app)
    with engine.connect() as conn:
        first, second = conn.execute(
            select(DestinationMark.id, DestinationMark.record_id)
            .where(DestinationMark.object == "contacts")
            .order_by(DestinationMark.id)
            .limit(2)
        ).all()
    with engine.begin() as conn:  # the late mark's id, freed below the batch's first
        conn.execute(delete(DestinationMark).where(DestinationMark.id == first.id))
    send = push_batch.Run._send
    late: list[int] = []

    def send_then_commit_late(run: push_batch.Run, obj: str, batch: push_batch.Batch, *known: Any) -> Any:
        if obj == "contacts" and not late:
            with engine.begin() as conn:
                row = {
                    "id": first.id,
                    "destination_id": dest,
                    "object": "contacts",
                    "record_id": second.record_id,
                }
                conn.execute(insert(DestinationMark).values(row))
            late.append(first.id)
        return send(run, obj, batch, *known)

    monkeypatch.setattr(push_batch.Run, "_send", send_then_commit_late)
    # when the push delivers the batch
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    # then the late mark is still there for the next push, which sends the record again
    with engine.connect() as conn:
        left = conn.execute(select(DestinationMark.id)).scalars().all()
    assert late and left == late
