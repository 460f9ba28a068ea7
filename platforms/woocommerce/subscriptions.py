"""WooCommerce's webhooks (REST): the topics needed, which the site has at our address and
whether active, and the repair. WooCommerce disables a webhook after its 7th failed
delivery, silently; a disabled one is deleted and made again, with the store's secret.
"""

from __future__ import annotations

from connector.config import Settings
from platforms.protocol import Credentials, SubscriptionState
from platforms.woocommerce.client import WooClient, client_for

SUBSCRIPTIONS = tuple(
    f"{r}.{e}"
    for r in ("customer", "order", "product")
    for e in ("created", "updated", "deleted", "restored")
)


def subscriptions(
    settings: Settings, credentials: Credentials, domain: str, address: str
) -> SubscriptionState:
    return _state(client_for(domain, credentials), address)


def repair_subscriptions(
    settings: Settings, credentials: Credentials, domain: str, address: str, secret: str | None
) -> None:
    woo = client_for(domain, credentials)
    state = _state(woo, address)
    for hook in woo.get("webhooks", per_page=100):
        if hook["delivery_url"] == address and hook["topic"] in state.disabled:
            woo.delete(f"webhooks/{hook['id']}", force="true")
    for topic in state.missing + state.disabled:
        woo.post(
            "webhooks",
            {
                "name": f"crm-connector {topic}",
                "topic": topic,
                "delivery_url": address,
                "secret": secret,
                "status": "active",
            },
        )


def _state(woo: WooClient, address: str) -> SubscriptionState:
    hooks = [h for h in woo.get("webhooks", per_page=100) if h["delivery_url"] == address]
    status = {h["topic"]: h["status"] for h in hooks}
    return SubscriptionState(
        [t for t in SUBSCRIPTIONS if status.get(t) == "active"],
        [t for t in SUBSCRIPTIONS if t not in status],
        [t for t in SUBSCRIPTIONS if t in status and status[t] != "active"],
    )
