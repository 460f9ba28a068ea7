"""`crm-connector demo --no-serve`: the whole product on one machine, start to finish, exit 0."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["CONNECTOR_INSTANCE_PATH"] = str(instance)
    return subprocess.run(
        [sys.executable, "-c", "from connector.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_demo_installs_backfills_plays_webhooks_and_exits(tmp_path: Path) -> None:
    sizes = ["--customers", "60", "--orders", "300", "--products", "20"]
    done = cli(tmp_path, "demo", "--no-serve", "--port", str(free_port()), *sizes)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "installed 3 stores through their install flows" in done.stdout
    assert "186 live changes made on the platforms" in done.stdout
    assert "open dead letters: 0" in done.stdout
    assert "2 shoppers subscribed to new products and confirmed by e-mail" in done.stdout
    assert "erasure request (customers/redact) was received and honoured" in done.stdout
    # the sandbox's HubSpot portal, connected to the account and pushed once, holds what was pushed
    pushed = re.search(
        r"pushed to HubSpot \(sandbox\): (\d+) contacts, (\d+) orders; 0 pending, 0 failed; "
        r"the portal holds (\d+) contacts, (\d+) orders; destination (\d+) on the dashboard",
        done.stdout,
    )
    assert pushed, done.stdout
    contacts, orders, held_contacts, held_orders, dest_id = map(int, pushed.groups())
    assert (held_contacts, held_orders) == (contacts, orders) and contacts > 0 and orders > 0
    sent = next(line for line in done.stdout.splitlines() if "e-mails sent:" in line)
    assert "2 subscription confirmations" in sent and " new-product notification" in sent, sent
    assert "1 erasure of a shopper (customers/redact)" in done.stdout and "top channels" in done.stdout
    assert "sign in as demo@crm-connector.local with " in done.stdout
    # the summary names a contact who bought on Shopify, WooCommerce and Magento alike
    spanning = next(line for line in done.stdout.splitlines() if "contacts on all 3 platforms" in line)
    assert int(spanning.rsplit(": ", 1)[1]) > 0, spanning
    assert "on the dashboard" in done.stdout.split(spanning, 1)[1].splitlines()[1]
    # nothing serves after --no-serve, so the sign-in says how to serve (issue 14, item 8)
    assert (
        f"dashboard: nothing is serving (--no-serve); `CONNECTOR_INSTANCE_PATH={tmp_path / 'demo'} "
        in done.stdout
    )
    # the terminal tells the story; the log lines went to the instance's demo.log
    log = tmp_path / "demo" / "demo.log"
    assert f"log: {log}" in done.stdout
    assert " INFO crm." not in done.stdout + done.stderr
    assert "sync step ended" in log.read_text()
    # what it left behind is a real instance: the stores, their records, the webhooks applied
    listed = json.loads(cli(tmp_path / "demo", "stores", "list", "--json").stdout)
    assert sorted(s["platform"] for s in listed) == ["magento", "shopify", "woocommerce"]
    assert len({s["account"] for s in listed}) == 1  # all in the account of the printed sign-in
    for store in listed:
        counts = {e: v["count"] for e, v in store["entities"].items()}
        # 300 generated, then 40 created and 3 deleted live; 20 products + 5 created; one shop
        # customer erased on request
        expected = {"customers": 60, "orders": 337, "products": 25}
        if store["platform"] == "shopify":  # one abandoned checkout per three generated orders
            expected |= {"customers": 59, "checkouts": 100}
        if store["platform"] == "magento":  # no live changes; configurable children are products
            expected = {"customers": 60, "orders": 300, "products": 49}
        assert counts == expected, store["domain"]
        assert store["status"] == "active"
    # the destination it connected is one of the instance's, with the counts the line printed
    [dest] = json.loads(cli(tmp_path / "demo", "destinations", "list", "--json").stdout)
    assert (dest["id"], dest["kind"], dest["status"]) == (dest_id, "hubspot", "active")
    assert dest["account"] == listed[0]["account"]
    assert {o: (c["pushed"], c["pending"], c["failed"]) for o, c in dest["objects"].items()} == {
        "contacts": (contacts, 0, 0),
        "orders": (orders, 0, 0),
    }
