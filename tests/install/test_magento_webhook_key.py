"""`crm-connector stores set-magento-webhook-key STORE --key-file PEM`: the Adobe Commerce
store's webhook public key is checked before anything is saved (a bad or private key, an
unreadable file, an unknown or non-Magento store: one line, exit 2, nothing written), then
kept sealed where the receiver looks, and the hooks' URL is printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from connector.accounts.stores import account_named, connect_store
from connector.db import session
from connector.db.models import Store
from tests.test_stores_cli import cli, main, snapshot

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC = KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
PRIVATE = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)


def two_stores(app: Flask) -> tuple[int, int, str]:
    """A Magento store and a WooCommerce site; the Magento store's id and URL key."""
    with session(app) as s, s.begin():
        account = account_named(s, "test")
        magento = connect_store(
            s,
            app.extensions["crm.vault"],
            account=account,
            platform="magento",
            domain="https://magento.example",
            credentials={"access_token": "t" * 32},
        )
        woo = connect_store(
            s,
            app.extensions["crm.vault"],
            account=account,
            platform="woocommerce",
            domain="https://woo.example",
            credentials={"consumer_key": "ck", "consumer_secret": "cs"},
        )
        s.flush()
        return magento.id, woo.id, str(magento.store_key)


def test_the_public_key_is_kept_sealed_and_the_hook_url_shown(
    app: Flask, app_env: dict[str, str], tmp_path: Path
) -> None:
    magento, _woo, key = two_stores(app)
    (tmp_path / "key.pem").write_bytes(b"\r\n" + PUBLIC.replace(b"\n", b"\r\n"))  # pasted on Windows
    result = cli(
        app_env, "stores", "set-magento-webhook-key", str(magento), "--key-file", str(tmp_path / "key.pem")
    )
    assert result.exit_code == 0, result.output
    assert f"/webhooks/magento/{key}" in result.output
    assert "observer.sales_order_save_after" in result.output
    with session(app) as s:
        sealed = s.get_one(Store, magento).webhook_secret
    assert sealed is not None and PUBLIC not in sealed  # sealed, as the other secrets are
    assert app.extensions["crm.vault"].open(sealed)["secret"] == PUBLIC.decode()


@pytest.mark.parametrize(
    ("content", "store", "said"),
    [
        (b"hello", "magento", "not a PEM public key"),
        (PRIVATE, "magento", "this is a private key"),
        (PUBLIC[:-40], "magento", "not a PEM public key"),
        (None, "magento", "cannot read"),
        (PUBLIC, "woo", "is not a Magento store"),
        (PUBLIC, "999", "no store '999'"),
    ],
)
def test_a_bad_key_or_store_saves_nothing(
    app: Flask,
    app_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: bytes | None,
    store: str,
    said: str,
) -> None:
    magento, woo, _key = two_stores(app)
    path = tmp_path / "key.pem"
    if content is not None:
        path.write_bytes(content)
    ref = {"magento": str(magento), "woo": str(woo)}.get(store, store)
    before = snapshot(app)
    # when the merchant runs the command (the console script: its one error line and status)
    status, _out, err = main(
        app_env, monkeypatch, capsys, "stores", "set-magento-webhook-key", ref, "--key-file", str(path)
    )
    # then one line says why, exit 2, and nothing is written
    assert status == 2, err
    assert said in err and len(err.strip().splitlines()) == 1
    assert "BEGIN PRIVATE" not in err
    assert snapshot(app) == before
