"""Reading a WooCommerce site for the sync: pages of 100, several at a time, in id order.

Orders and products are read under a fixed `modified_before` (the run's signpost), the
last 90 days first, then the history; later runs read `modified_after` the high-water
mark minus the lookback. Customers have no `modified_after` in the API, so every run
reads them all; unchanged ones cost a page read and are written as no-ops. The cursor is
the last page written, so a resumed run goes on from the next one. Variable products
come with their variations. Offset pages can shift while a site changes; the periodic id
reconciliation fetches anything a shift skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.config import Settings
from platforms.base import Batch, Chunk, MapContext, batched
from platforms.read_ahead import ReadAhead
from platforms.woocommerce import mapper
from platforms.woocommerce.client import WooClient, client_for, numbered_pages

RECENT = timedelta(days=90)
# the request limit (CONNECTOR_WOO_CONCURRENCY) is the site's, so its entities sync one at a time
ONE_ENTITY_AT_A_TIME = True
Page = tuple[int, list[dict[str, Any]]]  # its number, its records
MAPPERS = {"customers": mapper.customer_rows, "orders": mapper.order_rows, "products": mapper.product_rows}


def woo_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class WooReader:
    snapshot_ids = False  # offset pages

    def __init__(self, client: WooClient, concurrency: int = 4, read_ahead: int = 10) -> None:
        self.client = client
        self.concurrency = concurrency
        self.read_ahead = read_ahead  # pages read while the step writes

    def chunks(
        self, entity: str, since: datetime | None, until: datetime, cursor: str | None
    ) -> Iterator[Chunk]:
        phases = self._phases(entity, since, until)
        state = json.loads(cursor) if cursor else {"phase": 0, "page": 0}
        for phase in range(state["phase"], len(phases)):
            start = state["page"] + 1 if phase == state["phase"] else 1
            params = {"orderby": "id", "order": "asc", **phases[phase]}
            total = self._total(entity, phases) if cursor is None and phase == 0 else None
            pages = numbered_pages(
                self.client, entity, params, concurrency=self.concurrency, start_page=start
            )
            with ReadAhead(self._complete(entity, pages), self.read_ahead) as ahead:  # read meanwhile
                for page, records in ahead:
                    yield Chunk(records, json.dumps({"phase": phase, "page": page}), total)
                    total = None

    def _complete(self, entity: str, pages: Iterator[Page]) -> Iterator[Page]:
        """Each page as the sync writes it: a variable product with its variations."""
        for page, records in pages:
            if entity == "products":
                self._attach_variations(records)
            yield page, records

    def _phases(self, entity: str, since: datetime | None, until: datetime) -> list[dict[str, Any]]:
        if entity == "customers":
            return [{}]
        upto = {"modified_before": woo_time(until + timedelta(seconds=1)), "dates_are_gmt": "true"}
        if since is not None:
            return [{**upto, "modified_after": woo_time(since)}]
        recent_from = until - RECENT
        return [
            {**upto, "modified_after": woo_time(recent_from)},
            {"modified_before": woo_time(recent_from + timedelta(seconds=1)), "dates_are_gmt": "true"},
        ]

    def _total(self, entity: str, phases: list[dict[str, Any]]) -> int:
        total = 0
        for phase in phases:
            response = self.client.request(
                "get", entity, params={"orderby": "id", **phase, "per_page": 1, "_fields": "id"}
            )
            total += int(response.headers.get("X-WP-Total") or 0)
        return total

    def _attach_variations(self, products: list[dict[str, Any]]) -> None:
        variable = [p for p in products if p.get("type") == "variable"]
        if not variable:
            return

        def variations(product: dict[str, Any]) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = self.client.get(
                f"products/{product['id']}/variations", per_page=100
            )
            return found

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for product, found in zip(variable, pool.map(variations, variable), strict=True):
                product["_variations"] = found

    def map(self, entity: str, record: dict[str, Any], ctx: MapContext) -> Batch:
        return MAPPERS[entity](record, ctx)

    def live_ids(self, entity: str) -> Iterator[list[int]]:
        params = {"orderby": "id", "order": "asc", "_fields": "id"}
        for _page, records in numbered_pages(self.client, entity, params, concurrency=self.concurrency):
            yield [int(r["id"]) for r in records]

    def visible_since(self, entity: str) -> datetime | None:
        return None

    def fetch(self, entity: str, ids: list[int]) -> Iterator[Chunk]:
        for part in batched(ids, 100):
            params: dict[str, Any] = {"include": ",".join(map(str, part)), "per_page": 100}
            records: list[dict[str, Any]] = self.client.get(entity, **params)
            if entity == "products":
                self._attach_variations(records)
            yield Chunk(records, None)


def reader_for(settings: Settings, credentials: dict[str, Any], store: Any) -> WooReader:
    client = client_for(store.domain, credentials, settings.woo_concurrency)
    return WooReader(client, concurrency=settings.woo_concurrency, read_ahead=settings.sync_read_ahead)
