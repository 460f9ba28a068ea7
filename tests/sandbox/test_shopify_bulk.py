"""The sandbox's bulk operations over real HTTP, against the documented life cycle:
CREATED when started, RUNNING on the next poll, then COMPLETED; cancel by id; the
concurrency of the API version asked; groupObjects; `__typename`; the signed result URL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from sandbox.server import SandboxServer
from sandbox.shopify import bulk_ops
from tests.conftest_sandbox import SIZES

ORDERS_WITH_LINES = (
    "{ orders { edges { node { __typename id name lineItems { edges { node { __typename id sku } } } } } } }"
)


class Admin:
    """POSTs GraphQL to the sandbox shop at a given API version."""

    def __init__(self, sandbox: SandboxServer, version: str = "2026-07") -> None:
        entry = sandbox.world.manifest()["shopify"]["shops"][0]
        self.domain, self.token = entry["domain"], entry["access_token"]
        self.base = f"{sandbox.url}/shopify/{self.domain}"
        self.version = version

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = requests.post(
            f"{self.base}/admin/api/{self.version}/graphql.json",
            json={"query": query, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": self.token},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        assert "errors" not in body, body
        return body["data"]

    def start(self, query: str, group: bool | None = None) -> dict[str, Any]:
        extra = "" if group is None else f", groupObjects: {str(group).lower()}"
        started: dict[str, Any] = self(
            "mutation($q: String!) { bulkOperationRunQuery(query: $q" + extra + ") "
            "{ bulkOperation { id status createdAt } userErrors { field message code } } }",
            {"q": query},
        )["bulkOperationRunQuery"]
        return started

    def poll(self, op_id: str) -> dict[str, Any]:
        node: dict[str, Any] = self(
            "query($id: ID!) { node(id: $id) { ... on BulkOperation { id status errorCode objectCount "
            "rootObjectCount fileSize url partialDataUrl query type createdAt completedAt } } }",
            {"id": op_id},
        )["node"]
        return node

    def finished(self, op_id: str) -> dict[str, Any]:
        for _ in range(400):
            op = self.poll(op_id)
            if op["status"] not in ("CREATED", "RUNNING", "CANCELING"):
                return op
            time.sleep(0.02)
        raise AssertionError(f"{op_id} never finished")


@pytest.fixture
def admin(sandbox: SandboxServer) -> Admin:
    return Admin(sandbox)


@pytest.fixture
def held() -> Iterator[None]:
    """Exports stay RUNNING until a poll has seen them run (no release after a while)."""
    before = bulk_ops.HOLD_S
    bulk_ops.HOLD_S = 3600.0
    yield
    bulk_ops.HOLD_S = before


def lines_of(url: str) -> list[dict[str, Any]]:
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200, answer.text
    return [json.loads(line) for line in answer.text.splitlines()]


def test_an_export_is_created_then_running_then_completed(admin: Admin) -> None:
    # given a started export of orders with their line items
    started = admin.start(ORDERS_WITH_LINES)

    # then the start answers CREATED, the next poll RUNNING, and later ones COMPLETED
    assert started["userErrors"] == [] and started["bulkOperation"]["status"] == "CREATED"
    op_id = started["bulkOperation"]["id"]
    assert admin.poll(op_id)["status"] == "RUNNING"
    done = admin.finished(op_id)
    assert done["status"] == "COMPLETED" and done["errorCode"] is None and done["type"] == "QUERY"
    assert done["query"] == ORDERS_WITH_LINES and done["completedAt"] >= done["createdAt"]
    assert int(done["rootObjectCount"]) == SIZES.orders
    current = admin("{ currentBulkOperation { id status url } }")["currentBulkOperation"]
    assert current == {"id": op_id, "status": "COMPLETED", "url": done["url"]}

    # and every line names its type, children their parent, and the counts add up
    lines = lines_of(done["url"])
    assert len(lines) == int(done["objectCount"]) and int(done["fileSize"]) > 0
    assert {line["__typename"] for line in lines if "__parentId" not in line} == {"Order"}
    assert {line["__typename"] for line in lines if "__parentId" in line} == {"LineItem"}
    assert all(line["id"].split("/")[3] == line["__typename"] for line in lines)


def test_group_objects_puts_children_right_after_their_parent(admin: Admin) -> None:
    # given the same export grouped (as the connector asks) and not grouped (2026-07's default)
    grouped = lines_of(
        admin.finished(admin.start(ORDERS_WITH_LINES, group=True)["bulkOperation"]["id"])["url"]
    )
    default = lines_of(admin.finished(admin.start(ORDERS_WITH_LINES)["bulkOperation"]["id"])["url"])

    # then grouped: each child follows its parent (or a sibling); not grouped: only after it
    parent = None
    for line in grouped:
        if "__parentId" not in line:
            parent = line["id"]
        else:
            assert line["__parentId"] == parent
    seen: set[str] = set()
    for line in default:
        assert "__parentId" not in line or line["__parentId"] in seen
        seen.add(line["id"])
    assert sorted(map(json.dumps, grouped)) == sorted(map(json.dumps, default))  # the same lines
    assert grouped != default  # in another order
    assert "__parentId" not in default[1]  # the parents first


def test_group_objects_defaults_to_true_before_2026_01(sandbox: SandboxServer) -> None:
    old = Admin(sandbox, "2025-10")
    lines = lines_of(old.finished(old.start(ORDERS_WITH_LINES)["bulkOperation"]["id"])["url"])
    first_child = next(i for i, line in enumerate(lines) if "__parentId" in line)
    assert lines[first_child]["__parentId"] == lines[first_child - 1]["id"]


def test_one_export_at_a_time_before_2026_01_five_from_it(sandbox: SandboxServer, held: None) -> None:
    # given an export running on 2025-10
    old = Admin(sandbox, "2025-10")
    first = old.start("{ customers { edges { node { id } } } }")
    assert first["userErrors"] == []

    # then a second is refused, naming the one in progress
    refused = old.start("{ products { edges { node { id } } } }")
    assert refused["bulkOperation"] is None
    assert refused["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS"
    assert first["bulkOperation"]["id"] in refused["userErrors"][0]["message"]

    # when 2026-07 is asked: four more may run beside it (five at once), a sixth is refused
    new = Admin(sandbox, "2026-07")
    answers = [new.start("{ products { edges { node { id } } } }") for _ in range(5)]
    assert [a["userErrors"] for a in answers[:4]] == [[], [], [], []]
    assert answers[4]["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS"
    running = [first["bulkOperation"]["id"]] + [a["bulkOperation"]["id"] for a in answers[:4]]
    assert answers[4]["userErrors"][0]["message"] == (  # a 2026-04 store's very sentence, all five named
        f"A bulk query operation for this app and shop is already in progress: {', '.join(running)}."
    )

    # and once they are finished a new one starts
    for op_id in [first["bulkOperation"]["id"]] + [a["bulkOperation"]["id"] for a in answers[:4]]:
        assert new.poll(op_id)["status"] == "RUNNING"
        assert new.finished(op_id)["status"] == "COMPLETED"
    assert old.start("{ products { edges { node { id } } } }")["userErrors"] == []


def test_cancel_acts_on_the_id_it_is_given(admin: Admin, held: None) -> None:
    # given two running exports
    keep = admin.start("{ customers { edges { node { id } } } }")["bulkOperation"]["id"]
    stop = admin.start(ORDERS_WITH_LINES)["bulkOperation"]["id"]

    # when the first is cancelled
    cancel = (
        "mutation($id: ID!) { bulkOperationCancel(id: $id) "
        "{ bulkOperation { id status } userErrors { field message } } }"
    )
    answer = admin(cancel, {"id": keep})["bulkOperationCancel"]

    # then that one is CANCELING, then CANCELED; the other completes
    assert answer == {"bulkOperation": {"id": keep, "status": "CANCELING"}, "userErrors": []}
    assert admin.finished(keep)["status"] == "CANCELED"
    assert admin.poll(stop)["status"] == "RUNNING" and admin.finished(stop)["status"] == "COMPLETED"

    # and a finished or unknown export cannot be cancelled
    again = admin(cancel, {"id": stop})["bulkOperationCancel"]
    assert again["bulkOperation"]["status"] == "COMPLETED" and again["userErrors"][0]["message"]
    unknown = admin(cancel, {"id": "gid://shopify/BulkOperation/999999"})["bulkOperationCancel"]
    assert unknown["bulkOperation"] is None and unknown["userErrors"][0]["field"] == ["id"]


def test_the_result_url_is_signed_and_expires(admin: Admin, sandbox: SandboxServer) -> None:
    # given a completed export
    done = admin.finished(admin.start("{ products { edges { node { id title } } } }")["bulkOperation"]["id"])
    url = urlsplit(done["url"])
    params = dict(parse_qsl(url.query))

    # then its URL carries a storage signature's parameters and names the file, and works
    assert {"GoogleAccessId", "Expires", "Signature", "response-content-disposition"} <= set(params)
    assert abs(int(params["Expires"]) - (time.time() + 7 * 86400)) < 600  # seven days
    number = done["id"].rsplit("/", 1)[-1]
    assert f'filename="bulk-{number}.jsonl"' in params["response-content-disposition"]
    assert len(lines_of(done["url"])) == SIZES.products
    answer = requests.get(done["url"], timeout=10)
    assert answer.headers["Content-Disposition"] == params["response-content-disposition"]

    # and a changed signature or parameter is refused, as is the file without them
    forged = {**params, "Signature": "AAAA" + params["Signature"][4:]}
    stretched = {**params, "Expires": str(int(params["Expires"]) + 30 * 86400)}
    for query in (forged, stretched, {}):
        refused = requests.get(f"{url.scheme}://{url.netloc}{url.path}?{urlencode(query)}", timeout=10)
        assert refused.status_code == 403 and b"SignatureDoesNotMatch" in refused.content

    # and a URL signed eight days ago has expired
    op_number = int(done["id"].rsplit("/", 1)[-1])
    old = bulk_ops.signed_url(
        sandbox.world,
        f"{sandbox.url}/shopify/{admin.domain}",
        op_number,
        now=(datetime.now(UTC) - timedelta(days=8)).timestamp(),
    )
    expired = requests.get(old, timeout=10)
    assert expired.status_code == 400 and b"ExpiredToken" in expired.content


def test_an_invalid_bulk_query_is_refused_with_user_errors(admin: Admin) -> None:
    answer = admin.start("{ orders { edges { node { id noSuchField } } } }")
    assert answer["bulkOperation"] is None and answer["userErrors"][0]["field"] == ["query"]


def test_a_bulk_query_whose_search_cannot_be_read_is_refused_and_starts_nothing(admin: Admin) -> None:
    # given a search with an unclosed parenthesis
    answer = admin.start('{ customers(query: "(email:a@example.com") { edges { node { id } } } }')

    # then the start is refused in a sentence, and no export exists
    assert answer["bulkOperation"] is None
    assert (
        answer["userErrors"][0]["message"]
        == "Invalid bulk query: Invalid search query: unbalanced parentheses"
    )
    assert admin("{ currentBulkOperation { id } }")["currentBulkOperation"] is None


def test_a_connection_inside_an_object_still_counts_as_nested(admin: Admin) -> None:
    # given variants' inventory levels: a connection inside the variant's inventoryItem object,
    # three connections deep (products > variants > inventoryLevels)
    query = (
        "{ products { edges { node { id variants { edges { node { id inventoryItem { id "
        "inventoryLevels { edges { node { id } } } } } } } } } } }"
    )
    # when it is started, then Shopify's depth limit refuses it, an object between them or not
    answer = admin.start(query)
    assert answer["bulkOperation"] is None
    assert [e["message"] for e in answer["userErrors"]] == [
        "Bulk queries cannot contain connections with a nesting depth greater than 2."
    ]


def _paged_ids(admin: Admin, entity: str, query: str) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        page = admin(
            "query($q: String, $a: String) { "
            + entity
            + "(first: 250, after: $a, query: $q) { nodes { id } pageInfo { hasNextPage endCursor } } }",
            {"q": query, "a": after},
        )[entity]
        ids += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


@pytest.mark.parametrize(
    ("entity", "query"),
    [
        ("customers", "email:{email}"),
        ("customers", "email:{email} OR id:>{id}"),
        ("customers", "NOT id:<={id} AND updated_at:>'2020-01-01 00:00:00+00:00'"),
        ("orders", "financial_status:paid AND NOT id:{order}"),
        ("products", "id:>={product} OR vendor:nobody"),
    ],
)
def test_a_bulk_query_honours_the_whole_search_syntax(
    admin: Admin, sandbox: SandboxServer, entity: str, query: str
) -> None:
    # given a search with field terms, comparisons and AND / OR / NOT (not only date bounds)
    store = sandbox.world.shops[admin.domain].store
    customer, order, product = store.get("customers", 3), store.get("orders", 5), store.get("products", 2)
    text = query.format(email=customer.data["email"], id=customer.id, order=order.id, product=product.id)

    # when it is exported in bulk
    done = admin.finished(
        admin.start(f'{{ {entity}(query: "{text}") {{ edges {{ node {{ id }} }} }} }}')["bulkOperation"]["id"]
    )
    exported = [line["id"] for line in lines_of(done["url"])] if done["url"] else []

    # then the export holds exactly the records the paged connection answers for the same search
    assert sorted(exported) == sorted(_paged_ids(admin, entity, text))
    assert int(done["rootObjectCount"]) == len(exported)
    if text == f"email:{customer.data['email']}":  # and one read from the store itself
        assert exported == [f"gid://shopify/Customer/{customer.id}"]
    else:
        assert (
            0
            < len(exported)
            < {"customers": SIZES.customers, "orders": SIZES.orders, "products": SIZES.products}[entity]
        )
