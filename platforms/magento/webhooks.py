"""Adobe Commerce webhook deliveries (the Webhooks module; Magento Open Source sends none):
a body `{"eventName", "data": {…}}` signed RSA-SHA256 with the store's private key, checked
with the public key the merchant pastes (`stores set-magento-webhook-key`). The topic is
the body's own `eventName`; the dedup key a digest of the body (no event id is sent).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from connector.errors import BadInput
from platforms.base import Batch, MapContext
from platforms.magento import mapper
from platforms.protocol import Headers, Mapper, WebhookFacts

# the hooks taken (webhook_method names, after-save observers) → the `data` key holding the
# entity, the model's own event key first, then the `data_object` every model save also carries
ENTITY_KEYS: dict[str, tuple[str, ...]] = {
    "observer.customer_save_after_data_object": ("customer_data_object", "customer"),
    "observer.sales_order_save_after": ("order", "data_object"),
    "observer.catalog_product_save_after": ("product", "data_object"),
}
MAX_KEY_BYTES = 16_384  # a PEM public key is well under 1 KB (RSA 4096: ~800 bytes)
MIN_KEY_BITS = 2048


def entity_of(topic: str, payload: Any) -> dict[str, Any] | None:
    """The record a delivery carries (`data.<key>`), or None when its body holds none."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        return None
    for key in ENTITY_KEYS.get(topic, ()):
        found = data.get(key)
        if isinstance(found, dict) and found:
            return _with_id(topic, found)
    return None


def _with_id(topic: str, entity: dict[str, Any]) -> dict[str, Any]:
    """A model's data names its key `entity_id`; REST names a customer's and a product's `id`."""
    if topic != "observer.sales_order_save_after" and entity.get("id") is None and "entity_id" in entity:
        return {**entity, "id": entity["entity_id"]}
    return entity


def _carried(rows: Mapper) -> Mapper:
    """A mapper of the REST shape applied to the entity the delivery's `data` carries."""

    def rows_of(payload: dict[str, Any], ctx: MapContext) -> Batch:
        entity = entity_of(str(payload.get("eventName")), payload)
        return rows(entity or {}, ctx)

    return rows_of


MAPPERS: dict[str, Mapper] = {
    "observer.customer_save_after_data_object": _carried(mapper.customer_rows),
    "observer.sales_order_save_after": _carried(mapper.order_rows),
    "observer.catalog_product_save_after": _carried(mapper.product_rows),
}
TOPICS: tuple[str, ...] = tuple(MAPPERS)


def public_key_pem(text: str | bytes) -> str:
    """The PEM public key as saved, checked: an RSA public key of at least 2048 bits.
    BadInput otherwise (a private key is refused too: it must never be pasted here)."""
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > MAX_KEY_BYTES:
        raise BadInput(f"the key file is larger than {MAX_KEY_BYTES} bytes; a public key is under 1 KB")
    if b"PRIVATE KEY" in raw:
        raise BadInput("this is a private key: paste the public key shown in the Commerce admin")
    try:
        key = serialization.load_pem_public_key(raw.strip())
    except (ValueError, TypeError):
        raise BadInput("not a PEM public key (-----BEGIN PUBLIC KEY----- …)") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadInput("not an RSA public key: Adobe Commerce signs its webhooks with RSA")
    if key.key_size < MIN_KEY_BITS:
        raise BadInput(f"an RSA key of {key.key_size} bits is too weak (at least {MIN_KEY_BITS})")
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode()


def signature_valid(body: bytes, signature: str | None, secrets: Sequence[str]) -> bool:
    """`secrets` holds the store's public key (PEM). Adobe's samples verify the base64 of the
    body as sent; the raw body is accepted too (both need the store's private key)."""
    if not signature or len(signature) > 2048:
        return False
    try:
        signed = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    for pem in (s for s in secrets if s):
        key = _public_key(pem)
        if key is not None and any(_verifies(key, signed, m) for m in (base64.b64encode(body), body)):
            return True
    return False


def _public_key(pem: str) -> rsa.RSAPublicKey | None:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):  # not a key (a random secret made before one was set)
        return None
    return key if isinstance(key, rsa.RSAPublicKey) else None


def _verifies(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def delivery_of(headers: Headers, body: bytes) -> WebhookFacts:
    """The topic is the signed body's `eventName` (no header names it); the store is known
        by its URL key. An event not taken is refused (400), so a misconfigured hook shows in the
    store's webhook log. No event id is sent, so a digest of the body is the dedup key."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"the body is not JSON ({exc})") from None
    topic = payload.get("eventName") if isinstance(payload, dict) else None
    if not isinstance(topic, str) or not topic:
        raise BadInput('the body has no "eventName"')
    if topic not in TOPICS:  # a hook set up for something else: said so, not silently dropped
        raise BadInput(f"event {topic[:100]!r} is not taken; taken: {', '.join(TOPICS)}")
    return WebhookFacts(topic, "", f"{topic}:{hashlib.sha256(body).hexdigest()[:48]}", None)
