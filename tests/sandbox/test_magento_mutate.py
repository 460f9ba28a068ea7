"""Changing the sandbox's Magento through /_sandbox/mutate and breaking it through
/_sandbox/faults, observed over its REST API as a re-syncing client would."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.sandbox.magento_rig import SIZES, Magento, held


def control(magento: Magento, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{magento.server.url}/_sandbox/{path}", json=body, timeout=30)


def mutate(magento: Magento, entity: str, op: str, count: int) -> list[int]:
    response = control(magento, "mutate", {"platform": "magento", "store": "magento-1", "entity": entity,
                                           "op": op, "count": count})  # fmt: skip
    assert response.status_code == 200, response.text
    ids: list[int] = response.json()["ids"]
    return ids


ID = {"customers": "id", "orders": "entity_id", "products": "id"}
PATH = {"customers": "customers/search", "orders": "orders", "products": "products"}


@pytest.mark.parametrize("entity", ["customers", "orders", "products"])
def test_an_incremental_read_after_mutations_converges_on_the_store(magento: Magento, entity: str) -> None:
    # given a full read, and the newest updated_at it saw as the signpost
    before = magento.all(PATH[entity], size=25)
    signpost = max(r["updated_at"] for r in before)
    time.sleep(1.05)  # the store stamps to the second
    # when records are created, updated and deleted
    created = mutate(magento, entity, "create", 3)
    updated = mutate(magento, entity, "update", 4)
    deleted = mutate(magento, entity, "delete", 2)
    # then updated_at > signpost finds exactly the created and the still-live updated ones
    since = [("updated_at", signpost, "gt")]
    changed = magento.all(PATH[entity], since, size=5, sort=[("updated_at", "ASC")])
    live_changed = (set(created) | set(updated)) - set(deleted)
    top = getattr(SIZES, entity)  # products: leave the configurables' children aside
    assert {r[ID[entity]] for r in changed if r[ID[entity]] <= top + 3} == live_changed
    assert created == list(range(top + 1, top + 4))  # the table's sequence goes on
    # and the id set of a full read is the old one plus the created, minus the deleted
    after = magento.all(PATH[entity], size=25)
    ids_before = {r[ID[entity]] for r in before if r[ID[entity]] <= top}
    assert {r[ID[entity]] for r in after if r[ID[entity]] <= top + 3} == (ids_before | set(created)) - set(
        deleted
    )
    assert [r[ID[entity]] for r in after] == held(magento.store, entity)
    for rec_id in deleted:
        single = "customers" if entity == "customers" else entity
        if entity != "products":
            assert magento.get(f"{single}/{rec_id}").status_code == 404


def test_an_updated_order_moves_on_and_its_documents_follow(magento: Magento) -> None:
    [order_id] = mutate(magento, "orders", "update", 1)
    order = magento.get(f"orders/{order_id}").json()
    shipments = magento.search("shipments", [("order_id", str(order_id), "eq")])["items"]
    assert all(s["order_id"] == order_id for s in shipments)
    if order["state"] in ("complete", "closed"):
        assert shipments


def test_mutate_refuses_bad_input_and_changes_nothing(magento: Magento) -> None:
    counts = magento.world.manifest()["magento"]["stores"][0]["counts"]
    for body in (
        {"platform": "magento", "store": "magento-9", "entity": "orders", "op": "create"},
        {"platform": "magento", "store": "magento-1", "entity": "checkouts", "op": "create"},
        {"platform": "magento", "store": "magento-1", "entity": "orders", "op": "create", "count": 0},
        {"platform": "woocommerce", "store": "magento-1", "entity": "orders", "op": "create"},
    ):
        response = control(magento, "mutate", body)
        assert response.status_code == 400 and response.json()["error"]
    assert magento.world.manifest()["magento"]["stores"][0]["counts"] == counts


def test_injected_faults_answer_as_magento_and_clear(magento: Magento) -> None:
    assert control(magento, "faults", {"rate_429": 1.0}).status_code == 200
    throttled = magento.get("orders", {"searchCriteria": ""})
    assert throttled.status_code == 429 and throttled.headers["Retry-After"]
    assert throttled.json() == {"message": "Too Many Requests"}
    control(magento, "faults", {"rate_429": 0.0, "rate_5xx": 1.0})
    broken = magento.get("orders", {"searchCriteria": ""})
    assert broken.status_code == 503 and "message" in broken.json()
    control(magento, "faults", {})
    assert magento.get("orders", {"searchCriteria": ""}).status_code == 200
    stats = requests.get(f"{magento.server.url}/_sandbox/stats", timeout=10).json()["injected"]
    assert stats == {"429": 1, "5xx": 1}


def test_a_revoked_integration_token_stops_working(magento: Magento) -> None:
    assert control(magento, "faults", {"revoke": "magento-1"}).status_code == 200
    assert magento.get("orders/1").status_code == 401
    assert magento.world.manifest()["magento"]["stores"][0]["access_token"] is None
