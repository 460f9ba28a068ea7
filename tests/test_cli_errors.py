"""One error path for every command (issue 14, items 3, 6 and 8): a missing extra, an
unusable database or Redis, a busy port: one line naming the setting and the remedy,
exit 2, a traceback only with --debug; `--help` and `--version` touch nothing; the
instance folder is found, and a command with no database says where it looked."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import click
import pytest
from cryptography.fernet import Fernet

from connector.config import instance_folder

SECRETS = {"SECRET_KEY": "s" * 32, "CONNECTOR_ENCRYPTION_KEY": Fernet.generate_key().decode()}


def run(
    *args: str, cwd: Path, home: Path, prelude: str = "", **settings: str
) -> subprocess.CompletedProcess[str]:
    """The console script, as a new user runs it: in `cwd`, with its own HOME and only
    `settings` (no CONNECTOR_INSTANCE_PATH, DATABASE_URL or REDIS_URL unless given)."""
    unset = ("CONNECTOR_INSTANCE_PATH", "DATABASE_URL", "REDIS_URL", "XDG_DATA_HOME", "APP_URL")
    environ = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "-c", f"{prelude}from connector.cli import main; main()", *args],
        env={**environ, "HOME": str(home), "PYTHONPATH": str(Path(__file__).parents[1]), **settings},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path]:
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    return cwd, home


def everything_under(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*"))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_postgresql_url_without_the_extra_names_the_extra_to_install(places: tuple[Path, Path]) -> None:
    cwd, home = places
    blocked = "import sys; sys.modules['psycopg'] = None; "  # as after the Quick start's plain install
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/crm"
    answer = run("stores", "list", cwd=cwd, home=home, prelude=blocked, DATABASE_URL=url, **SECRETS)
    assert answer.returncode == 2
    assert answer.stderr == (
        "crm-connector: DATABASE_URL needs the psycopg package, which is not installed: "
        'pip install "crm-connector[postgres]"\n'
    )
    assert everything_under(cwd, home) == []


@pytest.mark.parametrize("command", [("demo", "--no-serve"), ("sandbox",)])
def test_the_demo_without_the_sandbox_extra_names_the_extra_to_install(
    places: tuple[Path, Path], command: tuple[str, ...]
) -> None:
    cwd, home = places
    blocked = "import sys; sys.modules['graphql'] = None; "  # installed without [sandbox]
    answer = run(*command, cwd=cwd, home=home, prelude=blocked)
    assert answer.returncode == 2
    assert answer.stderr == (
        "crm-connector: the demo and the sandbox need the graphql package, which is not installed: "
        'pip install "crm-connector[sandbox]"\n'
    )
    assert everything_under(cwd, home) == []


@pytest.mark.parametrize("command", ["serve", "run", "demo", "sandbox"])
def test_a_port_out_of_range_is_refused_before_anything_starts(
    places: tuple[Path, Path], command: str
) -> None:
    cwd, home = places
    answer = run(command, "--port", "99999", cwd=cwd, home=home, **SECRETS)
    assert answer.returncode == 2
    assert "'--port': 99999 is not in the range 1<=x<=65535" in answer.stderr
    assert everything_under(cwd, home) == []


def test_an_sqlite_file_in_a_missing_folder_is_one_line(places: tuple[Path, Path]) -> None:
    cwd, home = places
    url = "sqlite:////nonexistent/dir/x.db"
    answer = run(
        "db", "upgrade", cwd=cwd, home=home, DATABASE_URL=url, CONNECTOR_INSTANCE_PATH=str(home / "i")
    )
    assert answer.returncode == 2
    assert answer.stderr == (
        f"crm-connector: DATABASE_URL: cannot use the database {url}: unable to open database file\n"
    )
    listed = run(
        "stores", "list", cwd=cwd, home=home, DATABASE_URL=url, CONNECTOR_INSTANCE_PATH=str(home / "i")
    )
    assert listed.returncode == 0
    assert listed.stdout.startswith("no stores: no database at /nonexistent/dir/x.db (")


def test_redis_at_a_closed_port_is_one_line_and_debug_shows_the_traceback(
    places: tuple[Path, Path], database_url: str
) -> None:
    cwd, home = places
    url = f"redis://127.0.0.1:{closed_port()}/0"
    settings = {"DATABASE_URL": database_url, "REDIS_URL": url, "CONNECTOR_INSTANCE_PATH": str(home / "i")}
    answer = run("worker", "--burst", cwd=cwd, home=home, **settings, **SECRETS)
    assert answer.returncode == 2
    lines = answer.stderr.splitlines()
    assert lines[-1].startswith(
        f"crm-connector: REDIS_URL: cannot reach Redis at {url}: Error 111 connecting"
    )
    assert "Traceback" not in answer.stderr
    debug = run("--debug", "worker", "--burst", cwd=cwd, home=home, **settings, **SECRETS)
    assert debug.returncode != 0 and "Traceback (most recent call last)" in debug.stderr


def test_help_and_version_touch_nothing_and_hide_flasks_options(places: tuple[Path, Path]) -> None:
    cwd, home = places
    for args in (["--help"], ["--version"], ["stores", "--help"], ["demo", "--help"], ["sync", "--help"]):
        answer = run(*args, cwd=cwd, home=home)
        assert answer.returncode == 0, answer.stderr
        assert answer.stderr == ""
    top = run("--help", cwd=cwd, home=home).stdout
    assert "--env-file" not in top and "-A, --app" not in top and "FLASK" not in top
    assert "--debug" in top and "traceback" in top and "-v, --verbose" in top
    assert run("--version", cwd=cwd, home=home).stdout.startswith("crm-connector, version ")
    assert everything_under(cwd, home) == []  # no ./instance, no secrets, no per-user folder


def test_every_option_of_demo_and_of_json_output_is_described() -> None:
    from connector.cli import cli
    from connector.cli.serving import demo
    from connector.cli.stores import stores_group, stores_list, webhooks_check, webhooks_repair

    adds = [stores_group.get_command(None, f"add-{name}") for name in ("shopify", "woocommerce")]  # type: ignore[arg-type]
    for command in (demo, stores_list, webhooks_check, webhooks_repair, *adds):
        assert command is not None
        for option in command.params:
            if isinstance(option, click.Option):
                assert option.help, f"{command.name} {option.name}"
    assert cli.get_command(None, "demo") is demo  # type: ignore[arg-type]


def test_the_instance_folder_is_the_setting_else_the_per_user_data_folder(
    places: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, home = places
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.chdir(cwd)
    assert instance_folder({}) == home / ".local" / "share" / "crm-connector"
    assert instance_folder({"CONNECTOR_INSTANCE_PATH": str(cwd / "x")}) == cwd / "x"
    assert everything_under(cwd, home) == []


def test_a_command_with_no_database_says_where_it_looked_and_makes_nothing(places: tuple[Path, Path]) -> None:
    cwd, home = places
    where = home / ".local" / "share" / "crm-connector" / "crm.sqlite3"
    listed = run("stores", "list", cwd=cwd, home=home)
    assert listed.returncode == 0 and listed.stderr == ""
    assert listed.stdout.startswith(f"no stores: no database at {where} (CONNECTOR_INSTANCE_PATH, else")
    assert run("stores", "list", "--json", cwd=cwd, home=home).stdout == "[]\n"
    for args in (["tokens", "create"], ["sync", "1"], ["stores", "remove", "1", "--yes"]):
        answer = run(*args, cwd=cwd, home=home)
        assert answer.returncode == 2, args
        assert (
            answer.stderr.startswith(f"crm-connector: no database at {where}")
            and answer.stderr.count("\n") == 1
        )
    assert everything_under(cwd, home) == []


def test_a_busy_port_for_the_demo_suggests_another(tmp_path: Path, places: tuple[Path, Path]) -> None:
    cwd, home = places
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        answer = run("demo", "--no-serve", "--port", str(port), cwd=cwd, home=home)
    assert answer.returncode == 2
    assert answer.stderr == (
        f"crm-connector: --port: {port} is in use by another program; choose a free one, e.g. --port 5050\n"
    )
    assert everything_under(cwd, home) == []


def test_a_database_left_in_the_old_place_is_pointed_at(places: tuple[Path, Path]) -> None:
    cwd, home = places
    (cwd / "instance").mkdir()
    (cwd / "instance" / "crm.sqlite3").write_bytes(b"")  # as `./instance` held it before
    listed = run("stores", "list", cwd=cwd, home=home)
    assert listed.returncode == 0
    assert listed.stdout.rstrip().endswith(
        f"; there is one in {cwd / 'instance'}: set CONNECTOR_INSTANCE_PATH to use it"
    )
    assert everything_under(home) == []
