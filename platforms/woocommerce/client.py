"""A WooCommerce REST v3 client for one site: the `woocommerce` library's per-store API
object (OAuth 1.0a over http, Basic over https), with failures mapped to actions."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from woocommerce import API

from connector.errors import RetryLater
from platforms.base import error_for_response, with_retries

MAX_ATTEMPTS = 5


class WooClient:
    def __init__(self, url: str, consumer_key: str, consumer_secret: str, timeout: float = 30.0) -> None:
        self.api = API(
            url=url,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            version="wc/v3",
            timeout=timeout,
        )

    def request(self, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
        return with_retries(lambda: self._attempt(method, endpoint, **kwargs), MAX_ATTEMPTS)

    def _attempt(self, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
        try:
            response: requests.Response = getattr(self.api, method)(endpoint, **kwargs)
        except requests.RequestException as exc:
            raise RetryLater("the store could not be reached", detail=str(exc)) from None
        if response.status_code >= 300:
            raise error_for_response(response)
        return response

    def get(self, endpoint: str, **params: Any) -> Any:
        return self.request("get", endpoint, params=params).json()

    def post(self, endpoint: str, data: dict[str, Any]) -> Any:
        return self.request("post", endpoint, data=data).json()

    def delete(self, endpoint: str, **params: Any) -> Any:
        return self.request("delete", endpoint, params=params).json()


def all_pages(
    client: WooClient, resource: str, params: dict[str, Any], *, concurrency: int = 4, per_page: int = 100
) -> Iterator[list[dict[str, Any]]]:
    """Every page of a list, in page order: the first page says how many there are
    (X-WP-TotalPages), the rest are fetched `concurrency` at a time (the per-store limit).
    Pages are offsets, so records changed meanwhile can shift; the caller orders by id (or
    a fixed `modified_before`) and reconciles, as the sync does."""
    first = client.request("get", resource, params={**params, "per_page": per_page, "page": 1})
    yield first.json()
    pages = int(first.headers.get("X-WP-TotalPages") or 1)
    if pages <= 1:
        return

    def fetch(page: int) -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = client.get(resource, **params, per_page=per_page, page=page)
        return body

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for start in range(2, pages + 1, concurrency):
            yield from pool.map(fetch, range(start, min(start + concurrency, pages + 1)))
