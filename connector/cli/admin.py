"""`crm-connector tokens|users|secrets`: API tokens, dashboard sign-ins and re-encryption.

Each works on a database that is already there (on_existing_database) and prints what
was made once: a token or a generated password is shown only here.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError

from connector import db
from connector.accounts import stores
from connector.cli.support import on_existing_database, ready, the_app
from connector.context import settings_of, vault_of
from connector.errors import BadInput

commands = AppGroup("admin")  # its groups are added to `crm-connector` (connector.cli)


# --- API tokens ----------------------------------------------------------------------------


@commands.group("tokens")
def tokens_group() -> None:
    """API tokens, each scoped to one merchant account."""


@tokens_group.command("create", with_appcontext=False)
@on_existing_database
@click.option("--account", default="default", show_default=True, help="an existing merchant account's name")
@click.option("--name", default="api", show_default=True, help="what the token is for")
def tokens_create(account: str, name: str) -> None:
    """Create an API token (printed once; only its hash is kept)."""
    from connector.web.api import create_token

    app = the_app()
    ready(app)
    with db.session(app) as s, s.begin():
        token = create_token(s, stores.existing_account(s, account).id, name)
    click.echo(token)


# --- dashboard users ------------------------------------------------------------------------


@commands.group("users")
def users_group() -> None:
    """Dashboard sign-ins, each seeing one merchant account."""


@users_group.command("create", with_appcontext=False)
@on_existing_database
@click.option("--email", required=True, help="the sign-in e-mail")
@click.option("--account", default="default", show_default=True, help="an existing merchant account's name")
@click.option("--password", help="at least 10 characters (default: one is generated and printed once)")
def users_create(email: str, account: str, password: str | None) -> None:
    """Create a dashboard sign-in for the account."""
    import secrets as random

    from connector.web.dashboard import create_user

    app = the_app()
    ready(app)
    chosen = password or random.token_urlsafe(12)
    try:
        with db.session(app) as s, s.begin():
            create_user(s.connection(), stores.existing_account(s, account).id, email, chosen)
    except IntegrityError:
        raise BadInput(f"--email: {email} already has a sign-in") from None
    settings = settings_of(app)
    where = (
        f"at {settings.app_url}/login"
        if settings.app_url_given
        else "at /login of the connector's web address (APP_URL is not set; `crm-connector run` "
        "serves http://127.0.0.1:5000 unless given --port)"
    )
    click.echo(f"{email} can sign in {where}" + ("" if password else f" with {chosen}"))


@users_group.command("set-password", with_appcontext=False)
@on_existing_database
@click.option("--email", required=True, help="the sign-in e-mail")
@click.option("--password", help="at least 10 characters (default: one is generated and printed once)")
def users_set_password(email: str, password: str | None) -> None:
    """Give a dashboard sign-in a new password; every session signed in before ends."""
    import secrets as random

    from sqlalchemy import select

    from connector.db.operations import DashboardUser
    from connector.web.dashboard import set_password

    app = the_app()
    ready(app)
    chosen = password or random.token_urlsafe(12)
    with db.session(app) as s, s.begin():
        user_id = s.scalar(select(DashboardUser.id).where(DashboardUser.email == email.strip().lower()))
        if user_id is None:
            raise BadInput(f"--email: no sign-in {email}; see `crm-connector users create`")
        set_password(s.connection(), user_id, chosen)
    click.echo(f"{email} has a new password" + ("" if password else f": {chosen}"))


# --- secrets -------------------------------------------------------------------------------


@commands.group("secrets")
def secrets_group() -> None:
    """Encryption of platform tokens and webhook secrets at rest."""


@secrets_group.command("rotate", with_appcontext=False)
@on_existing_database
def secrets_rotate() -> None:
    """Re-encrypt every stored secret under the first CONNECTOR_ENCRYPTION_KEY."""
    app = the_app()
    ready(app)
    with db.session(app) as s, s.begin():
        count = stores.rotate_secrets(s, vault_of(app))
    click.echo(f"{count} secrets re-encrypted under the first key; older keys can now be removed")
