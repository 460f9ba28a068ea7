"""Adobe Commerce webhook deliveries, platform side: the RSA-SHA256 signature as Adobe's
samples verify it (over the base64 of the body), the public key a merchant pastes, the topic
and dedup key from the body, the checks before a delivery acts, and the rows its record maps
to (the published REST fixtures, carried under `data` as the webhook sends them)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from werkzeug.datastructures import Headers

from connector.errors import BadInput
from platforms.base import MapContext
from platforms.magento import verify, webhooks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "magento"
CTX = MapContext(country="US", received_at=datetime(2026, 12, 1, tzinfo=UTC))
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ORDER = "observer.sales_order_save_after"
CUSTOMER = "observer.customer_save_after_data_object"
PRODUCT = "observer.catalog_product_save_after"


def pem(key: Any, private: bool = False) -> str:
    if private:
        raw = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    else:
        raw = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return str(raw.decode())


def sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def body_of(topic: str, key: str, fixture: str) -> bytes:
    record = json.loads((FIXTURES / fixture).read_text())
    return json.dumps({"eventName": topic, "data": {key: record}}).encode()


ORDER_BODY = body_of(ORDER, "order", "order.json")


def test_a_body_signed_as_adobes_samples_verify_it_is_valid() -> None:
    # given a delivery signed RSA-SHA256 over the base64 of its body (Adobe's samples)
    signature = sign(KEY, base64.b64encode(ORDER_BODY))
    # then the store's public key verifies it; the raw body signed is taken too
    assert webhooks.signature_valid(ORDER_BODY, signature, [pem(KEY)])
    assert webhooks.signature_valid(ORDER_BODY, sign(KEY, ORDER_BODY), [pem(KEY)])


def test_another_key_a_tampered_body_or_a_bad_header_is_invalid() -> None:
    signature = sign(KEY, base64.b64encode(ORDER_BODY))
    tampered = ORDER_BODY.replace(b'"grand_total": 165', b'"grand_total": 1')
    assert tampered != ORDER_BODY
    assert not webhooks.signature_valid(ORDER_BODY, signature, [pem(OTHER)])  # another store's key
    assert not webhooks.signature_valid(tampered, signature, [pem(KEY)])
    assert not webhooks.signature_valid(ORDER_BODY, sign(OTHER, base64.b64encode(ORDER_BODY)), [pem(KEY)])
    for header in (None, "", "not base64!", signature[:-8], "A" * 5000):
        assert not webhooks.signature_valid(ORDER_BODY, header, [pem(KEY)])
    # no key set yet, or a random secret made before one was: nothing verifies
    assert not webhooks.signature_valid(ORDER_BODY, signature, [])
    assert not webhooks.signature_valid(ORDER_BODY, signature, ["a-random-secret"])


def test_the_public_key_is_checked_before_it_is_kept() -> None:
    assert webhooks.public_key_pem("\n" + pem(KEY) + "\n") == pem(KEY)
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    refused = {
        "not a key": "not a PEM public key",
        pem(KEY, private=True): "this is a private key",
        pem(small): "too weak",
        pem(ec.generate_private_key(ec.SECP256R1())): "not an RSA public key",
        pem(KEY).replace("A", "B", 3): "not a PEM public key",
        "x" * 20_000: "larger than",
    }
    for text, reason in refused.items():
        with pytest.raises(BadInput, match=reason):
            webhooks.public_key_pem(text)


def test_the_topic_is_the_bodys_event_name_and_the_dedup_key_its_digest() -> None:
    facts = webhooks.delivery_of(Headers(), ORDER_BODY)
    assert facts.topic == ORDER and facts.domain == ""
    assert facts.dedup_key == webhooks.delivery_of(Headers(), ORDER_BODY).dedup_key  # a replay: one key
    changed = body_of(ORDER, "order", "order.json").replace(b"22:22:20", b"22:22:21")
    assert webhooks.delivery_of(Headers(), changed).dedup_key != facts.dedup_key
    assert len(facts.dedup_key) <= 255


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", 'no "eventName"'),
        (b'{"data": {}}', 'no "eventName"'),
        (b'{"eventName": "observer.checkout_cart_product_add_before", "data": {}}', "is not taken"),
    ],
)
def test_a_body_that_is_not_a_taken_event_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(BadInput, match=reason):
        webhooks.delivery_of(Headers(), body)


def test_a_body_must_carry_the_record_its_event_names() -> None:
    order = json.loads(ORDER_BODY)
    assert verify.refusal(ORDER, order, "") is None
    assert "eventName" in str(verify.refusal(CUSTOMER, order, ""))  # stored under another topic
    assert "carries no" in str(verify.refusal(ORDER, {"eventName": ORDER, "data": {"product": {}}}, ""))
    no_id = {"eventName": ORDER, "data": {"order": {"increment_id": "1"}}}
    assert "entity_id" in str(verify.refusal(ORDER, no_id, ""))
    assert verify.refusal(ORDER, "text", "") is not None


def test_each_event_maps_its_record_as_the_rest_reader_does() -> None:
    # an order: its REST shape, without the reader's attachments (kept as held)
    batch = webhooks.MAPPERS[ORDER](json.loads(ORDER_BODY), CTX)
    (order,) = batch.rows["orders"]
    assert order["platform_id"] == 3 and order["email"] == "jdoe@example.com"
    assert batch.rows["order_line_items"]
    assert {"fulfillments", "refunds"} <= batch.unpruned
    # a customer, under the data object's key
    (customer,) = webhooks.MAPPERS[CUSTOMER](
        json.loads(body_of(CUSTOMER, "customer_data_object", "customer.json")), CTX
    ).rows["customers"]
    assert customer["platform_id"] == 2 and customer["first_name"] == "Jane"
    # a product as a model's data names its key (entity_id), under data_object
    product = json.loads((FIXTURES / "product_simple.json").read_text())
    product["entity_id"] = product.pop("id")
    rows = webhooks.MAPPERS[PRODUCT]({"eventName": PRODUCT, "data": {"data_object": product}}, CTX)
    assert rows.rows["products"][0]["platform_id"] == product["entity_id"]
