"""What every command shares: the one error path and the database found, not assumed.

An error that has a remedy (a setting, a missing extra, a database or Redis that cannot
be used, bad input, a mistyped command line) becomes one line naming what to fix, with
exit status 2; only
`--debug` shows a traceback. A command that works on what is already there runs only
when the database exists, and otherwise says where it looked instead of creating one.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import redis
from flask import Flask, current_app
from flask.cli import ScriptInfo
from flask.ctx import AppContext
from sqlalchemy import exc as sa
from sqlalchemy.engine import make_url

import platforms
from connector import config
from connector.errors import ConfigError, ConnectorError

F = TypeVar("F", bound=Callable[..., Any])
# an optional dependency's top-level module → (what needs it, the extra that installs it)
EXTRAS = {
    "psycopg": ("DATABASE_URL needs", "postgres"),
    "psycopg_binary": ("DATABASE_URL needs", "postgres"),
    "graphql": ("the demo and the sandbox need", "sandbox"),
}


class NoDatabase(ConfigError):
    """The settings point at an SQLite file that does not exist (yet)."""

    def __init__(self, path: Path) -> None:
        here = Path("instance", "crm.sqlite3")
        hint = (
            f"; there is one in {here.parent.resolve()}: set CONNECTOR_INSTANCE_PATH to use it"
            if here.is_file() and here.resolve() != path
            else f"; {add_commands_hint()} creates one"
        )
        super().__init__(
            f"no database at {path} (CONNECTOR_INSTANCE_PATH, else the per-user data folder; "
            f"or DATABASE_URL){hint}"
        )
        self.path = path


def require_database() -> None:
    """Raise NoDatabase when the settings name an SQLite file that is not there (after
    checking every setting, as starting would, without writing anything)."""
    config.load_settings(write_secrets=False)
    path = config.embedded_database_file()
    if path is not None and not path.exists():
        raise NoDatabase(path)


def on_existing_database(command: F) -> F:
    """Run the command in the app's context, only if its database exists (register the
    command with `with_appcontext=False`: the app is built here, after the check)."""

    @functools.wraps(command)
    def checked(*args: Any, **kwargs: Any) -> Any:
        require_database()
        with app_context():
            return command(*args, **kwargs)

    return checked  # type: ignore[return-value]


def app_context() -> AppContext:
    """The app's context, the app built now (for a command that checked things first)."""
    return click.get_current_context().ensure_object(ScriptInfo).load_app().app_context()


def one_line(error: Exception) -> tuple[str, int]:
    """The line to print for an error that escaped a command, and the exit status."""
    if isinstance(error, ConnectorError):
        return error.reason, 2
    if isinstance(error, ModuleNotFoundError) and (error.name or "").split(".")[0] in EXTRAS:
        needs, extra = EXTRAS[(error.name or "").split(".")[0]]
        return (
            f'{needs} the {error.name} package, which is not installed: pip install "crm-connector[{extra}]"',
            2,
        )
    if isinstance(error, sa.DBAPIError | sa.ArgumentError | sa.NoSuchModuleError):
        cause = getattr(error, "orig", None) or error
        return f"DATABASE_URL: cannot use the database {_database_shown()}: {_first_line(cause)}", 2
    if isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return f"REDIS_URL: cannot reach Redis at {_redis_shown()}: {_first_line(error)}", 2
    return f"unexpected error ({type(error).__name__}: {_first_line(error)}); --debug shows where", 1


def usage_line(error: click.UsageError, root: click.Group, args: list[str]) -> str:
    """A mistyped command line as one line: the command, what was wrong with it (click
    names the option, argument or command) and where its right use is shown."""
    path = error.ctx.command_path if error.ctx is not None else _path_in(root, args)
    said = " ".join(error.format_message().split()).rstrip(".")
    said = re.sub(r"\. \(?Did you mean (.+?)\?\)?$", r" (did you mean \1?)", said)
    return f"{path}: {said[:1].lower()}{said[1:]}; see `{path} --help`"


def _path_in(root: click.Group, args: list[str]) -> str:
    """The command the words name (click leaves some errors without their command)."""
    path = ["crm-connector"]
    found: click.Command | None = root
    words = iter(a for a in args if not a.startswith("-"))
    while isinstance(found, click.Group):
        found = found.get_command(click.Context(found), next(words, ""))
        if found is not None:
            path.append(found.name or "")
    return " ".join(path)


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _database_shown() -> str:
    try:
        url = config.database_url()
    except ConnectorError:
        return "(DATABASE_URL)"
    return make_url(url).render_as_string(hide_password=True)


def _redis_shown() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        return "(embedded)"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa.ArgumentError:
        return "(REDIS_URL)"


def the_app() -> Flask:
    """The app of the command's context (built by the group for each command)."""
    return current_app._get_current_object()  # type: ignore[attr-defined]


def ready(app: Flask) -> None:
    """The schema is there: upgraded on its own for the embedded database, else checked."""
    from connector import db
    from connector.context import settings_of

    db.ensure_schema(db.get_engine(app), auto_upgrade=settings_of(app).embedded_database)


def add_commands_hint() -> str:
    """How to connect a store from the command line, for messages:
    "`crm-connector stores add-a` or `stores add-b`"."""
    names = [f"stores add-{p.NAME}" for p in platforms.every() if p.ADD_HELP]
    return " or ".join(f"`{'crm-connector ' if i == 0 else ''}{n}`" for i, n in enumerate(names))
