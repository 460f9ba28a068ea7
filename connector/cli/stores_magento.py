"""`crm-connector stores set-magento-webhook-key STORE --key-file PEM`: the public key an
Adobe Commerce store's webhooks are checked with (Stores → Configuration → Adobe Services →
Webhooks). It is checked before anything is saved, kept sealed where a store's webhook
secret lives, and the address to give the store's hooks is printed. Platform code lives in
platforms/magento; this is its command.
"""

from __future__ import annotations

from pathlib import Path

import click

from connector import db, logs
from connector.accounts import stores
from connector.cli.support import on_existing_database, ready, the_app
from connector.context import settings_of, vault_of
from connector.errors import BadInput
from platforms.magento.webhooks import MAX_KEY_BYTES, TOPICS, public_key_pem

log = logs.get(__name__)


@click.command("set-magento-webhook-key")  # no app context: on_existing_database makes it
@on_existing_database
@click.argument("store_ref")
@click.option(
    "--key-file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the webhooks' public key (PEM), as the Commerce admin shows it",
)
def set_magento_webhook_key(store_ref: str, key_file: Path) -> None:
    """Take an Adobe Commerce store's signed webhooks, checked with this public key."""
    pem = public_key_pem(_read(key_file))  # BadInput (exit 2) before anything is opened
    app = the_app()
    ready(app)
    with db.session(app) as s, s.begin():
        store = stores.find_store(s, store_ref)
        if store.platform != "magento":
            raise BadInput(f"store {store.id} is not a Magento store")
        store.webhook_secret = vault_of(app).seal({"secret": pem})
        store_id, address = store.id, f"{settings_of(app).app_url}/webhooks/magento/{store.store_key}"
    log.info("magento webhook key set", extra={"store_id": store_id})
    click.echo(f"store {store_id}: webhook public key saved")
    click.echo(f"give each hook (type after, not required) the URL {address}")
    click.echo(f"hooks taken: {', '.join(TOPICS)}")


def _read(key_file: Path) -> bytes:
    try:
        with key_file.open("rb") as f:
            return f.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"cannot read {key_file}: {exc.strerror}") from None
