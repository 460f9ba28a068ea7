"""A WooCommerce REST v3 client for one site: the `woocommerce` library's per-store API
object (OAuth 1.0a over http, Basic over https), with failures mapped to actions."""

from __future__ import annotations

import time
from typing import Any

import requests
from woocommerce import API

from connector.errors import RetryLater, error_for_status

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
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response: requests.Response = getattr(self.api, method)(endpoint, **kwargs)
            except requests.RequestException as exc:
                error: Exception = RetryLater("the store could not be reached", detail=str(exc))
            else:
                if response.status_code < 300:
                    return response
                retry_after = float(response.headers.get("Retry-After") or 0) or None
                error = error_for_status(response.status_code, response.text[:500], retry_after)
            if not isinstance(error, RetryLater) or attempt == MAX_ATTEMPTS:
                raise error
            time.sleep(error.retry_after if error.retry_after is not None else min(2**attempt * 0.25, 10))
        raise AssertionError("unreachable")

    def get(self, endpoint: str, **params: Any) -> Any:
        return self.request("get", endpoint, params=params).json()

    def post(self, endpoint: str, data: dict[str, Any]) -> Any:
        return self.request("post", endpoint, data=data).json()

    def delete(self, endpoint: str, **params: Any) -> Any:
        return self.request("delete", endpoint, params=params).json()
