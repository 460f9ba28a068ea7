"""A Shopify Admin GraphQL client for one shop: one requests session, throttle-aware.

It reads the cost bucket each response reports and, before a query whose cost it has
seen, waits for the bucket to refill at the reported rate instead of guessing; 429 and
5xx are retried with backoff; every other failure becomes the error the caller should
act on (connector.errors).
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import requests

from connector.config import Settings
from connector.errors import FailPermanently, RetryLater, error_for_status
from platforms.base import error_for_response, with_retries
from platforms.protocol import StoreProfile
from platforms.reach import why_unreachable

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
        self.api_version = api_version
        self.endpoint = f"{shop_url.rstrip('/')}/admin/api/{api_version}/graphql.json"
        self.session = session or requests.Session()
        self.session.headers.update({"X-Shopify-Access-Token": token, "Content-Type": "application/json"})
        self.timeout = timeout
        self.available: float | None = None
        self.maximum: float | None = None
        self.restore_rate: float | None = None
        self.noted_at = 0.0
        self.costs: dict[str, float] = {}  # query text → the cost Shopify requested for it last time
        self.spent = 0.0  # points actually charged so far (what the restore rate had to refill)

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, attempts: int = MAX_ATTEMPTS
    ) -> dict[str, Any]:
        return with_retries(lambda: self._attempt(query, variables), attempts)

    def _attempt(self, query: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        self._wait_for_bucket(self.costs.get(query))
        try:
            response = self.session.post(
                self.endpoint, json={"query": query, "variables": variables or {}}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise RetryLater(
                f"the shop could not be reached: {why_unreachable(exc)}", detail=str(exc)
            ) from None
        if response.status_code == 404:  # the endpoint itself: no shop at this address
            raise FailPermanently(
                "the shop answered 404: there is no shop at this address (renamed or closed?)"
            )
        if response.status_code != 200:
            raise error_for_response(response)
        body: dict[str, Any] = orjson.loads(response.content)
        self._note_cost(body)
        cost = (body.get("extensions") or {}).get("cost") or {}
        if cost.get("requestedQueryCost") is not None:
            self.costs[query] = float(cost["requestedQueryCost"])
        self.spent += float(cost.get("actualQueryCost") or 0)
        if _throttled(body):
            raise RetryLater("the shop's query cost bucket is empty", retry_after=self._refill_wait(body))
        if body.get("errors") and body.get("data") is None:
            raise error_for_status(400, detail=str(body["errors"])[:500])
        return body

    def _note_cost(self, body: dict[str, Any]) -> None:
        status = ((body.get("extensions") or {}).get("cost") or {}).get("throttleStatus") or {}
        if status:
            self.available = float(status.get("currentlyAvailable", 0))
            self.maximum = float(status.get("maximumAvailable", 0)) or None
            self.restore_rate = float(status.get("restoreRate", 0)) or None
            self.noted_at = time.monotonic()

    def _wait_for_bucket(self, cost: float | None) -> None:
        """Before a query whose cost we have seen: if the bucket, as last reported and refilled
        since at the reported rate, is short of it, wait until it is not (no THROTTLED round trip)."""
        if cost is None or self.available is None or not self.restore_rate:
            return
        now_available = self.available + (time.monotonic() - self.noted_at) * self.restore_rate
        if self.maximum:
            now_available = min(now_available, self.maximum)
        if now_available < cost:
            time.sleep((cost - now_available) / self.restore_rate + 0.01)

    def _refill_wait(self, body: dict[str, Any]) -> float:
        cost = (body.get("extensions") or {}).get("cost") or {}
        needed = float(cost.get("requestedQueryCost") or 0) - (self.available or 0)
        return max(needed, 0) / (self.restore_rate or 50.0) + 0.05


def _throttled(body: dict[str, Any]) -> bool:
    return any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in body.get("errors") or [])


def client_for(settings: Settings, credentials: dict[str, Any], shop: str) -> ShopifyClient:
    """The client for one installed shop, from the app's settings and its sealed credentials."""
    url = settings.shopify_shop_url_template.format(shop=shop)
    return ShopifyClient(url, credentials.get("access_token", ""), settings.shopify_api_version)


NODE_QUERY = "query Exists($id: ID!) { node(id: $id) { id } }"
SHOP_QUERY = "query Shop { shop { id } }"


def record_exists(client: ShopifyClient, kind: str, record_id: int) -> bool:
    """Whether the shop still has this record (`kind`: Customer, Order, Product). One try:
    raises RetryLater while the shop cannot be reached, Reauthorize if it refuses the token."""
    body = client.graphql(NODE_QUERY, {"id": f"gid://shopify/{kind}/{record_id}"}, attempts=1)
    return (body.get("data") or {}).get("node") is not None


def token_revoked(client: ShopifyClient) -> bool:
    """Whether the shop answers 401 to the app's token (the app really was uninstalled).
    Raises RetryLater while the shop cannot be reached or answers a server error."""
    try:
        response = client.session.post(client.endpoint, json={"query": SHOP_QUERY}, timeout=client.timeout)
    except requests.RequestException as exc:
        raise RetryLater("the shop could not be reached", detail=str(exc)) from None
    if response.status_code == 401:
        return True
    if response.status_code == 429 or response.status_code >= 500:
        raise error_for_response(response)
    return False


SHOP_PROFILE = "name,iana_timezone,primary_locale,currency"  # the REST shop: GraphQL's Shop has no locale


def profile(settings: Settings, credentials: dict[str, Any], domain: str) -> StoreProfile:
    """The shop's name, primary locale, IANA time zone and currency (REST `shop.json`, one request).
    Raises RetryLater while the shop cannot be reached, Reauthorize if it refuses the token."""
    client = client_for(settings, credentials, domain)
    url = client.endpoint.removesuffix("graphql.json") + "shop.json"
    try:
        response = client.session.get(url, params={"fields": SHOP_PROFILE}, timeout=client.timeout)
    except requests.RequestException as exc:
        raise RetryLater("the shop could not be reached", detail=str(exc)) from None
    if response.status_code != 200:
        raise error_for_response(response)
    shop = (orjson.loads(response.content) or {}).get("shop") or {}
    return StoreProfile(
        _text(shop.get("name")),
        _text(shop.get("primary_locale")),
        _text(shop.get("iana_timezone")),
        _text(shop.get("currency")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
