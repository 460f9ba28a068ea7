"""Reading a shop for the sync: bulk operations for a backfill, cursor pages for changes.

A backfill runs two bulk operations, the last 90 days first and then the history, each
capped at the run's signpost; the history's starts as soon as the recent days' is ready,
so Shopify exports it while those are written. An incremental run with many changes runs
one as well.
The JSONL is streamed and re-nested line by line, so a shop of any size is read in
bounded memory; the cursor names the operation and how many root records were written,
so a resumed run re-downloads and skips, never re-exports. Other incremental runs page
by `updated_at` through GraphQL, paced by the reported cost bucket.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import requests

from connector.config import Settings
from connector.errors import FailPermanently, RetryLater
from platforms.base import Batch, Chunk, MapContext, batched, record_id
from platforms.read_ahead import ReadAhead
from platforms.shopify import queries
from platforms.shopify.bulk import assemble
from platforms.shopify.client import ShopifyClient, client_for
from platforms.shopify.mapper import GRAPHQL_MAPPERS

RECENT = timedelta(days=90)
# bulk exports have no request limits (five may run at once) and pages pace by the bucket
# Shopify reports, so a shop's entities may sync side by side
ONE_ENTITY_AT_A_TIME = False
ORDERS_WITHOUT_READ_ALL = timedelta(days=60)
BULK_CHUNK = 250  # root records written per transaction
BULK_ABOVE = 250  # an incremental run with more changes than this reads them by bulk export
BULK_RESTARTS = 3
POLL_MAX_S = 5.0
KINDS = {"customers": "Customer", "orders": "Order", "products": "Product"}
CHECKOUT_LOOKBACK = timedelta(days=7)


def search_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ShopifyReader:
    snapshot_ids = True  # a bulk export of ids

    def __init__(
        self, client: ShopifyClient, scopes: str | None = None, poll_s: float = 0.2, read_ahead: int = 10
    ) -> None:
        self.client = client
        self.read_ahead = read_ahead  # export chunks downloaded while the step writes
        self.scopes = set((scopes or "").split(","))
        self.poll_s = poll_s
        self.download = requests.Session()  # bulk files live elsewhere: never send the shop's token there

    # --- the Reader interface -------------------------------------------------------------------

    def chunks(
        self, entity: str, since: datetime | None, until: datetime, cursor: str | None
    ) -> Iterator[Chunk]:
        if entity == "checkouts":
            return self._checkouts(since, until, cursor)
        if since is None:
            return self._backfill(entity, until, cursor)
        return self._changes(entity, f"updated_at:>'{search_time(since)}' AND {_upto(until)}", cursor)

    def map(self, entity: str, record: dict[str, Any], ctx: MapContext) -> Batch:
        return GRAPHQL_MAPPERS[entity](record, ctx)

    def live_ids(self, entity: str) -> Iterator[list[int]]:
        url = self._await(self._start_bulk(queries.ids_query(entity)))
        if url is None:
            return
        for lines in batched(self._lines(url), 5000):
            yield [record_id(orjson.loads(line)["id"]) for line in lines if line.strip()]

    def visible_since(self, entity: str) -> datetime | None:
        if entity == "orders" and "read_all_orders" not in self.scopes:
            return datetime.now(UTC) - ORDERS_WITHOUT_READ_ALL + timedelta(days=1)
        return None

    def fetch(self, entity: str, ids: list[int]) -> Iterator[Chunk]:
        for part in batched(ids, 10):
            gids = [f"gid://shopify/{KINDS[entity]}/{i}" for i in part]
            data = self.client.graphql(queries.nodes_query(entity, gids))["data"] or {}
            found = [node for node in data.values() if node]
            if entity == "orders":
                for order in found:
                    self.with_all_line_items(order)
            yield Chunk(found, None)

    # --- backfill -------------------------------------------------------------------------------

    def _backfill(self, entity: str, until: datetime, cursor: str | None) -> Iterator[Chunk]:
        recent_from = until - RECENT
        phases = [
            f"updated_at:>='{search_time(recent_from)}' AND {_upto(until)}",
            f"updated_at:<'{search_time(recent_from)}'",
        ]
        state: dict[str, Any] = (
            json.loads(cursor) if cursor else {"phase": 0, "op": None, "skip": 0, "restarts": 0}
        )
        total = self.count(entity, _upto(until)) if cursor is None else None
        for phase in range(state["phase"], len(phases)):
            if phase != state["phase"]:  # the history, exported while the recent days were written
                state = {"phase": phase, "op": state.get("ahead"), "skip": 0, "restarts": 0}
            following = phases[phase + 1] if phase + 1 < len(phases) else None
            yield from self._bulk_phase(entity, phases[phase], state, total, following)
            total = None

    def _bulk_phase(
        self,
        entity: str,
        search: str,
        state: dict[str, Any],
        total: int | None,
        following: str | None = None,
    ) -> Iterator[Chunk]:
        """One export, streamed; once it is ready, the `following` phase's export is started
        (when the shop has a slot free) to run on Shopify's side while this one is written."""
        while True:
            if state["op"] is None:
                state["op"] = self._start_bulk(queries.bulk_query(entity, search))
                yield Chunk([], json.dumps(state), total)  # an interrupted run waits for this export
            try:
                url = self._await(state["op"])
                if following is not None and state.get("ahead") is None:
                    # one try: if refused (no slot free), the phase starts it itself, and says why not
                    state["ahead"], _refused = self._run_bulk(queries.bulk_query(entity, following))
                    if state["ahead"] is not None:  # kept at once, so a resumed run waits for it
                        yield Chunk([], json.dumps(state), total)
                if url is None:
                    return
                roots = itertools.islice(assemble(self._lines(url)), state["skip"], None)
                with ReadAhead(batched(roots, BULK_CHUNK), self.read_ahead) as parts:  # downloaded meanwhile
                    for part in parts:
                        state["skip"] += len(part)
                        yield Chunk(list(part), json.dumps(state), total)
                        total = None
                return
            except _ExportLost as lost:
                state.update(op=None, skip=0, restarts=state["restarts"] + 1)
                if state["restarts"] > BULK_RESTARTS:
                    raise FailPermanently(f"Shopify could not export the {entity}: {lost}") from None

    def _start_bulk(self, query: str) -> str:
        """The started export's id; while the shop's bulk slots are busy, wait for one."""
        for attempt in range(30):
            op_id, errors = self._run_bulk(query)
            if op_id is not None:
                return op_id
            if not any("in progress" in str(e.get("message")) for e in errors):
                raise FailPermanently(f"Shopify refused the export: {errors[0].get('message')}")
            time.sleep(min(0.5 * 2**attempt, POLL_MAX_S))  # the shop's bulk slots are busy
        raise RetryLater("the shop's bulk operation slots stayed busy")

    def _run_bulk(self, query: str) -> tuple[str | None, list[dict[str, Any]]]:
        """One try: the started export's id, or None and Shopify's reasons."""
        answer = self.client.graphql(queries.BULK_RUN, {"query": query})["data"]["bulkOperationRunQuery"]
        errors: list[dict[str, Any]] = answer.get("userErrors") or []
        return (None if errors else str(answer["bulkOperation"]["id"])), errors

    def _await(self, op_id: str) -> str | None:
        """The finished export's file URL (None: nothing matched); polls with backoff."""
        wait = self.poll_s
        while True:
            op = self.client.graphql(queries.BULK_STATUS, {"id": op_id})["data"]["node"]
            if op is None:
                raise _ExportLost("the export is no longer known to the shop")
            if op["status"] == "COMPLETED":
                return str(op["url"]) if op.get("url") else None
            if op["status"] in ("FAILED", "CANCELED", "CANCELING", "EXPIRED"):
                raise _ExportLost(f"the export ended {op['status'].lower()} ({op.get('errorCode')})")
            time.sleep(wait)
            wait = min(wait * 1.5, POLL_MAX_S)

    def _lines(self, url: str) -> Iterator[bytes]:
        try:
            response = self.download.get(url, stream=True, timeout=60)
        except requests.RequestException as exc:
            raise RetryLater("the export file could not be downloaded", detail=str(exc)) from None
        if response.status_code in (400, 403, 404, 410):  # signed URL expired (7 days: 400 ExpiredToken)
            raise _ExportLost("the export file has expired")
        if response.status_code != 200:
            raise RetryLater(f"the export file answered {response.status_code}")
        with response:
            yield from response.iter_lines(chunk_size=1 << 16)

    # --- incremental ----------------------------------------------------------------------------

    def _changes(self, entity: str, search: str, cursor: str | None) -> Iterator[Chunk]:
        """A few changes: cursor pages, paced by the cost bucket. Many: one bulk export, which
        Shopify does not rate-limit (a page of orders costs hundreds of points)."""
        state: dict[str, Any] | None = json.loads(cursor) if cursor else None
        total = None
        if state is None:
            total = self.count(entity, search)
            bulk = total is not None and total > BULK_ABOVE
            state = {"op": None, "skip": 0, "restarts": 0} if bulk else {"after": None}
        if "op" in state:
            yield from self._bulk_phase(entity, search, state, total)
        else:
            yield from self._pages(entity, search, state["after"], total)

    def _pages(self, entity: str, search: str, after: str | None, total: int | None) -> Iterator[Chunk]:
        query = queries.page_query(entity)
        while True:
            body = self.client.graphql(query, {"after": after, "query": search})
            page = body["data"][entity]
            after = page["pageInfo"]["endCursor"] or after
            if entity == "orders":
                for order in page["nodes"]:
                    self.with_all_line_items(order)
            yield Chunk(page["nodes"], json.dumps({"after": after}), total)
            total = None
            if not page["pageInfo"]["hasNextPage"]:
                return

    def _checkouts(self, since: datetime | None, until: datetime, cursor: str | None) -> Iterator[Chunk]:
        """Abandoned checkouts by creation time (they have no updated-time search we can rely
        on): a re-sync re-reads those created in the last CHECKOUT_LOOKBACK, which covers the
        days in which a checkout is usually recovered; checkouts/update webhooks do the rest."""
        search = f"created_at:<='{search_time(until)}'"
        if since is not None:
            search += f" AND created_at:>='{search_time(since - CHECKOUT_LOOKBACK)}'"
        after = json.loads(cursor)["after"] if cursor else None
        total = None
        if cursor is None:
            found = self.client.graphql(
                queries.count_query("abandonedCheckouts", self.client.api_version), {"query": search}
            )["data"]
            total = int((found.get("abandonedCheckoutsCount") or {}).get("count") or 0)
        while True:
            page = self.client.graphql(queries.CHECKOUTS_PAGE, {"after": after, "query": search})["data"][
                "abandonedCheckouts"
            ]
            after = page["pageInfo"]["endCursor"] or after
            yield Chunk(page["nodes"], json.dumps({"after": after}), total)
            total = None
            if not page["pageInfo"]["hasNextPage"]:
                return

    def with_all_line_items(self, order: dict[str, Any]) -> None:
        """A page holds an order's first lines; fetch the rest, so none is taken for removed."""
        lines = order.get("lineItems") or {}
        info = lines.pop("pageInfo", None) or {}
        while info.get("hasNextPage"):
            more = self.client.graphql(
                queries.MORE_LINE_ITEMS, {"id": order["id"], "after": info["endCursor"]}
            )
            page = ((more["data"] or {}).get("node") or {}).get("lineItems") or {}
            lines.setdefault("nodes", []).extend(page.get("nodes") or [])
            info = page.get("pageInfo") or {}

    def count(self, entity: str, search: str) -> int | None:
        data = self.client.graphql(queries.count_query(entity, self.client.api_version), {"query": search})[
            "data"
        ]
        found = data.get(f"{entity}Count") or {}
        return int(found["count"]) if found.get("count") is not None else None


class _ExportLost(Exception):
    """The bulk export failed, expired or vanished: run it again."""


def _upto(until: datetime) -> str:
    return f"updated_at:<='{search_time(until)}'"


def reader_for(settings: Settings, credentials: dict[str, Any], store: Any) -> ShopifyReader:
    client = client_for(settings, credentials, store.domain)
    return ShopifyReader(client, scopes=store.scopes, read_ahead=settings.sync_read_ahead)
