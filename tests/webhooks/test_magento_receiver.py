"""Adobe Commerce deliveries through the shared receiver, on the real database and Redis: a
store with its webhook public key set takes a signed customer, order or product save, stores
it before answering `{"op": "success"}`, answers a replay the same and stores it once; a
bad signature, another store's key, a tampered or huge body, a body that is not JSON, an
event not taken, and a store with no key yet are refused and store nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from connector.accounts.stores import account_named, connect_store
from connector.db import session
from connector.db.models import Customer, Order, Product
from connector.db.operations import WebhookInbox
from platforms.magento.webhooks import public_key_pem
from tests.webhooks.conftest import count, work

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "magento"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ORDER = "observer.sales_order_save_after"


def pem(key: rsa.RSAPrivateKey) -> str:
    raw = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return raw.decode()


def store_key(app: Flask, *, with_key: bool = True) -> str:
    """A Magento store in the test account, its webhook public key set as the command sets it."""
    vault = app.extensions["crm.vault"]
    with session(app) as s, s.begin():
        store = connect_store(
            s,
            vault,
            account=account_named(s, "test"),
            platform="magento",
            domain="https://magento.example",
            credentials={"access_token": "t" * 32},
        )
        if with_key:
            store.webhook_secret = vault.seal({"secret": public_key_pem(pem(KEY))})
        return str(store.store_key)


def body_of(topic: str, key: str, fixture: str) -> bytes:
    record = json.loads((FIXTURES / fixture).read_text())
    return json.dumps({"eventName": topic, "data": {key: record}}, separators=(",", ":")).encode()


def post(
    app: Flask, key: str, body: bytes, *, signer: rsa.RSAPrivateKey | None = KEY, **extra: str
) -> TestResponse:
    headers = {"Content-Type": "application/json", **extra}
    if signer is not None:
        signed = signer.sign(base64.b64encode(body), padding.PKCS1v15(), hashes.SHA256())
        headers["x-adobe-commerce-webhook-signature"] = base64.b64encode(signed).decode()
    return app.test_client().post(f"/webhooks/magento/{key}", data=body, headers=headers)


def reply(response: TestResponse) -> Any:
    return response.json


def test_saves_are_stored_answered_as_commerce_expects_and_land(
    hook_app: Flask, redis_conn: redis.Redis
) -> None:
    key = store_key(hook_app)
    # given a signed save of each kind
    bodies = [
        body_of("observer.customer_save_after_data_object", "customer_data_object", "customer.json"),
        body_of(ORDER, "order", "order.json"),
        body_of("observer.catalog_product_save_after", "product", "product_simple.json"),
    ]
    for body in bodies:
        answer = post(hook_app, key, body)
        # then each is stored before the answer, which says success as Commerce reads it
        assert answer.status_code == 200, answer.text
        assert reply(answer)["op"] == "success" and reply(answer)["message"] == "accepted"
    assert count(hook_app, WebhookInbox) == 3
    # and, processed, the records land through the same upsert path as the re-sync's
    work(hook_app, redis_conn)
    with hook_app.extensions["crm.engine"].connect() as conn:
        assert conn.execute(select(Customer.email, Customer.first_name)).all() == [
            ("jdoe@example.com", "Jane")
        ]
        assert conn.execute(select(Order.platform_id, Order.total_price)).one()[0] == 3
        assert (
            conn.execute(select(Product.platform_id)).scalar_one()
            == json.loads((FIXTURES / "product_simple.json").read_text())["id"]
        )


def test_a_replayed_delivery_is_stored_once(hook_app: Flask, redis_conn: redis.Redis) -> None:
    key = store_key(hook_app)
    body = body_of(ORDER, "order", "order.json")
    first, again = post(hook_app, key, body), post(hook_app, key, body)
    assert reply(first)["message"] == "accepted"
    assert again.status_code == 200 and reply(again)["op"] == "success"
    assert reply(again)["message"].startswith("duplicate")
    assert count(hook_app, WebhookInbox) == 1


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("unsigned", 401),
        ("another store's key", 401),
        ("tampered", 401),
        ("not json", 400),
        ("no eventName", 400),
        ("an event not taken", 400),
        ("huge", 413),
    ],
)
def test_refused_deliveries_store_nothing(hook_app: Flask, case: str, status: int) -> None:
    key = store_key(hook_app)
    body = body_of(ORDER, "order", "order.json")
    if case == "unsigned":
        answer = post(hook_app, key, body, signer=None)
    elif case == "another store's key":
        answer = post(hook_app, key, body, signer=OTHER)
    elif case == "tampered":
        good = base64.b64encode(
            KEY.sign(base64.b64encode(body), padding.PKCS1v15(), hashes.SHA256())
        ).decode()
        forged = body.replace(b'"grand_total":165', b'"grand_total":1')
        assert forged != body
        answer = post(hook_app, key, forged, signer=None, **{"x-adobe-commerce-webhook-signature": good})
    elif case == "not json":
        answer = post(hook_app, key, b"<xml>not json</xml>")
    elif case == "no eventName":
        answer = post(hook_app, key, b'{"data": {"order": {"entity_id": 3}}}')
    elif case == "an event not taken":
        answer = post(hook_app, key, b'{"eventName": "plugin.magento.checkout.api.payment", "data": {}}')
    else:
        answer = post(hook_app, key, b'{"eventName": "x", "pad": "' + b"x" * (3 * 1024 * 1024) + b'"}')
    assert answer.status_code == status, answer.text
    assert "op" not in (reply(answer) or {})  # only a stored delivery says success
    assert count(hook_app, WebhookInbox) == 0


def test_a_store_with_no_key_yet_takes_nothing(hook_app: Flask) -> None:
    key = store_key(hook_app, with_key=False)
    answer = post(hook_app, key, body_of(ORDER, "order", "order.json"))
    assert answer.status_code == 401
    assert post(hook_app, "no-such-store", b"{}").status_code == 404
    assert count(hook_app, WebhookInbox) == 0
