"""The Magento reader's requests, at the network edge: `searchCriteria` on `updated_at` in
UTC without an offset, pages in `entity_id` order, and never a `currentPage` past the last
(Magento would answer it with the last page again, not an empty one)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import responses

from platforms.magento.client import MagentoClient
from platforms.magento.reader import MagentoReader

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "magento"
URL = "https://shop.example.com"
CUSTOMER = json.loads((FIXTURES / "customer.json").read_text())


def store_answering(total: int, size: int, asked: list[dict[str, str]]) -> Any:
    """customers/search over `total` customers; a page past the end is the last page again."""

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query, keep_blank_values=True).items()}
        asked.append(query)
        wanted = int(query.get("searchCriteria[pageSize]") or total or 1)
        page = min(int(query.get("searchCriteria[currentPage]") or 1), max(1, -(-total // wanted)))
        ids = range((page - 1) * wanted + 1, min(page * wanted, total) + 1)
        items = [{**CUSTOMER, "id": i} for i in ids]
        return 200, {}, json.dumps({"items": items, "search_criteria": {}, "total_count": total})

    return answer


@responses.activate
def test_an_incremental_read_filters_on_updated_at_and_stops_at_the_last_page() -> None:
    asked: list[dict[str, str]] = []
    responses.add_callback(
        responses.GET, f"{URL}/rest/V1/customers/search", callback=store_answering(250, 100, asked)
    )
    responses.add(
        responses.GET,
        f"{URL}/rest/V1/store/storeViews",
        json=json.loads((FIXTURES / "store_views.json").read_text()),
    )
    responses.add(
        responses.GET,
        f"{URL}/rest/V1/store/websites",
        json=json.loads((FIXTURES / "websites.json").read_text()),
    )
    reader = MagentoReader(MagentoClient(URL, "t" * 32), read_ahead=0)
    since, until = (
        datetime(2026, 11, 30, 10, 0, 5, tzinfo=UTC),
        datetime(2026, 12, 1, 10, 18, 5, 700, tzinfo=UTC),
    )
    # when changes since a high-water mark are read
    chunks = list(reader.chunks("customers", since, until, None))
    # then every customer comes once, in three pages, and no page past the last is asked for
    assert [len(c.records) for c in chunks] == [100, 100, 50]
    assert len({r["id"] for c in chunks for r in c.records}) == 250
    pages = [q["searchCriteria[currentPage]"] for q in asked if q.get("searchCriteria[pageSize]") == "100"]
    assert pages == ["1", "2", "3"]
    # with the window as Magento compares times: UTC, no offset, groups AND-ed
    first = next(q for q in asked if q.get("searchCriteria[pageSize]") == "100")
    conditions = {
        (
            first[f"searchCriteria[filter_groups][{g}][filters][0][field]"],
            first[f"searchCriteria[filter_groups][{g}][filters][0][condition_type]"],
        ): first[f"searchCriteria[filter_groups][{g}][filters][0][value]"]
        for g in (0, 1)
    }
    assert conditions == {
        ("updated_at", "lteq"): "2026-12-01 10:18:05",
        ("updated_at", "gteq"): "2026-11-30 10:00:05",
    }
    assert first["searchCriteria[sortOrders][0][field]"] == "entity_id"
    assert chunks[0].total == 250 and json.loads(chunks[-1].cursor or "") == {"phase": 0, "page": 3}
    # and each record carries its store view and website
    assert chunks[0].records[0]["_store_view"] == {
        "code": "default",
        "name": "Default Store View",
        "website_id": 1,
        "website_code": "base",
    }


@responses.activate
def test_a_resumed_read_goes_on_from_the_page_after_its_cursor() -> None:
    asked: list[dict[str, str]] = []
    responses.add_callback(
        responses.GET, f"{URL}/rest/V1/customers/search", callback=store_answering(250, 100, asked)
    )
    responses.add(
        responses.GET,
        f"{URL}/rest/V1/store/storeViews",
        status=401,
        json={
            "message": "The consumer isn't authorized to access %resources.",
            "parameters": {"resources": "Magento_Backend::store"},
        },
    )
    reader = MagentoReader(MagentoClient(URL, "t" * 32), read_ahead=0)
    until = datetime(2026, 12, 1, tzinfo=UTC)
    chunks = list(reader.chunks("customers", until, until, json.dumps({"phase": 0, "page": 2})))
    assert [len(c.records) for c in chunks] == [50] and chunks[0].total is None
    assert "_store_view" not in chunks[0].records[0]  # a token that may not read store views still syncs
