"""Search and counts over real HTTP: given the sandbox's store, when a client sends a `query:`
(as tap-shopify and others write it) to a connection or a count, then it is answered exactly
the records the store holds that match, read from the store itself (not over HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from sandbox.server import SandboxServer
from tests.conftest_sandbox import SIZES
from tests.sandbox.shopify_admin import Admin


@pytest.fixture
def admin(sandbox: SandboxServer) -> Admin:
    return Admin(sandbox)


def tap_form(at: datetime) -> str:
    """How tap-shopify writes a bound: Python's str() of an aware datetime, a space before the time."""
    return str(at.replace(microsecond=0))


def touch(sandbox: SandboxServer, admin: Admin, entity: str, count: int) -> list[int]:
    reply = requests.post(
        f"{sandbox.url}/_sandbox/mutate",
        json={"platform": "shopify", "store": admin.domain, "entity": entity, "op": "update", "count": count},
        timeout=30,
    )
    ids: list[int] = reply.json()["ids"]
    return ids


@pytest.mark.parametrize("entity", ["customers", "orders", "products"])
def test_a_window_written_with_a_space_keeps_records_updated_today(
    sandbox: SandboxServer, admin: Admin, entity: str
) -> None:
    changed = touch(sandbox, admin, entity, 4)  # stamped now, i.e. after today's midnight
    now = datetime.now(UTC)
    low, high = now - timedelta(days=3), now + timedelta(minutes=5)
    query = f"updated_at:>='{tap_form(low)}' AND updated_at:<'{tap_form(high)}'"
    answered = admin.ids(entity, query, "UPDATED_AT")
    expected = admin.held(
        entity, lambda r: low.replace(microsecond=0) <= r.updated_at < high.replace(microsecond=0)
    )
    assert set(changed) <= set(answered)
    assert sorted(answered) == expected and len(answered) == len(set(answered))


def test_the_two_date_forms_answer_the_same_records(admin: Admin) -> None:
    store = admin.shop.store
    middle = store.get("orders", SIZES.orders // 2).updated_at
    spaced = admin.ids("orders", f"updated_at:>'{tap_form(middle)}'")
    iso = admin.ids("orders", f"updated_at:>'{middle.strftime('%Y-%m-%dT%H:%M:%SZ')}'")
    assert spaced == iso == admin.held("orders", lambda r: r.updated_at > middle)
    assert 0 < len(spaced) < SIZES.orders


def test_email_and_id_terms_filter(admin: Admin) -> None:
    someone = admin.shop.store.get("customers", 17)
    assert admin.ids("customers", f"email:{someone.data['email']}") == admin.held(
        "customers", lambda r: r.data["email"].lower() == someone.data["email"].lower()
    )
    assert admin.ids("customers", f"id:>{someone.id}") == admin.held("customers", lambda r: r.id > someone.id)
    assert admin.ids("customers", f"id:{someone.id}") == [someone.id]


def test_connectives_and_negation_filter_orders(admin: Admin) -> None:
    answered = admin.ids(
        "orders", "financial_status:voided OR (-status:cancelled AND fulfillment_status:partial)"
    )
    expected = admin.held(
        "orders", lambda r: r.data["cancelled"] or (bool(r.data["fulfillments"]) and r.data["partial"])
    )
    assert sorted(answered) == expected and 0 < len(expected) < SIZES.orders


def test_product_terms_filter(admin: Admin) -> None:
    assert admin.ids("products", "status:active tag:sale") == admin.held(
        "products", lambda r: r.data["status"] == "active" and "sale" in r.data["tags"].split(",")
    )
    vendor = admin.shop.store.get("products", 3).data["vendor"]
    assert admin.ids("products", f"vendor:'{vendor}'") == admin.held(
        "products", lambda r: r.data["vendor"] == vendor
    )


def test_an_unknown_field_is_ignored_and_named_in_the_extensions(admin: Admin) -> None:
    answer = admin.post({"query": '{ customers(first: 5, query: "colour:blue") { nodes { id } } }'})
    assert len(answer["data"]["customers"]["nodes"]) == 5  # ignored: everything matches
    (search,) = answer["extensions"]["search"]
    assert search["path"] == ["customers"] and search["query"] == "colour:blue"
    assert search["warnings"] == [{"field": "colour", "message": "Invalid search field for this query."}]


def test_a_malformed_query_is_an_error_and_answers_nothing(admin: Admin) -> None:
    answer = admin.post({"query": '{ customers(first: 5, query: "(state:enabled") { nodes { id } } }'})
    assert answer["data"] is None
    assert "unbalanced parentheses" in answer["errors"][0]["message"]


@pytest.mark.parametrize("entity", ["customers", "orders", "products"])
def test_counts_respect_both_bounds_and_the_limit(admin: Admin, entity: str) -> None:
    store = admin.shop.store
    low = store.get(entity, 5).updated_at
    high = store.get(entity, store.overlays[entity].size - 5).updated_at
    query = f"updated_at:>='{tap_form(low)}' AND updated_at:<'{tap_form(high)}'"
    doc = "query($q: String, $n: Int) { n: COUNT(query: $q, limit: $n) { count precision } }"
    doc = doc.replace("COUNT", f"{entity}Count")
    exact = admin.post({"query": doc, "variables": {"q": query, "n": None}})["data"]["n"]
    expected = len(admin.held(entity, lambda r: low <= r.updated_at < high))
    assert exact == {"count": expected, "precision": "EXACT"}
    assert expected < store.live_count(entity) - 5  # the upper bound took some away
    capped = admin.post({"query": doc, "variables": {"q": query, "n": 3}})["data"]["n"]
    assert capped == {"count": 3, "precision": "AT_LEAST"}
    everything = admin.post({"query": f"{{ n: {entity}Count {{ count precision }} }}"})["data"]["n"]
    assert everything == {"count": store.live_count(entity), "precision": "EXACT"}


def test_a_negative_limit_is_refused(admin: Admin) -> None:
    answer = admin.post({"query": "{ customersCount(limit: -1) { count } }"})
    assert answer["data"] == {"customersCount": None} and "limit" in answer["errors"][0]["message"]
