"""A client of one sandbox shop's GraphQL Admin API for the tests, over real HTTP, with the
store's own records beside it to compare what it answers with what is held."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from sandbox.server import SandboxServer
from sandbox.state import Record

VERSION = "2026-07"
PAGE = """query($after: String, $q: String, $sort: %(Sort)s) {
  %(entity)s(first: 250, after: $after, query: $q, sortKey: $sort) {
    edges { node { id } } pageInfo { hasNextPage endCursor } } }"""
SORTS = {"customers": "CustomerSortKeys", "orders": "OrderSortKeys", "products": "ProductSortKeys"}


class Admin:
    """A client of one sandbox shop's GraphQL Admin API."""

    def __init__(self, sandbox: SandboxServer) -> None:
        entry = sandbox.world.manifest()["shopify"]["shops"][0]
        self.url = sandbox.world.shop_url_template().format(shop=entry["domain"])
        self.url += f"/admin/api/{VERSION}/graphql.json"
        self.token, self.domain = entry["access_token"], entry["domain"]
        self.shop = sandbox.world.shops[entry["domain"]]

    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        reply = requests.post(self.url, json=body, headers={"X-Shopify-Access-Token": self.token}, timeout=30)
        assert reply.status_code == 200, reply.text
        answer: dict[str, Any] = reply.json()
        return answer

    def ids(self, entity: str, query: str | None, sort: str = "ID") -> list[int]:
        """Every id the connection answers for `query`, page after page."""
        found: list[int] = []
        after = None
        while True:
            doc = PAGE % {"Sort": SORTS[entity], "entity": entity}
            answer = self.post({"query": doc, "variables": {"after": after, "q": query, "sort": sort}})
            assert "errors" not in answer, answer
            conn = answer["data"][entity]
            found += [int(e["node"]["id"].rsplit("/", 1)[-1]) for e in conn["edges"]]
            if not conn["pageInfo"]["hasNextPage"]:
                return found
            after = conn["pageInfo"]["endCursor"]

    def held(self, entity: str, keep: Callable[[Record], bool]) -> list[int]:
        """The ids of the store's live records that `keep` accepts, read from the store."""
        store = self.shop.store
        size = store.overlays[entity].size
        records = (store.get(entity, i) for i in range(size) if store.exists(entity, i))
        return sorted(r.id for r in records if keep(r))
