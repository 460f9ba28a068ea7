"""`crm-connector stores …`: connect (credentials checked against the sandbox first), list
(DESIGN §3 JSON shape), remove; bad input and refused credentials change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import func, select

from connector.db import session
from connector.db.models import Account, Customer, Store
from connector.db.upsert import tombstones, upsert
from sandbox.generator import Sizes
from sandbox.server import SandboxServer
from sandbox.world import World
from tests.builders import customer_row, table_of

ZEROS_CK, ZEROS_CS = "ck_" + "0" * 40, "cs_" + "0" * 40


@pytest.fixture
def platforms(app_env: dict[str, str]) -> Iterator[dict[str, Any]]:
    """A sandbox with one shop and one site; `env` points the commands at it."""
    world = World(seed=5, sizes=Sizes(customers=6, orders=6, products=3))
    server = SandboxServer(world).start()
    manifest = world.manifest()
    env = {**app_env, "SHOPIFY_SHOP_URL_TEMPLATE": manifest["shopify"]["shop_url_template"]}
    yield {
        "env": env,
        "world": world,
        "url": server.url,
        "shop": manifest["shopify"]["shops"][0],
        "site": manifest["woocommerce"]["stores"][0],
    }
    server.stop()


def cli(app_env: dict[str, str], *args: str) -> Result:
    from connector.cli import cli as group

    return CliRunner(env=app_env).invoke(group, list(args), catch_exceptions=True)


def main(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """The console script itself (its one error path): exit status, stdout, stderr."""
    from connector.cli import main as console_script

    for name in ("DATABASE_URL", "REDIS_URL", "CONNECTOR_INSTANCE_PATH"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        console_script(list(args))
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def add_shop(p: dict[str, Any], *extra: str, token: str | None = None) -> Result:
    shop = p["shop"]
    return cli(
        p["env"],
        "stores",
        "add-shopify",
        "--shop",
        shop["domain"],
        "--token",
        token or shop["access_token"],
        *extra,
    )


def add_site(p: dict[str, Any], *extra: str, url: str | None = None) -> Result:
    site = p["site"]
    args = ["--url", url or site["url"], "--key", site["consumer_key"], "--secret", site["consumer_secret"]]
    return cli(p["env"], "stores", "add-woocommerce", *args, *extra)


def listed(app_env: dict[str, str]) -> list[dict[str, Any]]:
    result = cli(app_env, "stores", "list", "--json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)
    return rows


def snapshot(app: Flask) -> list[tuple[Any, ...]]:
    """Every store and account row, as the database holds them."""
    with session(app) as s:
        stores = [
            (st.id, st.account_id, st.domain, st.status, st.status_reason, st.credentials, st.webhook_secret)
            for st in s.scalars(select(Store).order_by(Store.id))
        ]
        accounts = [(a.id, a.name) for a in s.scalars(select(Account).order_by(Account.id))]
    return [*stores, *accounts]


NEVER = {
    "count": 0,
    "state": "never",
    "activity": "never",
    "last_synced_at": None,
    "last_error": None,
    "next_attempt_at": None,
    "progress": None,
    "last_run": None,
}


def test_connect_both_platforms_and_list_them(app: Flask, platforms: dict[str, Any]) -> None:
    shop = add_shop(platforms)
    assert shop.exit_code == 0, shop.output
    site = add_site(platforms, url=platforms["site"]["url"] + "/")
    assert site.exit_code == 0, site.output
    rows = listed(platforms["env"])
    assert [(r["platform"], r["domain"], r["status"]) for r in rows] == [
        ("shopify", platforms["shop"]["domain"], "active"),
        ("woocommerce", platforms["site"]["url"], "active"),
    ]
    core = {"customers": NEVER, "orders": NEVER, "products": NEVER}
    assert rows[0]["entities"] == {**core, "checkouts": NEVER}  # a shop also has abandoned checkouts
    assert rows[1]["entities"] == core
    assert set(rows[0]) == {"id", "platform", "domain", "account", "status", "health", "entities"} | {
        "name",
        "locale",
        "time_zone",  # what the store says of itself (connector.accounts.profiles)
    }
    waiting = {"state": "active", "label": "active", "reason": "connected; its first sync has not run yet"}
    assert rows[0]["health"] == rows[1]["health"] == waiting
    with session(app) as s:  # the scopes the shop says the token has are kept
        assert s.scalar(select(Store.scopes).where(Store.platform == "shopify")) == (
            "read_all_orders,read_customers,read_orders,read_products"
        )


def test_counts_are_live_records_only(app: Flask, platforms: dict[str, Any]) -> None:
    add_shop(platforms)
    store_id = listed(platforms["env"])[0]["id"]
    with app.extensions["crm.engine"].begin() as conn:
        upsert(conn, table_of(Customer), [customer_row(store_id, platform_id=i) for i in (1, 2, 3)])
        row = customer_row(store_id)
        tombstones(conn, table_of(Customer), store_id, [2], row["source_updated_at"].replace(year=2030))
    assert listed(platforms["env"])[0]["entities"]["customers"]["count"] == 2


def test_connecting_the_same_store_twice_keeps_one_row(app: Flask, platforms: dict[str, Any]) -> None:
    for _ in range(2):
        assert add_shop(platforms).exit_code == 0
    assert len(listed(platforms["env"])) == 1


TOKEN = "shpat_0123456789abcdef0123456789abcdef"
CK, CS = "ck_" + "a1" * 20, "cs_" + "b2" * 20


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
        (["add-woocommerce", "--url", "http://[::1", "--key", CK, "--secret", CS], "not a store URL"),
        (["add-woocommerce", "--url", "http://shop:99999", "--key", CK, "--secret", CS], "not a store URL"),
        (
            ["add-woocommerce", "--url", "https://bob:hunter2@shop.example.com", "--key", CK, "--secret", CS],
            "must not hold a user name or password",
        ),
        (
            [
                "add-woocommerce",
                "--url",
                "https://shop.example.com",
                "--key",
                CK,
                "--secret",
                CS,
                "--account",
                " ",
            ],
            "a merchant account needs a name",
        ),
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
    assert "hunter2" not in str(result.exception)  # a password typed into a URL is never shown back
    assert listed(app_env) == []


# --- issue 14, item 1: credentials are checked against the platform before anything is saved ---------


def _refusals(p: dict[str, Any]) -> dict[str, tuple[list[str], str]]:
    shop, site = p["shop"], p["site"]
    woo = ["stores", "add-woocommerce", "--key", site["consumer_key"], "--secret", site["consumer_secret"]]
    return {
        "nothing listens": ([*woo, "--url", "http://127.0.0.1:9/woo"], "cannot be reached (refused"),
        "no such site path": ([*woo, "--url", p["url"] + "/woo/site-9"], "is not a WooCommerce site"),
        "TLS to a plain-HTTP site": (
            [*woo, "--url", site["url"].replace("http://", "https://")],
            "cannot be reached (TLS failed: ",
        ),
        "not WordPress": ([*woo, "--url", p["url"] + "/_sandbox"], "is not a WooCommerce site"),
        "all-zero keys": (
            ["stores", "add-woocommerce", "--url", site["url"], "--key", ZEROS_CK, "--secret", ZEROS_CS],
            "refused these keys",
        ),
        "no such shop": (
            ["stores", "add-shopify", "--shop", "nosuch.myshopify.com", "--token", TOKEN],
            "has no Shopify shop",
        ),
        "wrong token": (
            ["stores", "add-shopify", "--shop", shop["domain"], "--token", TOKEN],
            "refused the access token",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "nothing listens",
        "TLS to a plain-HTTP site",
        "no such site path",
        "not WordPress",
        "all-zero keys",
        "no such shop",
        "wrong token",
    ],
)
def test_credentials_the_platform_refuses_exit_2_in_one_line_and_save_nothing(
    app: Flask,
    platforms: dict[str, Any],
    redis_conn: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    # given a store already connected (its row must not change) and a fresh instance folder
    assert add_site(platforms).exit_code == 0
    before, queued = snapshot(app), sorted(redis_conn.keys())
    fresh = Path(platforms["env"]["CONNECTOR_INSTANCE_PATH"]).parent / "fresh-instance"
    args, message = _refusals(platforms)[case]
    # when the command is run against a platform that refuses
    status, out, err = main(platforms["env"], monkeypatch, capsys, *args)
    # then it exits 2 with one line saying which check failed, and nothing is written
    assert status == 2, (out, err)
    assert err.startswith("crm-connector: ") and message in err and err.count("\n") == 1, err
    assert "connected" not in out
    assert snapshot(app) == before and sorted(redis_conn.keys()) == queued
    env = {k: v for k, v in platforms["env"].items() if k != "DATABASE_URL"}
    status, _out, err = main({**env, "CONNECTOR_INSTANCE_PATH": str(fresh)}, monkeypatch, capsys, *args)
    assert status == 2 and message in err
    assert not fresh.exists()  # not even the instance folder or its generated secrets


def test_a_token_without_the_needed_scopes_is_refused_naming_them(
    app: Flask, platforms: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = platforms["world"].shops[platforms["shop"]["domain"]]
    shop.tokens["shpat_" + "5" * 32] = {"scope": "read_products", "expires_at": None}
    status, _out, err = main(
        platforms["env"],
        monkeypatch,
        capsys,
        *("stores", "add-shopify", "--shop", platforms["shop"]["domain"], "--token", "shpat_" + "5" * 32),
    )
    assert status == 2
    assert "lacks the scopes read_customers, read_orders" in err, err
    assert snapshot(app) == []


def test_webhooks_the_site_refuses_leave_the_store_as_it_was(
    app: Flask, platforms: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a read-only key: the site lets it read (the check passes) but not create webhooks
    site = platforms["world"].woo["site-1"]
    key = site.issue_key("read", "1")
    args = ["--url", platforms["site"]["url"], "--key", key.consumer_key, "--secret", key.consumer_secret]
    # when it is connected with --webhooks
    status, out, err = main(
        platforms["env"], monkeypatch, capsys, "stores", "add-woocommerce", *args, "--webhooks"
    )
    # then the refusal is one line, exit 2, and no store, account or needs_reauth mark was saved
    assert status == 2, (out, err)
    assert err.startswith("crm-connector: ") and err.count("\n") == 1
    assert snapshot(app) == []
    assert not site.webhooks


def test_connecting_again_with_good_keys_mends_a_store_that_needs_reauth(
    app: Flask, platforms: dict[str, Any]
) -> None:
    assert add_site(platforms).exit_code == 0
    with session(app) as s, s.begin():
        store = s.scalars(select(Store)).one()
        store.status, store.status_reason = "needs_reauth", "the store rejected our credentials"
    again = add_site(platforms)
    assert again.exit_code == 0, again.output
    assert "connected" in again.output and "(account 'default')" in again.output
    with session(app) as s:
        store = s.scalars(select(Store)).one()
        assert (store.status, store.status_reason) == ("active", None)


# --- issue 14, item 5: an account is named, not made by a typo -----------------------------------------


def test_stores_add_makes_the_account_it_names_and_says_so(app: Flask, platforms: dict[str, Any]) -> None:
    result = add_site(platforms, "--account", "acme")
    assert result.exit_code == 0
    assert f"connected: woocommerce {platforms['site']['url']} (new account 'acme')" in result.output
    with session(app) as s:
        assert list(s.scalars(select(Account.name))) == ["acme"]


@pytest.mark.parametrize("command", [["tokens", "create"], ["users", "create", "--email", "a@b.example"]])
def test_an_account_name_with_a_typo_is_refused_listing_the_accounts(
    app: Flask,
    platforms: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    assert add_site(platforms, "--account", "acme").exit_code == 0
    before = snapshot(app)
    status, out, err = main(platforms["env"], monkeypatch, capsys, *command, "--account", "acmee")
    assert status == 2 and out == ""
    assert err == "crm-connector: --account: no account named 'acmee'; the accounts are: acme\n"
    assert snapshot(app) == before
    from connector.db.operations import ApiToken, DashboardUser

    with session(app) as s:
        assert s.scalar(select(func.count()).select_from(ApiToken)) == 0
        assert s.scalar(select(func.count()).select_from(DashboardUser)) == 0


# --- removing -------------------------------------------------------------------------------------------


def test_remove_deletes_the_store_and_its_records(app: Flask, platforms: dict[str, Any]) -> None:
    add_shop(platforms)
    store_id = listed(platforms["env"])[0]["id"]
    with app.extensions["crm.engine"].begin() as conn:
        upsert(conn, table_of(Customer), [customer_row(store_id)])
    assert cli(platforms["env"], "stores", "remove", platforms["shop"]["domain"], "--yes").exit_code == 0
    with session(app) as s:
        assert s.scalar(select(func.count()).select_from(Store)) == 0
        assert s.scalar(select(func.count()).select_from(Customer)) == 0


def test_remove_of_an_unknown_store_says_so(app: Flask, app_env: dict[str, str]) -> None:
    result = cli(app_env, "stores", "remove", "42", "--yes")
    assert "no store '42'" in str(result.exception)


def test_tokens_are_encrypted_at_rest(app: Flask, platforms: dict[str, Any]) -> None:
    add_shop(platforms)
    add_site(platforms)
    token, secret = platforms["shop"]["access_token"], platforms["site"]["consumer_secret"]
    with session(app) as s:
        sealed = [st.credentials for st in s.scalars(select(Store).order_by(Store.id))]
    assert all(blob and token.encode() not in blob and secret.encode() not in blob for blob in sealed)
    vault = app.extensions["crm.vault"]
    assert vault.open(sealed[0]) == {"access_token": token}
    database_url = platforms["env"]["DATABASE_URL"]
    if database_url.startswith("sqlite"):
        raw = Path(database_url.removeprefix("sqlite:///")).read_bytes()
        assert token.encode() not in raw and secret.encode() not in raw


# --- issue 14, item 7: commands print results; the log's INFO lines only with -v -----------------------


def test_commands_print_results_not_log_lines_unless_verbose(
    app: Flask, platforms: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = platforms["site"]
    args = ["--url", site["url"], "--key", site["consumer_key"], "--secret", site["consumer_secret"]]
    status, out, err = main(platforms["env"], monkeypatch, capsys, "stores", "add-woocommerce", *args)
    assert status == 0 and err == ""
    assert out.splitlines()[0] == f"store 1 connected: woocommerce {site['url']} (new account 'default')"
    status, out, err = main(platforms["env"], monkeypatch, capsys, "-v", "stores", "add-woocommerce", *args)
    assert status == 0 and "store connected" in err and "store_id=1" in err and "store connected" not in out


def test_a_sign_in_names_the_address_only_when_it_is_known(
    app: Flask, platforms: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # issue 14, item 8: no port guessed
    assert add_site(platforms).exit_code == 0
    make = ("users", "create", "--email", "a@b.example", "--password", "long enough password")
    status, out, _ = main(platforms["env"], monkeypatch, capsys, *make)
    assert status == 0 and ":5000/login" not in out
    assert out.startswith(
        "a@b.example can sign in at /login of the connector's web address (APP_URL is not set"
    )
    env = {**platforms["env"], "APP_URL": "https://crm.example.com"}
    status, out, _ = main(
        env, monkeypatch, capsys, "users", "create", "--email", "c@b.example", "--password", "x" * 12
    )
    assert status == 0 and out == "c@b.example can sign in at https://crm.example.com/login\n"


def test_privacy_forget_prints_its_receipt_and_no_log_lines(
    app: Flask, platforms: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # issue 14, item 7: the old command printed the "person erased" INFO line too
    from connector.db.models import Contact

    assert add_site(platforms).exit_code == 0
    with session(app) as s, s.begin():
        account_id = s.scalars(select(Account.id)).one()
        s.add(Contact(account_id=account_id, email="x@y.example", email_normalized="x@y.example"))
    status, out, err = main(
        platforms["env"], monkeypatch, capsys, "privacy", "forget", "--email", "x@y.example"
    )
    assert status == 0 and err == ""
    assert json.loads(out)["found"] is True  # the person was erased, and the output is the receipt
