"""Magento's webhook subscriptions: none are made from here. Magento Open Source has no
outbound webhooks; Adobe Commerce's hooks are set up in the store (admin, webhooks.xml) with
the URL `stores set-magento-webhook-key` prints, so the state is always healthy and the
repair does nothing.
"""

from __future__ import annotations

from connector.config import Settings
from platforms.protocol import Credentials, SubscriptionState

SUBSCRIPTIONS: tuple[str, ...] = ()


def subscriptions(
    settings: Settings, credentials: Credentials, domain: str, address: str
) -> SubscriptionState:
    return SubscriptionState([], [], [])


def repair_subscriptions(
    settings: Settings, credentials: Credentials, domain: str, address: str, secret: str | None
) -> None:
    return None
