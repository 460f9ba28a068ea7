"""`crm-connector sync STORE`: runs the sync in the foreground with progress, returns when
done, and `stores list --json` then shows the counts and states."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.rig import Rig

pytestmark = pytest.mark.slow


def cli(rig: Rig, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from connector.cli import main; main()", *args],
        env={**os.environ, **rig.env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_sync_command_syncs_a_store_and_stores_list_shows_it(rig: Rig) -> None:
    site = rig.sandbox.world.manifest()["woocommerce"]["stores"][0]
    done = cli(rig, "sync", str(rig.site.id))
    assert done.returncode == 0, done.stderr
    assert f"store {rig.site.id} synced" in done.stdout
    listed = json.loads(cli(rig, "stores", "list", "--json").stdout)
    entry = next(s for s in listed if s["id"] == rig.site.id)
    assert {e: v["count"] for e, v in entry["entities"].items()} == site["counts"]
    assert {v["state"] for v in entry["entities"].values()} == {"done"}
    assert {e: v["progress"]["done"] for e, v in entry["entities"].items()} == site["counts"]
    assert {v["progress"]["total"] for v in entry["entities"].values()} == set(site["counts"].values())


def test_sync_command_takes_a_domain_and_one_entity(rig: Rig) -> None:
    done = cli(rig, "sync", rig.shop.domain, "--entity", "products")
    assert done.returncode == 0, done.stderr
    entry = next(s for s in json.loads(cli(rig, "stores", "list", "--json").stdout) if s["id"] == rig.shop.id)
    assert (
        entry["entities"]["products"]["count"]
        == rig.sandbox.world.manifest()["shopify"]["shops"][0]["counts"]["products"]
    )
    assert entry["entities"]["orders"]["count"] == 0


def test_sync_command_names_a_store_it_does_not_know(rig: Rig) -> None:
    answer = cli(rig, "sync", "no-such-shop.myshopify.com")
    assert answer.returncode == 2
    assert "no-such-shop.myshopify.com" in answer.stderr
