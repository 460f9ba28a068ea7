"""A WooCommerce REST v3 client for one site: the `woocommerce` library's per-store API
object (OAuth 1.0a over http, Basic over https), with failures mapped to actions."""

from __future__ import annotations

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
