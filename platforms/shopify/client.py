"""A Shopify Admin GraphQL client for one shop: one requests session, throttle-aware.

It reads the cost bucket each response reports and waits for the restore rate instead
of guessing; 429 and 5xx are retried with backoff; every other failure becomes the
error the caller should act on (connector.errors).
"""

from __future__ import annotations

import time
from typing import Any

import requests

from connector.errors import RetryLater, error_for_status

MAX_ATTEMPTS = 6


class ShopifyClient:
    def __init__(
        self,
        shop_url: str,
        token: str,
        api_version: str,
        session: requests.Session | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.endpoint = f"{shop_url.rstrip('/')}/admin/api/{api_version}/graphql.json"
        self.session = session or requests.Session()
        self.session.headers.update({"X-Shopify-Access-Token": token, "Content-Type": "application/json"})
        self.timeout = timeout
        self.available: float | None = None
        self.restore_rate: float | None = None

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = self.session.post(
                    self.endpoint, json={"query": query, "variables": variables or {}}, timeout=self.timeout
                )
            except requests.RequestException as exc:
                error: Exception = RetryLater("the shop could not be reached", detail=str(exc))
            else:
                if response.status_code == 200:
                    body: dict[str, Any] = response.json()
                    self._note_cost(body)
                    if not _throttled(body):
                        if body.get("errors") and body.get("data") is None:
                            raise error_for_status(400, detail=str(body["errors"])[:500])
                        return body
                    error = RetryLater(
                        "the shop's query cost bucket is empty", retry_after=self._refill_wait(body)
                    )
                else:
                    retry_after = float(response.headers.get("Retry-After") or 0) or None
                    error = error_for_status(response.status_code, response.text[:500], retry_after)
            if not isinstance(error, RetryLater) or attempt == MAX_ATTEMPTS:
                raise error
            time.sleep(error.retry_after if error.retry_after is not None else min(2**attempt * 0.25, 10))
        raise AssertionError("unreachable")

    def _note_cost(self, body: dict[str, Any]) -> None:
        status = ((body.get("extensions") or {}).get("cost") or {}).get("throttleStatus") or {}
        if status:
            self.available = float(status.get("currentlyAvailable", 0))
            self.restore_rate = float(status.get("restoreRate", 0)) or None

    def _refill_wait(self, body: dict[str, Any]) -> float:
        cost = (body.get("extensions") or {}).get("cost") or {}
        needed = float(cost.get("requestedQueryCost") or 0) - (self.available or 0)
        return max(needed, 0) / (self.restore_rate or 50.0) + 0.05


def _throttled(body: dict[str, Any]) -> bool:
    return any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in body.get("errors") or [])
