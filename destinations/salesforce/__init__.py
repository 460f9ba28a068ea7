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
PUSH_IN_FLIGHT = 5  # batches with Salesforce at once (each its own Bulk jobs; requests shorter than 20 s
# have no concurrency limit). Measured at 100,000 contacts (bench/RESULTS.md): 5 was faster than 10
# (the batches' CSV work shares one interpreter) and held 536 MB at its peak against 804 MB

__all__ = ["DEFAULT_MAPPING", "KIND", "OBJECTS", "PKCE", "authorization", "check", "open_session", "redeem"]


def open_session(
    credentials: Mapping[str, Any], base_url: str | None, pacing: Pacing | None = None
) -> SalesforceSession:
    return SalesforceSession(credentials, base_url, pacing)
