"""HubSpot as a destination: contacts, and orders as HubSpot's commerce `orders` object (the one
its own ecommerce integrations fill) with their lines as `line_items` associated with the order,
pushed with a private-app token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from destinations.hubspot.connect import PKCE, authorization, check, redeem
from destinations.hubspot.mapper import DEFAULT_MAPPING
from destinations.hubspot.writer import HubSpotSession
from destinations.pacing import Pacing

KIND = "hubspot"
OBJECTS: tuple[str, ...] = ("contacts", "orders")  # line items go with their orders
PUSH_BATCH = 500  # marks a push hands over at once: five batch upserts of 100
PUSH_IN_FLIGHT = {"contacts": 1, "orders": 1}  # its 100 calls per 10 s bind, not the answers' wait

__all__ = [
    "DEFAULT_MAPPING",
    "KIND",
    "OBJECTS",
    "PKCE",
    "PUSH_BATCH",
    "PUSH_IN_FLIGHT",
    "authorization",
    "check",
    "open_session",
    "redeem",
]


def open_session(
    credentials: Mapping[str, Any], base_url: str | None, pacing: Pacing | None = None
) -> HubSpotSession:
    return HubSpotSession(credentials, base_url, pacing)
