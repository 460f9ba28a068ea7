"""Tenancy: an account's API token sees its own stores, orders and contacts, and nothing else."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import insert, select

from connector.accounts.stores import account_named, connect_store
from connector.cli import cli
from connector.db import session
from connector.db.models import Contact, Order
from connector.db.operations import ApiToken
from connector.db.upsert import upsert
from tests.builders import customer_row, table_of


def tenant(app: Flask, name: str, domain: str) -> dict[str, Any]:
    """An account with a store, an order and a contact."""
    with session(app) as s, s.begin():
        account = account_named(s, name)
        store = connect_store(
            s,
            app.extensions["crm.vault"],
            account=account,
            platform="shopify",
            domain=domain,
            credentials={"access_token": f"shpat_secret_of_{name}"},
        )
        ids = {"account": account.id, "store": store.id}
    with app.extensions["crm.engine"].begin() as conn:
        row = customer_row(ids["store"])
        upsert(
            conn,
            table_of(Order),
            [
                {
                    "store_id": ids["store"],
                    "platform_id": 1,
                    "name": "#1001",
                    "source_updated_at": row["source_updated_at"],
                    "total_price": 10,
                }
            ],
        )
        ids["order"] = conn.execute(select(Order.id).where(Order.store_id == ids["store"])).scalar_one()
        ids["contact"] = conn.execute(
            insert(Contact).values(account_id=ids["account"], email=f"{name}@x.example").returning(Contact.id)
        ).scalar_one()
    return ids


def token_for(app_env: dict[str, str], account: str) -> str:
    result = CliRunner(env=app_env).invoke(cli, ["tokens", "create", "--account", account])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_one_tenants_token_gets_404_for_another_tenants_ids(app: Flask, app_env: dict[str, str]) -> None:
    mine, theirs = tenant(app, "alpha", "alpha.myshopify.com"), tenant(app, "beta", "beta.myshopify.com")
    headers = {"Authorization": f"Bearer {token_for(app_env, 'alpha')}"}
    client = app.test_client()
    for kind in ("stores", "orders", "contacts"):
        key = kind.rstrip("s")
        assert client.get(f"/api/v1/{kind}/{mine[key]}", headers=headers).status_code == 200, kind
        assert client.get(f"/api/v1/{kind}/{theirs[key]}", headers=headers).status_code == 404, kind
    stores = client.get("/api/v1/stores", headers=headers).json
    assert stores is not None
    listed = stores["stores"]
    assert [s["domain"] for s in listed] == ["alpha.myshopify.com"]
    assert "shpat_secret_of_alpha" not in client.get(f"/api/v1/stores/{mine['store']}", headers=headers).text


def test_requests_without_a_valid_token_are_refused(app: Flask, app_env: dict[str, str]) -> None:
    ids = tenant(app, "alpha", "alpha.myshopify.com")
    client = app.test_client()
    assert client.get(f"/api/v1/stores/{ids['store']}").status_code == 401
    assert client.get("/api/v1/stores", headers={"Authorization": "Bearer crm_forged"}).status_code == 401
    token = token_for(app_env, "alpha")
    with session(app) as s:
        stored = s.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and len(stored) == 1  # only the hash is kept
