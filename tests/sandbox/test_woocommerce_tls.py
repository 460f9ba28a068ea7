"""The WooCommerce side over https, as clients that insist on TLS see it: the `woocommerce`
client with HTTP Basic and with query-string keys, a site answering at its own host,
and every URL handed back built from the origin the client used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from woocommerce import API

from sandbox.server import SandboxServer
from sandbox.world import World
from tests.conftest_sandbox import SIZES, Receiver


@pytest.fixture
def tls_sandbox() -> Iterator[SandboxServer]:
    world = World(seed=7, sizes=SIZES, woo_sites=2, woo_hosts=["localhost"])
    server = SandboxServer(world, tls=True).start()
    yield server
    server.stop()


def store(server: SandboxServer, n: int = 0) -> dict[str, Any]:
    entry: dict[str, Any] = server.world.manifest()["woocommerce"]["stores"][n]
    return entry


def client(server: SandboxServer, url: str, *, query_string_auth: bool) -> API:
    entry = store(server)
    return API(
        url=url,
        consumer_key=entry["consumer_key"],
        consumer_secret=entry["consumer_secret"],
        version="wc/v3",
        query_string_auth=query_string_auth,
        verify_ssl=server.world.manifest()["tls"]["ca_file"],
        timeout=10,
    )


@pytest.mark.parametrize("query_string_auth", [False, True])
def test_the_woocommerce_client_reads_every_customer_over_https(
    tls_sandbox: SandboxServer, query_string_auth: bool
) -> None:
    # given the site at its own host over https, and the client with Basic or query-string keys
    entry = store(tls_sandbox)
    assert entry["host_url"] == f"https://localhost:{tls_sandbox.port}"
    wc = client(tls_sandbox, entry["host_url"], query_string_auth=query_string_auth)
    # when it pages through the customers by the Link header's next page
    seen, page = [], 1
    while True:
        answer = wc.get("customers", params={"per_page": 50, "page": page, "orderby": "id"})
        assert answer.status_code == 200, answer.text
        seen += [c["id"] for c in answer.json()]
        if 'rel="next"' not in answer.headers.get("Link", ""):
            break
        assert answer.headers["Link"].startswith(f"<{entry['host_url']}/wp-json/wc/v3/customers?")
        page += 1
    # then it saw each customer once, and nothing in the links leaked its keys
    assert sorted(seen) == seen and len(seen) == SIZES.customers == entry["counts"]["customers"]
    assert "consumer_secret" not in answer.headers.get("Link", "")


def test_a_wrong_secret_over_https_is_refused(tls_sandbox: SandboxServer) -> None:
    entry = store(tls_sandbox)
    answer = requests.get(
        f"{entry['host_url']}/wp-json/wc/v3/orders",
        auth=(entry["consumer_key"], "cs_wrong"),
        verify=tls_sandbox.world.manifest()["tls"]["ca_file"],
        timeout=10,
    )
    assert answer.status_code == 401
    assert answer.json()["message"] == "Consumer secret is invalid."


def test_the_path_prefix_still_answers_and_permalinks_follow_the_origin(tls_sandbox: SandboxServer) -> None:
    # given the second site (no host of its own), reached under /woo/site-2 over https
    entry = store(tls_sandbox, 1)
    assert entry["host"] is None and entry["url"].startswith("https://127.0.0.1:")
    wc = API(
        url=entry["url"],
        consumer_key=entry["consumer_key"],
        consumer_secret=entry["consumer_secret"],
        version="wc/v3",
        verify_ssl=tls_sandbox.world.manifest()["tls"]["ca_file"],
    )
    # when a product is read
    product = wc.get("products", params={"per_page": 1}).json()[0]
    # then its permalink and links hang from the URL the client used
    assert product["permalink"].startswith(entry["url"] + "/product/")
    assert product["_links"]["self"][0]["href"] == f"{entry['url']}/wp-json/wc/v3/products/{product['id']}"


def test_a_tls_front_is_honoured_on_plain_http(sandbox: SandboxServer, receiver: Receiver) -> None:
    # given a front that terminates TLS and forwards the scheme and its own host name
    entry = sandbox.world.manifest()["woocommerce"]["stores"][0]
    sandbox.world.woo["site-1"].host = "shop.example"
    front = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example", "Host": "shop.example"}
    auth = (entry["consumer_key"], entry["consumer_secret"])
    root = f"http://127.0.0.1:{sandbox.port}/wp-json/wc/v3"
    # when a client sends Basic auth through it
    answer = requests.get(f"{root}/orders?per_page=5", auth=auth, headers=front, timeout=10)
    status = requests.get(f"{root}/system_status", auth=auth, headers=front, timeout=10).json()
    hook = requests.post(
        f"{root}/webhooks",
        json={"topic": "order.updated", "delivery_url": receiver.url},
        auth=auth,
        headers=front,
        timeout=10,
    )
    # then it is let in, and the links, the home URL and the webhook's source name the front
    assert answer.status_code == 200, answer.text
    assert answer.headers["Link"].startswith("<https://shop.example/wp-json/wc/v3/orders?")
    assert status["environment"]["home_url"] == "https://shop.example/"
    assert hook.headers["Location"].startswith("https://shop.example/wp-json/wc/v3/webhooks/")
    requests.post(
        f"{sandbox.url}/_sandbox/mutate",
        json={"platform": "woocommerce", "store": "site-1", "entity": "orders", "op": "update"},
        timeout=10,
    )
    delivered = receiver.wait_for(2)  # the creation ping, then the update
    assert delivered[-1].headers["X-Wc-Webhook-Source"] == "https://shop.example/"
    body = json.loads(delivered[-1].body)
    assert body["_links"]["self"][0]["href"] == f"https://shop.example/wp-json/wc/v3/orders/{body['id']}"
    # and without the front's header the same Basic request is refused, as over plain http
    plain = requests.get(f"{root}/orders", auth=auth, headers={"Host": "shop.example"}, timeout=10)
    assert plain.status_code == 401


def test_hosts_must_be_bare_distinct_names() -> None:
    for hosts, message in (
        (["https://a.example"], "not a bare host name"),
        (["a.example:80"], "not a bare host name"),
        (["a.example", "A.example"], "distinct"),
        (["a.example", "b.example", "c.example"], "3 --woo-host values for 2"),
    ):
        with pytest.raises(ValueError, match=message):
            World(seed=1, sizes=SIZES, woo_sites=2, woo_hosts=hosts)
