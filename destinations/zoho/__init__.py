"""Zoho CRM as a destination: an org in one data centre, reached through its accounts server with
a self-client's refresh token; contacts go to Contacts and orders to Sales_Orders (the module
Zoho's own commerce integrations fill), with their lines over Products, linked to their contact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from destinations.pacing import Pacing
from destinations.zoho.connect import PKCE, authorization, check, redeem
from destinations.zoho.mapper import DEFAULT_MAPPING
from destinations.zoho.writer import ZohoSession

KIND = "zoho"
OBJECTS: tuple[str, ...] = ("contacts", "orders")
PUSH_BATCH = 1000  # marks a push hands over at once: ten upserts of 100, sent in parallel
# batches with Zoho at once: the next one's calls wait in line for a lane while this one is
# settled, so the ten lanes stay busy
PUSH_IN_FLIGHT = {"contacts": 2, "orders": 2}

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
) -> ZohoSession:
    return ZohoSession(credentials, base_url, pacing)
