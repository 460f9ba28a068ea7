"""A sandbox Magento store over real HTTP for the Magento tests: its URL and token, and
searchCriteria built from plain tuples."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from sandbox.generator import Sizes
from sandbox.magento.shapes import child_id, has_children
from sandbox.server import SandboxServer
from sandbox.state import SandboxStore
from sandbox.world import World

SIZES = Sizes(customers=60, orders=300, products=24)


@dataclass
class Magento:
    server: SandboxServer
    url: str  # the store's base URL: REST at url + /rest/V1/...
    token: str
    admin_password: str

    @property
    def world(self) -> World:
        return self.server.world

    @property
    def store(self) -> SandboxStore:
        return next(iter(self.world.magento.values())).store

    def get(
        self, path: str, params: Any = None, token: str | None = None, scope: str = ""
    ) -> requests.Response:
        prefix = f"{self.url}/rest/{scope + '/' if scope else ''}V1/"
        headers = {"Authorization": f"Bearer {token if token is not None else self.token}"}
        return requests.get(prefix + path, params=params, headers=headers, timeout=30)

    def search(self, path: str, *groups: list[tuple[str, Any, str]], **paging: Any) -> dict[str, Any]:
        response = self.get(path, criteria(*groups, **paging))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def all(self, path: str, *groups: list[tuple[str, Any, str]], size: int = 50, **more: Any) -> list[Any]:
        """Every page in turn, stopping by total_count (a page past the end is the last one again)."""
        out: list[Any] = []
        page = 1
        while True:
            body = self.search(path, *groups, pageSize=size, currentPage=page, **more)
            out += body["items"]
            if page * size >= body["total_count"]:
                return out
            page += 1


def held(store: SandboxStore, entity: str) -> list[int]:
    """The ids the store holds, in id order; products as Magento lists them, children too."""
    live = [i for i in range(store.overlays[entity].size) if store.exists(entity, i)]
    if entity != "products":
        return [store.id_of(entity, i) for i in live]
    out = []
    for i in live:
        data = store.get("products", i).data
        out.append(store.id_of("products", i))
        if has_children(data):
            out += [child_id(i, v["index"]) for v in data["variants"]]
    return sorted(out)


def criteria(
    *groups: list[tuple[str, Any, str]],
    pageSize: int | None = None,  # Magento's own parameter names
    currentPage: int | None = None,
    sort: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for g, group in enumerate(groups):
        for f, (field, value, condition) in enumerate(group):
            at = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            params |= {f"{at}[field]": field, f"{at}[value]": value, f"{at}[condition_type]": condition}
    for k, (field, direction) in enumerate(sort or []):
        params |= {f"searchCriteria[sortOrders][{k}][field]": field}
        params |= {f"searchCriteria[sortOrders][{k}][direction]": direction}
    if pageSize is not None:
        params["searchCriteria[pageSize]"] = pageSize
    if currentPage is not None:
        params["searchCriteria[currentPage]"] = currentPage
    return params or {"searchCriteria": ""}


@pytest.fixture
def magento() -> Iterator[Magento]:
    world = World(seed=7, sizes=SIZES, shops=0, woo_sites=0, magento_stores=1)
    server = SandboxServer(world).start()
    entry = world.manifest()["magento"]["stores"][0]
    yield Magento(server, entry["url"], entry["access_token"], entry["admin_password"])
    server.stop()
