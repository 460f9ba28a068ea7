"""A WooCommerce REST v3 client for one site: the `woocommerce` library's per-store API
object (OAuth 1.0a over http, Basic over https), with failures mapped to actions."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import orjson
import requests
from woocommerce import API
from woocommerce.oauth import OAuth

from connector.errors import FailPermanently, RetryLater, SkipRecord
from platforms.base import error_for_response, with_retries
from platforms.protocol import StoreProfile
from platforms.reach import why_unreachable

MAX_ATTEMPTS = 5


class _OAuth(OAuth):
    @staticmethod
    def generate_nonce() -> str:
        """A nonce from the system's CSPRNG. The library's is eight digits from the `random`
        module, which anything may seed (Hypothesis does, per example): the site refuses a
        nonce it has seen in the last 15 minutes, so repeats fail as rejected credentials."""
        return secrets.token_hex(20)


class _API(API):
    def _API__get_oauth_url(self, url: str, method: str, **kwargs: Any) -> str:  # the library's private hook
        at = kwargs.get("oauth_timestamp", int(time.time()))
        oauth = _OAuth(
            url=url,
            consumer_key=self.consumer_key,
            consumer_secret=self.consumer_secret,
            version=self.version,
            method=method,
            oauth_timestamp=at,
        )
        signed: str = oauth.get_oauth_url()
        return signed


class WooClient:
    def __init__(
        self, url: str, consumer_key: str, consumer_secret: str, timeout: float = 30.0, concurrency: int = 4
    ) -> None:
        self.slots = threading.BoundedSemaphore(concurrency)  # requests in flight to this site, at most
        self.api = _API(
            url=url,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            version="wc/v3",
            timeout=timeout,
        )

    def request(
        self, method: str, endpoint: str, *, attempts: int = MAX_ATTEMPTS, **kwargs: Any
    ) -> requests.Response:
        return with_retries(lambda: self._attempt(method, endpoint, **kwargs), attempts)

    def _attempt(self, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
        try:
            with self.slots:
                response: requests.Response = getattr(self.api, method)(endpoint, **kwargs)
        except requests.RequestException as exc:
            raise RetryLater(
                f"the store could not be reached: {why_unreachable(exc)}", detail=str(exc)
            ) from None
        if response.status_code == 404 and "/" not in endpoint.strip("/"):  # a list, not a record
            raise FailPermanently(
                f"the site answered 404 for {endpoint}: WooCommerce's REST API is not at this URL "
                "(moved, or the plugin is off); reconnect the store with its right URL",
                detail=response.text[:500],
            )
        if response.status_code >= 300:
            raise error_for_response(response)
        return response

    def get(self, endpoint: str, **params: Any) -> Any:
        return orjson.loads(self.request("get", endpoint, params=params).content)

    def post(self, endpoint: str, data: dict[str, Any]) -> Any:
        return self.request("post", endpoint, data=data).json()

    def delete(self, endpoint: str, **params: Any) -> Any:
        return self.request("delete", endpoint, params=params).json()


def all_pages(
    client: WooClient,
    resource: str,
    params: dict[str, Any],
    *,
    concurrency: int = 4,
    per_page: int = 100,
    start_page: int = 1,
) -> Iterator[list[dict[str, Any]]]:
    """Every page of a list from `start_page` on, in page order: the first fetched page says
    how many there are (X-WP-TotalPages), the rest are fetched `concurrency` at a time (the
    per-store limit). Pages are offsets, so records changed meanwhile can shift; the caller
    orders by id under a fixed `modified_before` and reconciles ids, as the sync does."""
    for _page, records in numbered_pages(
        client, resource, params, concurrency=concurrency, per_page=per_page, start_page=start_page
    ):
        yield records


def numbered_pages(
    client: WooClient,
    resource: str,
    params: dict[str, Any],
    *,
    concurrency: int,
    per_page: int = 100,
    start_page: int = 1,
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    try:
        first = client.request("get", resource, params={**params, "per_page": per_page, "page": start_page})
    except FailPermanently as exc:  # resuming after the last page: nothing is left
        if start_page > 1 and "invalid_page_number" in (exc.detail or ""):
            return
        raise
    pages = int(first.headers.get("X-WP-TotalPages") or 1)
    if start_page > pages:
        return
    yield start_page, orjson.loads(first.content)

    def fetch(page: int) -> tuple[int, list[dict[str, Any]]]:
        return page, client.get(resource, **params, per_page=per_page, page=page)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:  # a sliding window, in order
        pending: deque[Future[tuple[int, list[dict[str, Any]]]]] = deque()
        following = iter(range(start_page + 1, pages + 1))
        try:
            while True:
                for page in itertools.islice(following, max(1, concurrency) - len(pending)):
                    pending.append(pool.submit(fetch, page))
                if not pending:
                    return
                yield pending.popleft().result()
        finally:
            for future in pending:  # stopped early or failed: what has not started never will
                future.cancel()


def client_for(url: str, credentials: dict[str, Any], concurrency: int = 4) -> WooClient:
    key, secret = credentials.get("consumer_key", ""), credentials.get("consumer_secret", "")
    return WooClient(url, key, secret, concurrency=concurrency)


def record_gone(client: WooClient, resource: str, record_id: int) -> bool:
    """Whether the site no longer has this record live: 404, or in the trash (what
    `*.deleted` means for orders and products). One try: raises RetryLater while unreachable."""
    try:
        record = orjson.loads(client.request("get", f"{resource}/{record_id}", attempts=1).content)
    except SkipRecord:
        return True
    return isinstance(record, dict) and record.get("status") == "trash"


def site_answers_as(url: str, credentials: dict[str, Any], timeout: float = 10.0) -> bool:
    """Whether the site at `url` accepts the store's keys and reports itself as `url`
    (system_status's home_url). The request is signed with OAuth 1.0a, so the secret is
    never sent to a URL not yet trusted; redirects are not followed. Raises RetryLater
    while it cannot be reached or answers a server error."""
    body = _signed_get(url, "system_status", credentials, timeout)
    environment = body.get("environment") if isinstance(body, dict) else None
    home = str((environment or {}).get("home_url") or "").rstrip("/").lower()
    return home == url.rstrip("/").lower()


def site_holds(
    url: str, credentials: dict[str, Any], order_id: int, order_key: str, timeout: float = 10.0
) -> bool:
    """Whether the site at `url` has this order with this `order_key` (a random key only
    the store's own database holds): a server that merely claims to be the site has not."""
    body = _signed_get(url, f"orders/{order_id}", credentials, timeout)
    return isinstance(body, dict) and body.get("order_key") == order_key


def _signed_get(url: str, endpoint: str, credentials: dict[str, Any], timeout: float) -> Any:
    """GET a REST v3 endpoint of a site not yet trusted: OAuth 1.0a-signed, no redirects;
    None for any answer but 200 with JSON. Raises RetryLater while it cannot be reached."""
    oauth = _OAuth(
        url=f"{url.rstrip('/')}/wp-json/wc/v3/{endpoint}",
        consumer_key=credentials.get("consumer_key", ""),
        consumer_secret=credentials.get("consumer_secret", ""),
        version="wc/v3",
        method="GET",
    )
    try:
        response = requests.get(oauth.get_oauth_url(), timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise RetryLater("the site could not be reached", detail=str(exc)) from None
    if response.status_code == 429 or response.status_code >= 500:
        raise error_for_response(response)
    if response.status_code != 200:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def profile(url: str, credentials: dict[str, Any], timeout: float = 10.0) -> StoreProfile:
    """The site's name and IANA time zone from WordPress's REST index (`/wp-json/`: `name`,
    `timezone_string`, public, so nothing secret is sent); its locale and currency from
    system_status (`environment.language`, e.g. en_US; `settings.currency`). `timezone_string`
    is empty on a site set to a bare UTC offset: then the time zone is not known. Raises
    RetryLater while unreachable."""
    try:
        response = requests.get(f"{url.rstrip('/')}/wp-json/", timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise RetryLater("the site could not be reached", detail=str(exc)) from None
    index = _json_object(response.content) if response.status_code == 200 else {}
    status = _signed_get(url, "system_status", credentials, timeout)
    environment = (status.get("environment") if isinstance(status, dict) else None) or {}
    settings = (status.get("settings") if isinstance(status, dict) else None) or {}
    return StoreProfile(
        _text(index.get("name")),
        _text(environment.get("language")),
        _text(index.get("timezone_string")),
        _text(settings.get("currency") if isinstance(settings, dict) else None),
    )


def _json_object(content: bytes) -> dict[str, Any]:
    try:
        found = orjson.loads(content)
    except orjson.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
