"""searchCriteria on the sandbox's Magento over real HTTP: paging, the past-the-end rule,
every condition type against the records themselves, groups and sorts, and bad input."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
import requests

from tests.sandbox.magento_rig import SIZES, Magento, criteria, held


@pytest.mark.parametrize(
    ("path", "entity", "id_field"),
    [
        ("orders", "orders", "entity_id"),
        ("customers/search", "customers", "id"),
        ("products", "products", "id"),
    ],
)
def test_paging_visits_every_record_once_in_id_order(
    magento: Magento, path: str, entity: str, id_field: str
) -> None:
    # given a store of known size; when every page of 7 is read in turn
    records = magento.all(path, size=7)
    # then each record came once, in id order, and total_count said how many there are
    ids = [r[id_field] for r in records]
    assert ids == held(magento.store, entity)
    assert magento.search(path, pageSize=7)["total_count"] == len(ids)
    counts = magento.world.manifest()["magento"]["stores"][0]["counts"]
    assert len(ids) == (counts["catalog_rows"] if entity == "products" else counts[entity])


def test_products_list_the_children_of_configurables_and_bundles_as_rows(magento: Magento) -> None:
    rows = magento.search("products")["items"]
    tops = [p for p in rows if p["id"] <= SIZES.products]
    links = {c for p in tops for c in p["extension_attributes"].get("configurable_product_links", [])}
    options = [o for p in tops for o in p["extension_attributes"].get("bundle_product_options", [])]
    selections = {int(link["id"]) for o in options for link in o["product_links"]}
    assert len(tops) == SIZES.products and links and selections and not links & selections
    assert {p["id"] for p in rows} - {p["id"] for p in tops} == links | selections
    assert all(p["visibility"] == 1 and p["type_id"] == "simple" for p in rows if p["id"] in links)
    hidden = magento.search("products", [("type_id", "simple", "eq")], [("visibility", "1", "eq")])
    assert {p["id"] for p in hidden["items"]} >= links


def test_a_page_past_the_end_answers_the_last_page_again(magento: Magento) -> None:
    # given 300 orders in pages of 40 (the last, page 8, holds 20)
    last = magento.search("orders", pageSize=40, currentPage=8)
    # when page 9 and page 500 are asked for
    beyond = [magento.search("orders", pageSize=40, currentPage=p) for p in (9, 500)]
    # then both are the last page again, not empty, with the same total
    assert len(last["items"]) == 20
    for body in beyond:
        assert [o["entity_id"] for o in body["items"]] == [o["entity_id"] for o in last["items"]]
        assert body["total_count"] == SIZES.orders
    assert beyond[0]["search_criteria"]["current_page"] == 9  # the request is echoed as made


def test_a_store_copying_magento_2_4_answers_an_empty_page_past_the_end(magento: Magento) -> None:
    # given the store set to 2.4's paging (magento/magento2#26986), and a bad setting refused
    control = f"{magento.server.url}/_sandbox/faults"
    refused = requests.post(control, json={"magento_past_end": "first"}, timeout=10)
    assert (
        refused.status_code == 400
        and magento.store
        and magento.search("orders", pageSize=40, currentPage=9)["items"]
    )
    assert requests.post(control, json={"magento_past_end": "empty"}, timeout=10).status_code == 200
    # when page 9 of 40 is asked for; then it is empty, with the total; the last page is whole
    beyond = magento.search("orders", pageSize=40, currentPage=9)
    assert beyond["items"] == [] and beyond["total_count"] == SIZES.orders
    assert len(magento.search("orders", pageSize=40, currentPage=8)["items"]) == 20
    requests.post(control, json={}, timeout=10)
    assert magento.search("orders", pageSize=40, currentPage=9)["items"]


def _orders(magento: Magento) -> list[dict[str, Any]]:
    return magento.search("orders")["items"]


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


# "MID" stands for the middle order's created_at (the generated span ends at the hour of the run)
CONDITIONS: list[tuple[str, str, str, Any]] = [
    ("status", "complete", "eq", lambda o, m: o["status"] == "complete"),
    ("status", "complete", "neq", lambda o, m: o["status"] != "complete"),
    ("grand_total", "150", "gt", lambda o, m: o["grand_total"] > 150),
    ("grand_total", "150", "lteq", lambda o, m: o["grand_total"] <= 150),
    ("customer_id", "3,5,8", "in", lambda o, m: o["customer_id"] in (3, 5, 8)),
    ("status", "complete,processing", "nin", lambda o, m: o["status"] not in ("complete", "processing")),
    ("customer_id", "", "null", lambda o, m: o["customer_id"] is None),
    ("ext_order_id", "", "notnull", lambda o, m: o["ext_order_id"] is not None),
    (
        "customer_email",
        "%EXAMPLE.org",
        "like",
        lambda o, m: o["customer_email"].lower().endswith("example.org"),
    ),
    ("increment_id", "0000010_5", "like", lambda o, m: re.fullmatch("0000010.5", o["increment_id"])),
    ("created_at", "MID", "from", lambda o, m: _time(o["created_at"]) >= m),
    ("created_at", "MID", "to", lambda o, m: _time(o["created_at"]) <= m),
    ("created_at", "MID", "gt", lambda o, m: _time(o["created_at"]) > m),
    ("updated_at", "MID", "gteq", lambda o, m: _time(o["updated_at"]) >= m),
    ("updated_at", "MID", "lt", lambda o, m: _time(o["updated_at"]) < m),
    ("updated_at", "MID", "lteq", lambda o, m: _time(o["updated_at"]) <= m),
]


@pytest.mark.parametrize(("field", "value", "condition", "expected"), CONDITIONS)
def test_each_condition_type_selects_what_the_records_say(
    magento: Magento, field: str, value: str, condition: str, expected: Any
) -> None:
    # given every order as the store holds it
    everything = _orders(magento)
    middle = everything[len(everything) // 2]["created_at"]
    # when one filter is applied by the store
    body = magento.search("orders", [(field, value.replace("MID", middle), condition)])
    # then it chose exactly the orders the condition describes, and said how many
    wanted = [o["entity_id"] for o in everything if expected(o, _time(middle))]
    assert [o["entity_id"] for o in body["items"]] == wanted
    assert body["total_count"] == len(wanted) and 0 < len(wanted) < len(everything)


def test_filters_in_a_group_or_and_groups_and(magento: Magento) -> None:
    everything = _orders(magento)
    # when (status complete OR status canceled) AND grand_total > 100
    body = magento.search(
        "orders", [("status", "complete", "eq"), ("status", "canceled", "eq")], [("grand_total", "100", "gt")]
    )
    wanted = [
        o["entity_id"]
        for o in everything
        if o["status"] in ("complete", "canceled") and o["grand_total"] > 100
    ]
    assert [o["entity_id"] for o in body["items"]] == wanted and wanted


def test_sort_orders_compose_and_ties_fall_back_to_the_id(magento: Magento) -> None:
    everything = _orders(magento)
    body = magento.search("orders", sort=[("status", "ASC"), ("grand_total", "DESC")], pageSize=500)
    expected = sorted(everything, key=lambda o: o["entity_id"])
    expected.sort(key=lambda o: -o["grand_total"])
    expected.sort(key=lambda o: o["status"])
    assert [o["entity_id"] for o in body["items"]] == [o["entity_id"] for o in expected]


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_the_sorted_view_and_the_record_walk_agree(magento: Magento, direction: str) -> None:
    # given an incremental query (updated_at >= a signpost, by updated_at): the store's fast path
    signpost = ("updated_at", _orders(magento)[200]["updated_at"], "gteq")
    fast = magento.all("orders", [signpost], size=9, sort=[("updated_at", direction)])
    # when the same window is asked so that it must walk every record (a group of two filters)
    slow = magento.all("orders", [signpost, signpost], size=9, sort=[("updated_at", direction)])
    # then both answer the same records in the same order
    assert [o["entity_id"] for o in fast] == [o["entity_id"] for o in slow] and fast
    times = [o["updated_at"] for o in fast]
    assert times == sorted(times, reverse=direction == "DESC")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, '"%fieldName" is required. Enter and try again.'),
        ({"searchCriteria[pageSize]": "ten"}, 'The "%value" value\'s type is invalid.'),
        ({"searchCriteria[currentPage]": "1.5"}, 'The "%value" value\'s type is invalid.'),
        ({"searchCriteria[pageSize]": "-5"}, 'Invalid value of "%value" provided for the %fieldName field.'),
        ({"searchCriteria[pageSize]": "99999999999"}, 'The "%value" value\'s type is invalid.'),
        ({"searchCriteria[filter_groups]": "x"}, "searchCriteria has a value where a list was expected."),
        (criteria([("status", "x", "between")]), 'Invalid condition type "%1" provided.'),
        (criteria([("no_such_field", "x", "eq")]), 'Invalid attribute name: "%1".'),
        (criteria(sort=[("status", "UP")]), "Sort order direction %1 is invalid."),
        ({"searchCriteria[filter_groups][0][filters][0][value]": "x"}, '"%fieldName" is required.'),
    ],
)
def test_bad_criteria_get_one_clear_error_and_change_nothing(
    magento: Magento, params: dict[str, Any], message: str
) -> None:
    before = magento.world.manifest()["magento"]["stores"][0]["counts"]
    response = magento.get("orders", params)
    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith(message.split(" Verify")[0]) and "parameters" in body
    assert magento.world.manifest()["magento"]["stores"][0]["counts"] == before
    assert magento.get("orders", criteria(pageSize=1)).status_code == 200


def test_a_bare_search_criteria_means_everything_and_page_size_zero_no_limit(magento: Magento) -> None:
    bare = requests.get(
        f"{magento.url}/rest/V1/products?searchCriteria",
        headers={"Authorization": f"Bearer {magento.token}"},
        timeout=10,
    ).json()
    unlimited = magento.search("products", pageSize=0)
    assert [p["id"] for p in bare["items"]] == [p["id"] for p in unlimited["items"]]
    assert len(bare["items"]) == len(held(magento.store, "products")) == bare["total_count"]


def test_input_limits_when_a_store_enables_them(magento: Magento) -> None:
    # given a store with Magento's Web API input limits on (they are off by default)
    control = f"{magento.server.url}/_sandbox/faults"
    assert requests.post(control, json={"magento_input_limit": True}, timeout=10).status_code == 200
    # then a list without a page size answers 20, and a page of more than 300 is refused
    assert len(magento.search("orders")["items"]) == 20
    assert magento.search("orders")["total_count"] == SIZES.orders
    refused = magento.get("orders", criteria(pageSize=301))
    assert (
        refused.status_code == 400 and refused.json()["message"] == "Maximum SearchCriteria pageSize is 300"
    )
    assert len(magento.search("orders", pageSize=300)["items"]) == 300
    # and clearing the faults turns them off again
    requests.post(control, json={}, timeout=10)
    assert len(magento.search("orders")["items"]) == SIZES.orders
