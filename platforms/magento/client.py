"""A Magento 2 REST client for one store: `Authorization: Bearer <integration access token>`
against `<store URL>/rest/V1/…`, `searchCriteria` built from plain filters, and lists read
page by page up to `total_count` (Magento answers a `currentPage` past the end with the last
page again, so the count, not an empty page, says when to stop)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import requests

from connector.errors import FailPermanently, RetryLater
from platforms.base import error_for_response, with_retries
from platforms.protocol import StoreProfile
from platforms.reach import why_unreachable

MAX_ATTEMPTS = 5
PAGE_SIZE = 100
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # how Magento writes and compares times: UTC, no offset


@dataclass(frozen=True)
class Filter:
    """One `searchCriteria` filter; filters given as one group are OR-ed, groups AND-ed."""

    field: str
    value: str
    condition: str = "eq"


def search_criteria(
    groups: Sequence[Sequence[Filter]],
    *,
    sort: str | None = None,
    page: int | None = None,
    size: int | None = None,
) -> dict[str, str]:
    """The query parameters Magento's `searchCriteria` takes, in its bracketed form."""
    params: dict[str, str] = {}
    for g, group in enumerate(groups):
        for f, one in enumerate(group):
            at = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            params[f"{at}[field]"] = one.field
            params[f"{at}[value]"] = one.value
            params[f"{at}[condition_type]"] = one.condition
    if sort is not None:
        params["searchCriteria[sortOrders][0][field]"] = sort
        params["searchCriteria[sortOrders][0][direction]"] = "ASC"
    if size is not None:
        params["searchCriteria[pageSize]"] = str(size)
    if page is not None:
        params["searchCriteria[currentPage]"] = str(page)
    if not params:  # Magento refuses a list asked without any searchCriteria
        params["searchCriteria"] = ""
    return params


class MagentoClient:
    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.base = f"{url.rstrip('/')}/rest/V1"
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
        self.timeout = timeout

    def get(self, path: str, params: dict[str, str] | None = None, *, attempts: int = MAX_ATTEMPTS) -> Any:
        return with_retries(lambda: self._attempt(path, params or {}), attempts)

    def _attempt(self, path: str, params: dict[str, str]) -> Any:
        try:
            response = self.session.get(
                f"{self.base}/{path}", params=params, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise RetryLater(
                f"the store could not be reached: {why_unreachable(exc)}", detail=str(exc)
            ) from None
        if response.status_code == 404 and _no_route(response):
            raise FailPermanently(
                f"the store answered 404 for {path}: Magento's REST API is not at this URL "
                "(moved, or the module is off); reconnect the store with its right URL",
                detail=response.text[:500],
            )
        if response.status_code >= 300:
            raise error_for_response(response)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise RetryLater(
                "the store answered something other than JSON", detail=response.text[:200]
            ) from None

    def search(self, path: str, groups: Sequence[Sequence[Filter]], page: int, size: int = PAGE_SIZE) -> Any:
        """One page of a search, sorted by id (`entity_id`, every list's key column)."""
        return self.get(path, search_criteria(groups, sort="entity_id", page=page, size=size))


def _no_route(response: requests.Response) -> bool:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return True  # not Magento's JSON at all
    return isinstance(body, dict) and "does not match any route" in str(body.get("message") or "")


def pages(
    client: MagentoClient,
    path: str,
    groups: Sequence[Sequence[Filter]],
    *,
    start_page: int = 1,
    size: int = PAGE_SIZE,
) -> Iterator[tuple[int, list[dict[str, Any]], int]]:
    """Each page from `start_page` on: its number, its items and the total count. Stops at the
    last page `total_count` allows, never asking past it (Magento would repeat the last)."""
    page = start_page
    while True:
        answer = client.search(path, groups, page, size)
        total = int(answer.get("total_count") or 0) if isinstance(answer, dict) else 0
        last = max(1, -(-total // size))
        if page > last or total == 0:
            return
        items = answer.get("items") or []
        yield page, [i for i in items if isinstance(i, dict)], total
        if page >= last:
            return
        page += 1


def client_for(url: str, credentials: dict[str, Any], timeout: float = 30.0) -> MagentoClient:
    return MagentoClient(url, str(credentials.get("access_token") or ""), timeout=timeout)


STOCK_VIEW_NAME = "Default Store View"  # Magento's own name for the first view: not the shop's


def profile(url: str, credentials: dict[str, Any]) -> StoreProfile:
    """The default store view's locale, IANA time zone and currency (`store/storeConfigs`:
    `locale`, `timezone`, `default_display_currency_code`) and its name (`store/storeViews`),
    the view the REST reads answer for. Magento's stock view name says nothing of the shop, so
    it is not taken."""
    client = client_for(url, credentials, timeout=10.0)
    configs = [c for c in client.get("store/storeConfigs", attempts=1) or [] if isinstance(c, dict)]
    config = next((c for c in configs if c.get("code") == "default"), configs[0] if configs else {})
    views = [v for v in client.get("store/storeViews", attempts=1) or [] if isinstance(v, dict)]
    view = next((v for v in views if v.get("code") == config.get("code")), {})
    name = view.get("name") if view.get("name") != STOCK_VIEW_NAME else None
    currency = config.get("default_display_currency_code") or config.get("base_currency_code")
    return StoreProfile(
        _text(name), _text(config.get("locale")), _text(config.get("timezone")), _text(currency)
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
