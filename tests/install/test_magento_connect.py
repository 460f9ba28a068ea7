"""`crm-connector stores add-magento --url U --token T`: the token is checked against the store
(the sandbox's Magento, over real HTTP) before anything is saved; a bad URL, a refused token
or a store that cannot be reached is one line, exit 2, and nothing written; the token is
sealed like the other platforms' secrets and never shown or logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from connector.db import session
from connector.db.models import Store
from sandbox.generator import Sizes
from sandbox.server import SandboxServer
from sandbox.world import World
from tests.test_stores_cli import NEVER, cli, listed, main, snapshot

pytestmark = pytest.mark.slow


@pytest.fixture
def store(app_env: dict[str, str]) -> Iterator[dict[str, Any]]:
    """A sandbox with one Magento store; its manifest entry, with `env` and the server's `base`."""
    world = World(
        seed=9, sizes=Sizes(customers=6, orders=6, products=3), shops=0, woo_sites=0, magento_stores=1
    )
    server = SandboxServer(world).start()
    yield {**world.manifest()["magento"]["stores"][0], "env": app_env, "base": server.url}
    server.stop()


def add(store: dict[str, Any], *extra: str, url: str | None = None, token: str | None = None) -> list[str]:
    return [
        "stores",
        "add-magento",
        "--url",
        url or store["url"],
        "--token",
        token or store["access_token"],
        *extra,
    ]


def test_a_store_is_connected_once_its_token_is_accepted(
    app: Flask, store: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    # when the merchant pastes the store's URL (with a trailing slash) and its integration token
    with caplog.at_level(logging.DEBUG):
        result = cli(store["env"], *add(store, "--account", "north", url=store["url"] + "/"))
    assert result.exit_code == 0, result.output
    assert "no webhooks to register: the scheduled re-sync keeps this Magento store current" in result.output
    # then it is listed with the same entity shape as the other platforms' stores
    [row] = listed(store["env"])
    assert (row["platform"], row["domain"], row["status"]) == ("magento", store["url"], "active")
    assert row["entities"] == {"customers": NEVER, "orders": NEVER, "products": NEVER}
    # and the token is kept sealed, opened only by the vault, never shown or logged
    with session(app) as s:
        saved = s.scalars(select(Store).where(Store.platform == "magento")).one()
        assert saved.credentials is not None and store["access_token"].encode() not in saved.credentials
        assert app.extensions["crm.vault"].open(saved.credentials) == {"access_token": store["access_token"]}
    assert store["access_token"] not in result.output + caplog.text


def test_the_store_views_to_sync_are_a_setting_of_the_store(app: Flask, store: dict[str, Any]) -> None:
    # when the merchant names the store views to sync (repeated, and once twice)
    views = ("--store-view", "eu_en", "--store-view", "default", "--store-view", "eu_en")
    result = cli(store["env"], *add(store, *views))
    assert result.exit_code == 0, result.output
    # then they are kept with the store, each once
    with session(app) as s:
        saved = s.scalars(select(Store).where(Store.platform == "magento")).one()
        opened = app.extensions["crm.vault"].open(saved.credentials)
    assert opened == {"access_token": store["access_token"], "store_views": ["default", "eu_en"]}


def _refusals(store: dict[str, Any]) -> dict[str, tuple[list[str], str]]:
    zeros = "0" * 32
    return {
        "not a URL": (add(store, url="ftp://shop.example.com"), "is not a store URL"),
        "a password in the URL": (add(store, url="https://bob:hunter2@shop.example.com"), "must not hold"),
        "a token of the wrong shape": (add(store, token="short"), "the access token should be"),
        "a token the store refuses": (add(store, token=zeros), "refused the access token"),
        "nothing listens": (add(store, url="http://127.0.0.1:9/magento/x"), "cannot be reached (refused"),
        "no such store path": (
            add(store, url=store["base"] + "/magento/magento-9"),
            "is not a Magento store",
        ),
        "not Magento": (add(store, url=store["base"] + "/_sandbox"), "is not a Magento store"),
        "TLS to a plain-HTTP store": (
            add(store, url=store["url"].replace("http://", "https://")),
            "TLS failed",
        ),
        "a store view the store lacks": (
            add(store, "--store-view", "default", "--store-view", "fr_fr"),
            "has no store view 'fr_fr': its store views are default, eu_en",
        ),
        "not a store view code": (
            add(store, "--store-view", "EU English\x1b[2J"),
            "--store-view 'EU English",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "not a URL",
        "a password in the URL",
        "a token of the wrong shape",
        "a token the store refuses",
        "nothing listens",
        "no such store path",
        "not Magento",
        "TLS to a plain-HTTP store",
        "a store view the store lacks",
        "not a store view code",
    ],
)
def test_what_the_store_refuses_exits_2_in_one_line_and_saves_nothing(
    app: Flask,
    store: dict[str, Any],
    redis_conn: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    before, queued = snapshot(app), sorted(redis_conn.keys())
    args, message = _refusals(store)[case]
    status, out, err = main(store["env"], monkeypatch, capsys, *args)
    assert status == 2, (out, err)
    assert err.startswith("crm-connector: ") and message in err and err.count("\n") == 1, err
    assert "hunter2" not in err and store["access_token"] not in out + err
    assert snapshot(app) == before == [] and sorted(redis_conn.keys()) == queued


def test_a_revoked_token_is_refused_naming_magentos_words(
    app: Flask, store: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import requests

    assert requests.post(f"{store['base']}/_sandbox/faults", json={"revoke": "magento-1"}, timeout=10).ok
    status, _out, err = main(store["env"], monkeypatch, capsys, *add(store))
    assert (
        status == 2 and "refused the access token (The consumer isn't authorized to access Magento_" in err
    ), err
    assert snapshot(app) == []
