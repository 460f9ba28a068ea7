"""A shop answers at its own `<handle>.myshopify.com`, as clients that hard-code it address it:
by Host (and X-Forwarded-Host from a front), over https through the sandbox's CONNECT proxy
with the certificate verified for that name, and named by `--shop-domain`. The proxy
tunnels only names the sandbox answers as, and only CONNECT."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from connector.cli import cli
from sandbox.server import SandboxServer
from sandbox.world import World, checked_shop_domains
from tests.conftest_sandbox import SIZES

QUERY = {"query": "{ customers(first: 3) { nodes { id } } }"}


@pytest.fixture
def proxied() -> Iterator[SandboxServer]:
    world = World(seed=3, sizes=SIZES, shops=2, woo_sites=1, shop_domains=["Acme-Store"])
    server = SandboxServer(world, tls=True, proxy=True).start()
    yield server
    server.stop()


def shop(server: SandboxServer, n: int = 0) -> dict[str, Any]:
    entry: dict[str, Any] = server.world.manifest()["shopify"]["shops"][n]
    return entry


def graphql(url: str, token: str, **kwargs: Any) -> requests.Response:
    headers = {"X-Shopify-Access-Token": token, **kwargs.pop("headers", {})}
    return requests.post(
        f"{url}/admin/api/2025-07/graphql.json", json=QUERY, headers=headers, timeout=10, **kwargs
    )


def test_a_shop_named_by_flag_answers_at_its_own_host_through_the_proxy(proxied: SandboxServer) -> None:
    # given a shop named acme-store and a client that only knows https://acme-store.myshopify.com
    entry = shop(proxied)
    assert entry["domain"] == "acme-store.myshopify.com"
    assert entry["host_url"] == "https://acme-store.myshopify.com"
    proxies = {"https": proxied.world.manifest()["proxy"]}
    ca = proxied.world.manifest()["tls"]["ca_file"]
    # when it asks over https through the proxy, verifying the certificate
    answer = graphql(entry["host_url"], entry["access_token"], proxies=proxies, verify=ca)
    # then the shop answers, the same as at its path under the sandbox's address
    assert answer.status_code == 200, answer.text
    direct = graphql(entry["url"], entry["access_token"], verify=ca)
    assert answer.json()["data"] == direct.json()["data"]
    assert len(answer.json()["data"]["customers"]["nodes"]) == 3


def test_the_second_shop_keeps_its_default_domain_and_its_own_token(proxied: SandboxServer) -> None:
    entry = shop(proxied, 1)
    proxies = {"https": proxied.world.manifest()["proxy"]}
    ca = proxied.world.manifest()["tls"]["ca_file"]
    assert entry["domain"] == "sandbox-shop-2.myshopify.com"
    assert graphql(entry["host_url"], entry["access_token"], proxies=proxies, verify=ca).status_code == 200
    # a token of the other shop is refused at this shop's host
    other = shop(proxied)["access_token"]
    assert graphql(entry["host_url"], other, proxies=proxies, verify=ca).status_code == 401


def test_the_proxy_refuses_names_the_sandbox_does_not_answer_as(proxied: SandboxServer) -> None:
    proxies = {"https": proxied.world.manifest()["proxy"]}
    with pytest.raises(requests.exceptions.ProxyError, match="403"):
        requests.get("https://shopify.com/", proxies=proxies, timeout=10)
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("https://unknown-shop.myshopify.com/admin", proxies=proxies, timeout=10)


def test_the_proxy_tunnels_only_connect(proxied: SandboxServer) -> None:
    # given a client sending a plain-http request in absolute form to the proxy
    proxy = proxied.proxy
    assert proxy is not None
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as conn:
        conn.sendall(
            b"GET http://acme-store.myshopify.com/ HTTP/1.1\r\nHost: acme-store.myshopify.com\r\n\r\n"
        )
        reply = conn.recv(4096).decode()
    # then it is told what the proxy does, and nothing is forwarded
    assert reply.startswith("HTTP/1.1 405")
    assert "CONNECT" in reply


def test_a_front_forwarding_the_host_reaches_the_shop_over_plain_http() -> None:
    world = World(seed=3, sizes=SIZES, shops=1, woo_sites=0, shop_domains=["front-shop.myshopify.com"])
    server = SandboxServer(world).start()
    try:
        token = shop(server)["access_token"]
        by_host = graphql(server.url, token, headers={"Host": "front-shop.myshopify.com"})
        by_front = graphql(server.url, token, headers={"X-Forwarded-Host": "front-shop.myshopify.com"})
        unknown = graphql(server.url, token, headers={"Host": "nope.myshopify.com"})
    finally:
        server.stop()
    assert by_host.status_code == 200 and by_front.status_code == 200
    assert by_host.json()["data"] == by_front.json()["data"]
    assert unknown.status_code == 404  # no shop at that host, and the path alone names none


@pytest.mark.parametrize(
    ("domains", "shops", "message"),
    [
        (["https://a.myshopify.com"], 1, "is not a shop domain"),
        (["a.myshopify.com:443"], 1, "is not a shop domain"),
        (["a.example.com"], 1, "is not a shop domain"),
        (["-a"], 1, "is not a shop domain"),
        (["a", "A.myshopify.com"], 2, "must be distinct"),
        (["a", "b"], 1, "2 --shop-domain values for 1 shop"),
    ],
)
def test_bad_shop_domains_are_refused_in_one_line(domains: list[str], shops: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        checked_shop_domains(domains, shops)


def test_the_command_refuses_a_bad_domain_or_a_proxy_without_tls_and_serves_nothing() -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["sandbox", "--shop-domain", "a/b"])
    no_tls = runner.invoke(cli, ["sandbox", "--proxy-port", "0"])
    assert bad.exit_code == 2 and "--shop-domain 'a/b' is not a shop domain" in bad.output
    assert no_tls.exit_code == 2 and "--proxy-port tunnels https only: add --tls" in no_tls.output
    assert '"shopify"' not in bad.output + no_tls.output  # no manifest: nothing was served
