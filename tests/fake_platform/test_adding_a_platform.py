"""Adding a platform is one folder plus one registry line: the fake platform beside this
file, registered here only, is synced by the real engine through a worker, receives a
signed webhook at the real receiver URL, and shows in `stores list --json`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import orjson
import pytest
import redis
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

import platforms
from connector.accounts.stores import account_named, connect_store
from connector.db import session
from connector.db.models import Customer
from connector.db.operations import WebhookInbox
from connector.runtime.queue import make_worker
from sync.engine import entities_of_store
from sync.jobs import request_sync
from tests import fake_platform

DOMAIN = "fake-store.example"
PEOPLE = [
    {
        "id": 1,
        "email": "ada@fake.example",
        "name": "Ada",
        "created": "2024-01-01T00:00:00Z",
        "updated": "2024-01-02T00:00:00Z",
    },
    {
        "id": 2,
        "email": "bo@fake.example",
        "name": "Bo",
        "created": "2024-01-01T00:00:00Z",
        "updated": "2024-01-03T00:00:00Z",
    },
]


@pytest.fixture
def fake_store(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The fake platform registered (for this test only), with one store connected."""
    monkeypatch.setitem(platforms.PLATFORMS, "fake", "tests.fake_platform")
    monkeypatch.setitem(fake_platform.WORLD, DOMAIN, [dict(p) for p in PEOPLE])
    with session(app) as s, s.begin():
        store = connect_store(
            s,
            app.extensions["crm.vault"],
            account=account_named(s, "fakes"),
            platform="fake",
            domain=DOMAIN,
            credentials={"token": "anything"},
        )
        s.flush()
        store_id = store.id
    yield store_id


def names_of(app: Flask, store_id: int) -> dict[int, str | None]:
    with session(app) as s:
        rows = s.execute(
            select(Customer.platform_id, Customer.first_name).where(Customer.store_id == store_id)
        )
        return {int(r.platform_id): r.first_name for r in rows}


def test_a_registered_platform_is_synced_by_a_worker(
    app: Flask, redis_conn: redis.Redis, fake_store: int
) -> None:
    # given the fake store's two customers; when each entity is requested and a worker drains the queue
    for entity in entities_of_store(app, fake_store):
        assert request_sync(app, fake_store, entity) is not None
    make_worker(redis_conn, ("sync",), simple=True).work(burst=True)
    # then both are in the CRM store
    assert names_of(app, fake_store) == {1: "Ada", 2: "Bo"}


def test_a_registered_platform_receives_a_signed_webhook(
    app: Flask, redis_conn: redis.Redis, fake_store: int
) -> None:
    body = orjson.dumps({**PEOPLE[0], "name": "Ada L.", "updated": "2024-02-01T00:00:00Z"})
    headers = {"X-Fake-Topic": "customer/saved", "X-Fake-Store": DOMAIN, "X-Fake-Id": "d-1"}
    client = app.test_client()
    # a forged signature is refused and nothing is stored
    forged = client.post("/webhooks/fake", data=body, headers={**headers, "X-Fake-Signature": "0" * 64})
    assert forged.status_code == 401
    # when the delivery is signed with the platform's secret, it is accepted and a worker applies it
    signed = {**headers, "X-Fake-Signature": fake_platform.signature(body)}
    answer = client.post("/webhooks/fake", data=body, headers=signed, content_type="application/json")
    assert answer.status_code == 200, answer.get_json()
    make_worker(redis_conn, ("webhooks",), simple=True).work(burst=True)
    # then the customer is written, and the delivery is done
    assert names_of(app, fake_store) == {1: "Ada L."}
    with session(app) as s:
        assert s.scalars(select(WebhookInbox.status).where(WebhookInbox.store_id == fake_store)).all() == [
            "done"
        ]


def test_a_registered_platform_shows_in_stores_list(
    app: Flask, app_env: dict[str, str], fake_store: int
) -> None:
    from connector.cli import cli

    listed = CliRunner(env=app_env).invoke(cli, ["stores", "list", "--json"], catch_exceptions=False)
    assert listed.exit_code == 0, listed.output
    assert [(s["platform"], s["domain"]) for s in json.loads(listed.output)] == [("fake", DOMAIN)]


def test_a_platform_lacking_members_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(platforms.PLATFORMS, "broken", "tests.builders")
    with pytest.raises(TypeError, match=r"lacks .*NAME"):
        platforms.get("broken")
