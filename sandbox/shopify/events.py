"""Shopify webhook deliveries from the sandbox: REST-shaped JSON, every header, a base64
HMAC-SHA256 of the raw body with the app secret, and retries on failure.

A failed delivery is retried 8 times with exponential backoff over 4 hours (the schedule
compressed by `retry_scale`), with the original payload and the same X-Shopify-Webhook-Id;
after 8 consecutive failures an Admin-API subscription is deleted. App-level (TOML)
subscriptions and the compliance address are never deleted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sandbox.deliveries import Delivery
from sandbox.shopify import shapes as s
from sandbox.world import Shop, ShopifySubscription, World

API_VERSION = "2026-07"
RETRIES = 8
RETRY_WINDOW_S = 4 * 3600
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")


def retry_delay(world: World, attempt: int) -> float:
    """Delay before retry number `attempt` (1-based): base·2^(attempt-1), summing to 4 h."""
    base = RETRY_WINDOW_S / (2**RETRIES - 1)
    return base * 2 ** (attempt - 1) * world.retry_scale


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


SHOP_REDACT_AFTER_S = 48 * 3600


def fire(
    world: World,
    shop: Shop,
    topic: str,
    payload: dict[str, Any],
    delay_s: float = 0.0,
    at: datetime | None = None,
) -> int:
    """Deliver `topic` to every subscriber: Admin-API subscriptions, then app-level ones."""
    targets: list[tuple[ShopifySubscription | None, str]] = []
    if topic in COMPLIANCE_TOPICS:
        if world.compliance_uri:
            targets.append((None, world.compliance_uri))
    else:
        targets += [(sub, sub.uri) for sub in list(shop.subscriptions.values()) if sub.topic == topic]
        targets += [(None, uri) for t, uri in world.app_subscriptions if t == topic]
    if not targets:
        return 0
    body = json.dumps(payload, separators=(",", ":")).encode()
    event_id = str(uuid.uuid4())
    triggered = (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    for sub, uri in targets:
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": shop.domain,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": event_id,
            "X-Shopify-Triggered-At": triggered,
            "X-Shopify-Hmac-Sha256": sign(world.api_secret, body),
            "User-Agent": "Shopify-Captain-Hook",
        }
        world.dispatcher.submit(Delivery(uri, headers, body, on_result=_on_result(world, shop, sub)), delay_s)
    return len(targets)


def _on_result(world: World, shop: Shop, sub: ShopifySubscription | None) -> Any:
    def handle(delivery: Delivery, status: int | None) -> float | None:
        ok = status is not None and 200 <= status < 300  # 3xx counts as a failure
        if sub is not None:
            sub.consecutive_failures = 0 if ok else sub.consecutive_failures + 1
            if sub.consecutive_failures >= RETRIES and sub.id in shop.subscriptions:
                del shop.subscriptions[sub.id]
        if ok or delivery.attempt > RETRIES:
            return None
        return retry_delay(world, delivery.attempt)

    return handle


def deleted_payload(entity: str, rec_id: int) -> dict[str, Any]:
    if entity == "customers":
        return {"id": rec_id, "tax_exemptions": [], "admin_graphql_api_id": s.gid("Customer", rec_id)}
    return {"id": rec_id}


def shop_payload(shop: Shop) -> dict[str, Any]:
    """The shop object app/uninstalled carries (UNVERIFIED in platform-facts; the sample's keys)."""
    name = shop.domain.split(".")[0]
    now = datetime.now(UTC).astimezone(s.SHOP_TZ).isoformat()
    return {
        "id": 548380009 + shop.store.number,
        "name": name.replace("-", " ").title(),
        "email": f"owner@{name}.example",
        "domain": None,
        "province": "Kentucky",
        "country": "US",
        "address1": "1 Main Street",
        "zip": "40202",
        "city": "Louisville",
        "source": None,
        "phone": None,
        "latitude": None,
        "longitude": None,
        "primary_locale": "en",
        "address2": None,
        "created_at": now,
        "updated_at": now,
        "country_code": "US",
        "country_name": "United States",
        "currency": shop.store.dataset.currency,
        "customer_email": None,
        "timezone": "(GMT-05:00) Eastern Time (US & Canada)",
        "iana_timezone": "America/New_York",
        "shop_owner": "Sandbox Owner",
        "money_format": "${{amount}}",
        "money_with_currency_format": "${{amount}} USD",
        "weight_unit": "kg",
        "province_code": "KY",
        "taxes_included": False,
        "auto_configure_tax_inclusivity": None,
        "tax_shipping": None,
        "county_taxes": True,
        "plan_display_name": shop.plan.title(),
        "plan_name": shop.plan,
        "has_discounts": False,
        "has_gift_cards": False,
        "myshopify_domain": shop.domain,
        "google_apps_domain": None,
        "google_apps_login_enabled": None,
        "money_in_emails_format": "${{amount}}",
        "money_with_currency_in_emails_format": "${{amount}} USD",
        "eligible_for_payments": True,
        "requires_extra_payments_agreement": False,
        "password_enabled": False,
        "has_storefront": True,
        "finances": True,
        "primary_location_id": s.child_id(shop.store, "location", 0, 0),
        "checkout_api_supported": True,
        "multi_location_enabled": True,
        "setup_required": False,
        "pre_launch_enabled": False,
        "enabled_presentment_currencies": [shop.store.dataset.currency],
        "marketing_sms_consent_enabled_at_checkout": False,
        "transactional_sms_disabled": False,
    }


def shop_id(shop: Shop) -> int:
    return 548380009 + shop.store.number
