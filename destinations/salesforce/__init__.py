"""Salesforce as a destination: contacts as Contacts (each with its own Account, which an Order
needs), orders as Orders (the object Salesforce's own commerce products use for orders), both
upserted by the connector's external-id fields, signed in by a connected app's client credentials."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from destinations.pacing import Pacing
from destinations.salesforce.connect import PKCE, authorization, check, redeem
from destinations.salesforce.mapper import DEFAULT_MAPPING
from destinations.salesforce.writer import SalesforceSession

KIND = "salesforce"
OBJECTS: tuple[str, ...] = ("contacts", "orders")
PUSH_BATCH = 10_000  # marks a push hands over at once: from 2,000 records the client uses Bulk API 2.0
# batches with Salesforce at once (each its own Bulk jobs; requests shorter than 20 s have no
# concurrency limit). Contacts: 5, measured at 100,000 (bench/RESULTS.md) faster than 10 (the
# batches' CSV work shares one interpreter) and 536 MB at the peak against 804 MB; each person has
# an Account of their own, so no two batches touch one record. Orders: one at a time, since one
# person's orders in two jobs at once would lock their Account (UNABLE_TO_LOCK_ROW)
PUSH_IN_FLIGHT = {"contacts": 5, "orders": 1}

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
) -> SalesforceSession:
    return SalesforceSession(credentials, base_url, pacing)
