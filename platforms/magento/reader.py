"""Reading a Magento 2 store for the sync: `searchCriteria` pages of 100 in `entity_id` order.

Each run reads `updated_at` up to its signpost (`lteq`, times in UTC without an offset); a
backfill reads the last 90 days first, then the history; later runs read from the
high-water mark minus the lookback (`gteq`). The cursor is the last page written, so a
resumed run goes on from the next one. Each page of orders comes with its shipments (and
their tracks), credit memos and invoices, each page of products with its MSI source items
where the store has MSI, and every record with its store view and website. A store synced
for chosen store views reads only their orders and their websites' customers. Magento has
no deletion feed: deletions are found by comparing id sets, and confirmed by fetching ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.config import Settings
from connector.errors import FailPermanently, Reauthorize, SkipRecord
from platforms.base import Batch, Chunk, MapContext, batched
from platforms.magento import mapper
from platforms.magento.client import TIME_FORMAT, Filter, MagentoClient, client_for, pages
from platforms.read_ahead import ReadAhead

RECENT = timedelta(days=90)
ONE_ENTITY_AT_A_TIME = True  # one store's requests, one entity at a time
PATHS = {"customers": "customers/search", "orders": "orders", "products": "products"}
MAPPERS = {"customers": mapper.customer_rows, "orders": mapper.order_rows, "products": mapper.product_rows}
ID_OF = {"customers": "id", "orders": "entity_id", "products": "id"}
SCOPED_BY = {"orders": ("store_id", "id"), "customers": ("website_id", "website_id")}
ABSENT = (FailPermanently, SkipRecord, Reauthorize)  # an optional module off, or not allowed
Groups = list[list[Filter]]


def magento_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime(TIME_FORMAT)


class MagentoReader:
    snapshot_ids = False  # offset pages

    def __init__(self, client: MagentoClient, read_ahead: int = 10, views: Sequence[str] = ()) -> None:
        self.client = client
        self.read_ahead = read_ahead
        self.views = tuple(views)  # the store view codes synced; none: every one
        self._stores: dict[str, dict[str, Any]] | None = None
        self._msi = True  # until the store says it has no MSI

    def chunks(
        self, entity: str, since: datetime | None, until: datetime, cursor: str | None
    ) -> Iterator[Chunk]:
        phases = [groups + self._scope(entity) for groups in self._phases(since, until)]
        state = json.loads(cursor) if cursor else {"phase": 0, "page": 0}
        for phase in range(state["phase"], len(phases)):
            start = state["page"] + 1 if phase == state["phase"] else 1
            total = self._total(entity, phases) if cursor is None and phase == 0 else None
            found = pages(self.client, PATHS[entity], phases[phase], start_page=start)
            with ReadAhead(self._complete(entity, found), self.read_ahead) as ahead:
                for page, records in ahead:
                    yield Chunk(records, json.dumps({"phase": phase, "page": page}), total)
                    total = None

    def _phases(self, since: datetime | None, until: datetime) -> list[Groups]:
        upto = [Filter("updated_at", magento_time(until), "lteq")]
        if since is not None:
            return [[upto, [Filter("updated_at", magento_time(since), "gteq")]]]
        recent_from = magento_time(until - RECENT)
        return [
            [upto, [Filter("updated_at", recent_from, "gteq")]],
            [[Filter("updated_at", recent_from, "lt")]],
        ]

    def _scope(self, entity: str) -> Groups:
        """The filter that keeps a read to the store views synced: orders by their store view,
        customers by the website their account belongs to; the catalog is the install's."""
        if not self.views or entity not in SCOPED_BY:
            return []
        chosen = [{**v, "id": i} for i, v in self._store_views().items() if v["code"] in self.views]
        missing = sorted(set(self.views) - {str(v["code"]) for v in chosen})
        if missing:
            raise FailPermanently(
                f"the store has no store view {missing[0]!r} any more: "
                "connect it again with the --store-view codes to sync"
            )
        field, key = SCOPED_BY[entity]
        ids = sorted({str(v[key]) for v in chosen})
        return [[Filter(field, ",".join(ids), "in")]]

    def _total(self, entity: str, phases: list[Groups]) -> int:
        return sum(int(self.client.search(PATHS[entity], p, 1, 1).get("total_count") or 0) for p in phases)

    def _complete(
        self, entity: str, found: Iterator[tuple[int, list[dict[str, Any]], int]]
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        for page, records, _total in found:
            yield page, self.completed(entity, records)

    def completed(self, entity: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Records as the mappers take them: with their store view, and their parts."""
        if entity == "orders":
            self._attach(records, "shipments", "_shipments")
            self._attach(records, "creditmemos", "_creditmemos")
            self._attach(records, "invoices", "_invoices")
        if entity == "products":
            self._attach_source_items(records)
        stores = self._store_views()
        for r in records:
            view = stores.get(str(r.get("store_id")))
            if view is not None:
                r["_store_view"] = view
        return records

    def _attach(self, orders: list[dict[str, Any]], path: str, key: str) -> None:
        """Each order's shipments or credit memos, asked for the whole page at once."""
        ids = [str(o["entity_id"]) for o in orders if o.get("entity_id") is not None]
        held: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        for part in batched(ids, 100):
            for _page, items, _total in pages(
                self.client, path, [[Filter("order_id", ",".join(part), "in")]]
            ):
                for item in items:
                    held.setdefault(str(item.get("order_id")), []).append(item)
        for o in orders:
            o[key] = sorted(held.get(str(o.get("entity_id")), []), key=lambda i: int(i.get("entity_id") or 0))

    def _attach_source_items(self, products: list[dict[str, Any]]) -> None:
        skus = [str(p["sku"]) for p in products if p.get("sku")]
        if not self._msi or not skus:
            return
        held: dict[str, list[dict[str, Any]]] = {}
        try:
            for part in batched(skus, 100):
                groups = [[Filter("sku", ",".join(part), "in")]]
                for _page, items, _total in pages(self.client, "inventory/source-items", groups):
                    for item in items:
                        held.setdefault(str(item.get("sku")), []).append(item)
        except ABSENT:  # Magento without MSI (or the token may not read it): the stock item's qty
            self._msi = False
            return
        for p in products:
            p["_source_items"] = held.get(str(p.get("sku")), [])

    def _store_views(self) -> dict[str, dict[str, Any]]:
        """store_id → {store view code and name, website id and code}, read once."""
        if self._stores is None:
            try:
                views = self.client.get("store/storeViews")
                websites = {str(w.get("id")): w for w in self.client.get("store/websites") or []}
            except ABSENT:
                views, websites = [], {}
            self._stores = {
                str(v.get("id")): {
                    "code": v.get("code"),
                    "name": v.get("name"),
                    "website_id": v.get("website_id"),
                    "website_code": (websites.get(str(v.get("website_id"))) or {}).get("code"),
                }
                for v in views or []
                if isinstance(v, dict)
            }
        return self._stores

    def map(self, entity: str, record: dict[str, Any], ctx: MapContext) -> Batch:
        return MAPPERS[entity](record, ctx)

    def live_ids(self, entity: str) -> Iterator[list[int]]:
        for _page, records, _total in pages(self.client, PATHS[entity], self._scope(entity)):
            yield [int(r[ID_OF[entity]]) for r in records]

    def visible_since(self, entity: str) -> datetime | None:
        return None

    def fetch(self, entity: str, ids: list[int]) -> Iterator[Chunk]:
        """Those records that still exist in the views synced: orders and products by
        `entity_id in (…)` (their collections' key column), customers one by one (a 404 is a
        customer gone). A record outside the views (a webhook's) is as good as gone."""
        for part in batched(ids, 100):
            if entity == "customers":
                records = [c for c in map(self._customer, part) if c is not None and self._in_scope(c)]
            else:
                groups = [[Filter("entity_id", ",".join(map(str, part)), "in")], *self._scope(entity)]
                records = [
                    r for _page, items, _total in pages(self.client, PATHS[entity], groups) for r in items
                ]
            yield Chunk(self.completed(entity, records), None)

    def _in_scope(self, customer: dict[str, Any]) -> bool:
        scope = self._scope("customers")
        return not scope or str(customer.get("website_id")) in scope[0][0].value.split(",")

    def _customer(self, customer_id: int) -> dict[str, Any] | None:
        try:
            found = self.client.get(f"customers/{customer_id}")
        except SkipRecord:
            return None
        return found if isinstance(found, dict) else None


def reader_for(settings: Settings, credentials: dict[str, Any], store: Any) -> MagentoReader:
    views = [str(v) for v in credentials.get("store_views") or []]
    return MagentoReader(client_for(store.domain, credentials), settings.sync_read_ahead, views)
