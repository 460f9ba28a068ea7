"""`crm-connector stores …`: connect, list (DESIGN §3 JSON shape), remove; bad input changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import func, select

from connector.db import session
from connector.models import Customer, Store
from connector.upsert import tombstones, upsert
from tests.builders import customer_row

TOKEN = "shpat_0123456789abcdef0123456789abcdef"
CK, CS = "ck_" + "a1" * 20, "cs_" + "b2" * 20


def cli(app_env: dict[str, str], *args: str) -> Result:
    from connector.cli import cli as group

    return CliRunner(env=app_env).invoke(group, list(args), catch_exceptions=True)


def listed(app_env: dict[str, str]) -> list[dict[str, Any]]:
    result = cli(app_env, "stores", "list", "--json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)
    return rows


def test_connect_both_platforms_and_list_them(app: Flask, app_env: dict[str, str]) -> None:
    assert (
        cli(app_env, "stores", "add-shopify", "--shop", "Bob-Shop.myshopify.com", "--token", TOKEN).exit_code
        == 0
    )
    assert (
        cli(
            app_env,
            "stores",
            "add-woocommerce",
            "--url",
            "https://shop.example.com/",
            "--key",
            CK,
            "--secret",
            CS,
        ).exit_code
        == 0
    )
    rows = listed(app_env)
    assert [(r["platform"], r["domain"], r["status"]) for r in rows] == [
        ("shopify", "bob-shop.myshopify.com", "active"),
        ("woocommerce", "https://shop.example.com", "active"),
    ]
    never = {"count": 0, "state": "never", "last_synced_at": None, "last_error": None, "progress": None}
    core = {"customers": never, "orders": never, "products": never}
    assert rows[0]["entities"] == {**core, "checkouts": never}  # a shop also has abandoned checkouts
    assert rows[1]["entities"] == core
    assert set(rows[0]) == {"id", "platform", "domain", "status", "entities"}


def test_counts_are_live_records_only(app: Flask, app_env: dict[str, str]) -> None:
    cli(app_env, "stores", "add-shopify", "--shop", "bob-shop.myshopify.com", "--token", TOKEN)
    store_id = listed(app_env)[0]["id"]
    with app.extensions["crm.engine"].begin() as conn:
        upsert(conn, Customer.__table__, [customer_row(store_id, platform_id=i) for i in (1, 2, 3)])
        row = customer_row(store_id)
        tombstones(conn, Customer.__table__, store_id, [2], row["source_updated_at"].replace(year=2030))
    assert listed(app_env)[0]["entities"]["customers"]["count"] == 2


def test_connecting_the_same_store_twice_keeps_one_row(app: Flask, app_env: dict[str, str]) -> None:
    for _ in range(2):
        cli(app_env, "stores", "add-shopify", "--shop", "bob-shop.myshopify.com", "--token", TOKEN)
    assert len(listed(app_env)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add-shopify", "--shop", "evil.com", "--token", TOKEN], "not a Shopify shop domain"),
        (
            ["add-shopify", "--shop", "x.myshopify.com.evil.com", "--token", TOKEN],
            "not a Shopify shop domain",
        ),
        (["add-shopify", "--shop", "bob.myshopify.com", "--token", "short"], "access token"),
        (["add-woocommerce", "--url", "ftp://shop", "--key", CK, "--secret", CS], "not a store URL"),
        (
            ["add-woocommerce", "--url", "https://shop.example.com", "--key", "ck_x", "--secret", CS],
            "consumer key",
        ),
        (
            ["add-woocommerce", "--url", "https://shop.example.com", "--key", CK, "--secret", CK],
            "consumer secret",
        ),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    app: Flask, app_env: dict[str, str], args: list[str], message: str
) -> None:
    result = cli(app_env, "stores", *args)
    assert result.exit_code != 0 and message in str(result.exception)
    assert listed(app_env) == []


def test_remove_deletes_the_store_and_its_records(app: Flask, app_env: dict[str, str]) -> None:
    cli(app_env, "stores", "add-shopify", "--shop", "bob-shop.myshopify.com", "--token", TOKEN)
    store_id = listed(app_env)[0]["id"]
    with app.extensions["crm.engine"].begin() as conn:
        upsert(conn, Customer.__table__, [customer_row(store_id)])
    assert cli(app_env, "stores", "remove", "bob-shop.myshopify.com", "--yes").exit_code == 0
    with session(app) as s:
        assert s.scalar(select(func.count()).select_from(Store)) == 0
        assert s.scalar(select(func.count()).select_from(Customer)) == 0


def test_remove_of_an_unknown_store_says_so(app: Flask, app_env: dict[str, str]) -> None:
    result = cli(app_env, "stores", "remove", "42", "--yes")
    assert "no store '42'" in str(result.exception)


def test_tokens_are_encrypted_at_rest(app: Flask, app_env: dict[str, str]) -> None:
    cli(app_env, "stores", "add-shopify", "--shop", "bob-shop.myshopify.com", "--token", TOKEN)
    cli(
        app_env, "stores", "add-woocommerce", "--url", "https://shop.example.com", "--key", CK, "--secret", CS
    )
    with session(app) as s:
        sealed = [st.credentials for st in s.scalars(select(Store))]
    assert all(blob and TOKEN.encode() not in blob and CS.encode() not in blob for blob in sealed)
    vault = app.extensions["crm.vault"]
    assert vault.open(sealed[0]) == {"access_token": TOKEN}
    if app_env["DATABASE_URL"].startswith("sqlite"):
        raw = Path(app_env["DATABASE_URL"].removeprefix("sqlite:///")).read_bytes()
        assert TOKEN.encode() not in raw and CS.encode() not in raw
