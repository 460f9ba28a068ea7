"""REST `customers/search.json` over real HTTP: given the sandbox shop, when a client searches
with the GraphQL search syntax, then it gets exactly the customers GraphQL's `customers(query:)`
answers, in `order` (last_order_date DESC by default), paged by `Link` headers whose next
request carries nothing but `page_info`, `limit` and `fields`; bad input gets Shopify's 400."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import shopify

from sandbox.server import SandboxServer
from sandbox.shopify import rest_shapes
from tests.sandbox.shopify_admin import Admin
from tests.sandbox.test_shopify_rest import VERSION, Rest


@pytest.fixture
def rest(sandbox: SandboxServer) -> Rest:
    return Rest(sandbox)


def searched(rest: Rest, **params: Any) -> list[dict[str, Any]]:
    """Every page of a search, following rel="next" with nothing but the link's own query."""
    answer = rest.get("customers/search.json", **params)
    found: list[dict[str, Any]] = []
    while True:
        assert answer.status_code == 200, answer.text
        found += answer.json()["customers"]
        nxt = answer.links.get("next")
        if nxt is None:
            return found
        assert set(dict(parse_qsl(urlsplit(nxt["url"]).query))) <= {"limit", "page_info", "fields"}
        assert "/customers/search.json?" in nxt["url"]
        answer = rest.get(nxt["url"])


@pytest.mark.parametrize(
    "query",
    [
        "state:enabled",
        "tag:vip OR tag:wholesale",
        "orders_count:>2 AND NOT state:disabled",
        "updated_at:>'2020-01-01 10:00:00+00:00'",
        "country:Germany",
    ],
)
def test_a_search_answers_what_graphql_answers(rest: Rest, sandbox: SandboxServer, query: str) -> None:
    # given a query in the search syntax and GraphQL's answer to it
    want = sorted(Admin(sandbox).ids("customers", query))
    # when REST searches with it, 7 a page, by id
    got = [c["id"] for c in searched(rest, query=query, limit=7, order="id asc")]
    # then each matching customer comes once, in id order, the same set as GraphQL's
    assert got == sorted(got) == want, query
    assert want, "a query that matches nobody proves nothing"


def test_the_default_order_is_the_latest_order_first_customers_without_orders_last(
    rest: Rest, sandbox: SandboxServer
) -> None:
    # given every customer and the date of their latest order
    shop = sandbox.world.shops[rest.domain]
    last = rest_shapes.last_orders(shop)

    def latest(customer_id: int) -> str:
        who = shop.store.index_of("customers", customer_id)
        index = None if who is None else last.get(who)
        return "" if index is None else shop.store.get("orders", index).created_at.isoformat()

    # when REST searches with no order named
    got = [c["id"] for c in searched(rest, query="", limit=50)]
    # then every customer comes once, their latest order newest first, then those with none
    assert sorted(got) == [r.id for r in rest.live("customers")]
    dates = [latest(i) for i in got]
    assert dates == sorted(dates, reverse=True)
    assert "" in dates and dates[0] != ""


def test_previous_links_walk_back_to_the_first_page(rest: Rest) -> None:
    first = rest.get("customers/search.json", query="state:enabled", limit=5, order="created_at desc")
    second = rest.get(first.links["next"]["url"])
    back = rest.get(second.links["previous"]["url"])
    assert [c["id"] for c in back.json()["customers"]] == [c["id"] for c in first.json()["customers"]]
    assert "previous" not in first.links


def test_fields_narrow_each_customer(rest: Rest) -> None:
    answer = rest.get("customers/search.json", query="state:enabled", limit=3, fields="id,email")
    assert answer.status_code == 200
    assert all(set(c) == {"id", "email"} for c in answer.json()["customers"])


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"query": "email:(unclosed"}, "query"),
        ({"order": "shoe_size desc"}, "order"),
        ({"limit": "251"}, "limit"),
        ({"page_info": "not-a-token"}, "page_info"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(rest: Rest, params: dict[str, str], error: str) -> None:
    answer = rest.get("customers/search.json", **params)
    assert answer.status_code == 400, answer.text
    assert error in answer.json()["errors"]


@pytest.mark.parametrize(
    "forged",
    [
        {"q": "(((", "o": ["id", "asc"], "k": None, "d": "next"},  # a query the first request would refuse
        {"q": "", "o": ["id", "asc"], "k": ["x"], "d": "next"},
        {"q": "", "o": ["shoe_size", "asc"], "k": None, "d": "next"},
        {"q": 5, "o": ["id", "asc"], "k": None, "d": "next"},
    ],
)
def test_a_forged_page_info_is_a_400_not_a_crash(rest: Rest, forged: dict[str, Any]) -> None:
    token = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode()
    answer = rest.get("customers/search.json", page_info=token)
    assert answer.status_code == 400
    assert answer.json() == {"errors": {"page_info": ["Invalid value."]}}


def test_page_info_refuses_a_new_query(rest: Rest) -> None:
    first = rest.get("customers/search.json", query="state:enabled", limit=5)
    token = dict(parse_qsl(urlsplit(first.links["next"]["url"]).query))["page_info"]
    answer = rest.get("customers/search.json", page_info=token, query="state:disabled")
    assert answer.status_code == 400
    assert answer.json() == {"errors": "query cannot be passed when page_info is present"}


def test_a_token_without_read_customers_is_refused(rest: Rest, sandbox: SandboxServer) -> None:
    sandbox.world.shops[rest.domain].tokens["shpat_orders_only_00000000000000"] = {
        "scope": "read_orders",
        "expires_at": None,
    }
    answer = rest.get("customers/search.json", token="shpat_orders_only_00000000000000", query="x")
    assert answer.status_code == 403


def test_shopify_api_customer_search(rest: Rest, sandbox: SandboxServer) -> None:
    # given ShopifyAPI's session on the shop (plain http here: its site is set by hand)
    shopify.ShopifyResource.set_site(f"{rest.api}")
    shopify.ShopifyResource.set_headers({"X-Shopify-Access-Token": rest.token})
    try:
        # when it searches through its own Customer.search
        found = shopify.Customer.search(query="state:enabled", limit=250, order="id asc")
    finally:
        shopify.ShopifyResource.clear_session()
    # then it has exactly GraphQL's answer
    assert [c.id for c in found] == sorted(Admin(sandbox).ids("customers", "state:enabled"))
    assert requests.get(f"{rest.api}/customers/search.json", timeout=10).status_code == 401
    assert VERSION in rest.api
