"""The dashboard's Destinations page: a signed-in merchant sees their destination's status and
counts and the records HubSpot refused (its reason escaped), retries one with the form's CSRF
token; another account's sign-in sees none of it."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from rq.job import JobStatus
from sqlalchemy import insert, select, update

from connector.db import get_engine
from connector.db.models import Account, Contact, Store
from connector.runtime.queue import get_queue
from connector.web.dashboard import create_user
from tests.destinations.helpers import add_hubspot, push_until_done, sync_everything
from tests.rig import Rig

PASSWORD = "correct horse battery"


def signed_in(rig: Rig, email: str) -> FlaskClient:
    client = rig.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    answer = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)})
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:300]
    return client


def test_the_page_shows_counts_and_refusals_and_retries_one(rig: Rig) -> None:
    # given a pushed destination with one contact HubSpot refused (an e-mail with markup in it)
    dest = add_hubspot(rig)
    sync_everything(rig)
    with get_engine(rig.app).begin() as conn:
        account = conn.execute(select(Store.account_id).where(Store.id == rig.shop.id)).scalar_one()
        bad = conn.execute(select(Contact.id).where(Contact.email.is_not(None)).limit(1)).scalar_one()
        conn.execute(update(Contact).where(Contact.id == bad).values(email="<b>x</b>"))
        create_user(conn, account, "owner@shop.example", PASSWORD)
        other = conn.execute(insert(Account).values(name="other").returning(Account.id)).scalar_one()
        create_user(conn, other, "someone@else.example", PASSWORD)
    push_until_done(rig.app, dest)
    # when the merchant opens the page
    client = signed_in(rig, "owner@shop.example")
    page = client.get("/destinations").get_data(as_text=True)
    # then it shows the destination, its counts, and HubSpot's reason, escaped
    assert "hubspot" in page and "active" in page
    assert "Email address &lt;b&gt;x&lt;/b&gt; is invalid" in page and "<b>x</b>" not in page
    letter = re.search(r"/destinations/letters/(\d+)/retry", page)
    assert letter is not None
    # and a retry without the CSRF token changes nothing, with it the record is marked again
    assert client.post(f"/destinations/letters/{letter.group(1)}/retry").status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    done = client.post(
        f"/destinations/letters/{letter.group(1)}/retry",
        data={"csrf_token": token.group(1)},
        follow_redirects=True,
    )
    assert "marked to be pushed again" in done.get_data(as_text=True)
    # and another account's sign-in sees no destination and no refusal
    elsewhere = signed_in(rig, "someone@else.example").get("/destinations").get_data(as_text=True)
    assert "No destinations yet." in elsewhere and "is invalid" not in elsewhere


def test_push_now_replaces_a_push_job_that_failed_instead_of_saying_one_waits(rig: Rig) -> None:
    # given a destination whose last push job failed (RQ keeps a failed job's id for a year)
    dest = add_hubspot(rig)
    with get_engine(rig.app).begin() as conn:
        account = conn.execute(select(Store.account_id).where(Store.id == rig.shop.id)).scalar_one()
        create_user(conn, account, "owner@shop.example", PASSWORD)
    job = get_queue("sync", rig.redis).enqueue("sync.push.push_job", args=(dest,), job_id=f"push-{dest}")
    job.set_status(JobStatus.FAILED)
    client = signed_in(rig, "owner@shop.example")
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/destinations").get_data(as_text=True)
    )
    assert token is not None
    # when the merchant asks for a push now, twice
    first, second = (
        client.post(
            f"/destinations/{dest}/push", data={"csrf_token": token.group(1)}, follow_redirects=True
        ).get_data(as_text=True)
        for _ in range(2)
    )
    # then the first queues a new push, and the second sees that one waiting
    assert f"Destination {dest}: push queued." in first
    assert f"Destination {dest}: a push is already waiting." in second
