"""Secrets at rest: rotation onto a new key, and no token or webhook secret in clear text anywhere."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import select

from connector import create_app
from connector.accounts.stores import webhook_secret
from connector.cli import cli
from connector.db import session
from connector.db.models import Store
from tests.rig import SHOP, build, connect_woo, signed_in

pytestmark = pytest.mark.slow


def test_rotation_moves_every_secret_onto_the_new_key(app_env: dict[str, str], redis_conn: object) -> None:
    from sandbox.generator import Sizes
    from sandbox.server import SandboxServer
    from sandbox.world import World

    world = World(seed=3, sizes=Sizes(3, 3, 2))
    sandbox = SandboxServer(world).start()
    shop = world.manifest()["shopify"]["shops"][0]
    template = {"SHOPIFY_SHOP_URL_TEMPLATE": world.manifest()["shopify"]["shop_url_template"]}
    try:
        added = CliRunner(env={**app_env, **template}).invoke(
            cli, ["stores", "add-shopify", "--shop", shop["domain"], "--token", shop["access_token"]]
        )
    finally:
        sandbox.stop()
    assert added.exit_code == 0, added.output
    old, new = app_env["CONNECTOR_ENCRYPTION_KEY"], Fernet.generate_key().decode()
    both = {**app_env, "CONNECTOR_ENCRYPTION_KEY": f"{new},{old}"}
    result = CliRunner(env=both).invoke(cli, ["secrets", "rotate"])
    assert result.exit_code == 0 and "1 secrets re-encrypted" in result.output
    only_new = create_app({**app_env, "CONNECTOR_ENCRYPTION_KEY": new})
    with session(only_new) as s:
        store = s.scalar(select(Store))
        assert store is not None
        assert (
            only_new.extensions["crm.vault"].open(store.credentials)["access_token"] == shop["access_token"]
        )


def test_no_token_or_webhook_secret_in_the_database_file_or_the_logs(
    app_env: dict[str, str], redis_conn: object, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    if not app_env["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("scans the SQLite file; the PostgreSQL run stores the same sealed bytes")
    from sandbox.generator import Sizes
    from sandbox.world import World

    caplog.set_level(logging.DEBUG)
    for rig in build(app_env, World(seed=25, sizes=Sizes(10, 10, 5)), redis_url):
        # a full life: an OAuth install, an app-key connection, webhooks registered and delivered
        assert (
            requests.get(f"{rig.url}/shopify/install", params={"shop": SHOP}, timeout=30).status_code == 200
        )
        site_url = rig.sandbox.world.manifest()["woocommerce"]["stores"][0]["url"]
        assert connect_woo(rig, signed_in(rig), site_url).status_code == 200
        requests.post(
            f"{rig.sandbox.url}/_sandbox/mutate",
            json={"platform": "shopify", "store": SHOP, "entity": "orders", "op": "update", "count": 3},
        )
        rig.settle()
        secrets: list[str] = [rig.sandbox.world.api_secret]
        secrets += [t for t in rig.sandbox.world.shops[SHOP].tokens]
        secrets += [t for t in rig.sandbox.world.shops[SHOP].refresh_tokens]
        secrets += [k.consumer_secret for k in rig.sandbox.world.woo["site-1"].keys.values()]
        with session(rig.app) as s:
            for store in s.scalars(select(Store)):
                if store.webhook_secret:
                    secrets.append(webhook_secret(rig.app.extensions["crm.vault"], store))
        rig.app.extensions["crm.engine"].dispose()  # checkpoint the WAL into the file
    path = Path(app_env["DATABASE_URL"].removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    logs = caplog.text
    assert len(secrets) >= 5
    for secret in secrets:
        assert secret.encode() not in stored, "a secret is stored in clear text"
        assert secret not in logs, "a secret reached the logs"
