"""The `crm-connector` command: the group, and the console script's one error path.

Every command runs in an app context built by the factory (FlaskGroup does this for
each command unless told not to); the commands live by concern in serving.py (the
Procfile roles, demo, sandbox, db), stores.py (stores, webhooks), admin.py (tokens,
users, secrets), sync.py and privacy.py. One error path (connector.cli.support) prints any
failure with a remedy as one line naming what to fix, with exit status 2. `--help` and
`--version` build nothing and touch no folder.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any

import click
from flask.cli import FlaskGroup

from connector import create_app, logs
from connector.cli import (
    admin,
    destinations_mapping,
    destinations_salesforce,
    destinations_zoho,
    serving,
    stores,
)
from connector.cli.destinations import commands as destinations_group
from connector.cli.privacy import privacy_group
from connector.cli.support import one_line, usage_line
from connector.cli.sync import sync_command
from connector.runtime import signals

ROLES = ("serve", "worker", "cron", "run")  # long-running: their log lines are their output


class ConnectorGroup(FlaskGroup):
    """FlaskGroup's app context per command, without Flask's -e/-A/--debug options and
    without building the app just to list the commands (so `--help` touches nothing)."""

    def __init__(self, **extra: Any) -> None:
        super().__init__(**extra)
        flask_options = ("env_file", "app", "debug")  # ours is named "traceback"
        self.params = [p for p in self.params if p.name not in flask_options]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return click.Group.get_command(self, ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)


@click.group(
    cls=ConnectorGroup,
    create_app=lambda: create_app(),
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    context_settings={"auto_envvar_prefix": None},
)
@click.version_option(package_name="crm-connector", prog_name="crm-connector")
@click.option("-v", "--verbose", is_flag=True, help="also show the log's INFO lines (on stderr)")
@click.option("--debug", "traceback", is_flag=True, help="show the traceback of an error instead of one line")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, traceback: bool) -> None:
    """crm-connector: keep a CRM store in step with Shopify and WooCommerce stores."""
    role = ctx.invoked_subcommand in ROLES
    logs.show_on_terminal(logging.INFO if verbose or role else logging.WARNING)
    signals.stop_on_signals()  # SIGTERM and SIGHUP unwind every command, as Ctrl-C does


cli.add_command(sync_command)
cli.add_command(privacy_group)
cli.add_command(destinations_group)
for kind_commands in (
    destinations_salesforce.COMMANDS,
    destinations_zoho.COMMANDS,
    destinations_mapping.COMMANDS,
):
    destinations_group.commands.update(kind_commands)
for module in (serving, stores, admin):
    for command in module.commands.commands.values():
        cli.add_command(command)


def main(args: list[str] | None = None) -> None:
    """The console script: run the command; a failure is one line on stderr (exit 2 when
    it names what to fix, 1 otherwise); `--debug` shows the traceback instead."""
    traceback = False
    words = list(sys.argv[1:] if args is None else args)
    try:
        with cli.make_context("crm-connector", words) as ctx:
            traceback = bool(ctx.params.get("traceback"))
            cli.invoke(ctx)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except signals.Stopped as stopped:  # SIGTERM or SIGHUP: said, as Ctrl-C is
        click.echo(f"stopped by {signal.Signals(stopped.signum).name}", err=True)
        sys.exit(stopped.code)
    except (click.exceptions.Abort, KeyboardInterrupt):  # Ctrl-C: what was started has ended
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.exceptions.NoArgsIsHelpError as exc:  # a bare group: its help, as asked
        exc.show()
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        click.echo(usage_line(exc, cli, words), err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        if traceback:
            raise
        message, status = one_line(exc)
        click.echo(f"crm-connector: {message}", err=True)
        sys.exit(status)
