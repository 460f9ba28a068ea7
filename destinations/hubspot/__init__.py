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

__all__ = ["DEFAULT_MAPPING", "KIND", "OBJECTS", "PKCE", "authorization", "check", "open_session", "redeem"]


def open_session(
    credentials: Mapping[str, Any], base_url: str | None, pacing: Pacing | None = None
) -> HubSpotSession:
    return HubSpotSession(credentials, base_url, pacing)
