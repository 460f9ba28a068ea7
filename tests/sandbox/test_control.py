"""`crm-connector sandbox`: the manifest first, then a control API that changes state deterministically."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

import pytest
import requests

from sandbox.server import SandboxServer
from tests.conftest_sandbox import SIZES
from tests.test_runtime import free_port, wait_for


@pytest.mark.slow
def test_the_command_prints_the_manifest_first_and_serves_it() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connector.cli",
            "sandbox",
            "--port",
            str(port),
            "--orders",
            "300",
            "--customers",
            "40",
            "--products",
            "10",
            "--seed",
            "5",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        manifest = json.loads(proc.stdout.readline())
        served = wait_for(lambda: _get(f"http://127.0.0.1:{port}/_sandbox/manifest"))
        assert served == manifest
        assert manifest["shopify"]["shop_url_template"] == f"http://127.0.0.1:{port}/shopify/{{shop}}"
        shop = manifest["shopify"]["shops"][0]
        assert shop["counts"] == {"customers": 40, "orders": 300, "products": 10} and shop["access_token"]
        site = manifest["woocommerce"]["stores"][0]
        assert site["url"] == f"http://127.0.0.1:{port}/woo/site-1" and site["consumer_key"].startswith("ck_")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)


def _get(url: str) -> Any:
    try:
        return requests.get(url, timeout=2).json()
    except requests.ConnectionError:
        return None


def test_mutations_change_counts_and_are_deterministic(sandbox: SandboxServer) -> None:
    url = f"{sandbox.url}/_sandbox/mutate"
    shop = "sandbox-shop-1.myshopify.com"
    created = requests.post(
        url,
        json={"platform": "shopify", "store": shop, "entity": "orders", "op": "create", "count": 3},
        timeout=5,
    ).json()
    assert created["counts"]["orders"] == SIZES.orders + 3 and len(set(created["ids"])) == 3
    deleted = requests.post(
        url,
        json={
            "platform": "woocommerce",
            "store": "site-1",
            "entity": "customers",
            "op": "delete",
            "count": 2,
        },
        timeout=5,
    ).json()
    assert deleted["counts"]["customers"] == SIZES.customers - 2
    again = SandboxServer(type(sandbox.world)(seed=7, sizes=SIZES)).start()
    try:
        same = requests.post(
            f"{again.url}/_sandbox/mutate",
            json={
                "platform": "woocommerce",
                "store": "site-1",
                "entity": "customers",
                "op": "delete",
                "count": 2,
            },
            timeout=5,
        ).json()
        assert same["ids"] == deleted["ids"]
    finally:
        again.stop()


@pytest.mark.parametrize(
    "body",
    [
        {"platform": "shopify", "store": "nope.myshopify.com", "entity": "orders", "op": "create"},
        {"platform": "shopify", "store": "sandbox-shop-1.myshopify.com", "entity": "coupons", "op": "create"},
        {"platform": "shopify", "store": "sandbox-shop-1.myshopify.com", "entity": "orders", "op": "explode"},
        {
            "platform": "shopify",
            "store": "sandbox-shop-1.myshopify.com",
            "entity": "orders",
            "op": "create",
            "count": 0,
        },
    ],
)
def test_bad_mutations_are_refused_and_change_nothing(sandbox: SandboxServer, body: dict[str, Any]) -> None:
    before = sandbox.world.manifest()
    answer = requests.post(f"{sandbox.url}/_sandbox/mutate", json=body, timeout=5)
    assert answer.status_code == 400 and answer.json()["error"]
    assert sandbox.world.manifest() == before


def test_faults_are_validated_and_cleared(sandbox: SandboxServer) -> None:
    url = f"{sandbox.url}/_sandbox/faults"
    assert requests.post(url, json={"rate_5xx": 2}, timeout=5).status_code == 400
    assert requests.post(url, json={"meteor": 1}, timeout=5).status_code == 400
    assert requests.post(url, json={"rate_5xx": 0.5, "latency_ms": 5}, timeout=5).ok
    assert sandbox.world.faults.rate_5xx == 0.5
    requests.post(url, json={}, timeout=5)
    assert sandbox.world.faults.rate_5xx == 0 and sandbox.world.faults.latency_ms == 0
