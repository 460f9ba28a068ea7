"""A mistyped command line, on any command, is one line on stderr naming the command,
what was wrong (the option, argument or command) and where its right use is shown, with
exit status 2; a bare group still shows its help; `db upgrade` starts no Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.cli import main
from tests.test_cli_errors import run

MISTYPED = [
    (["sync"], "crm-connector sync: missing argument 'STORE_REF'"),
    (
        ["sync", "1", "--entity", "bogus"],
        "crm-connector sync: invalid value for '--entity': 'bogus' is not one of",
    ),
    (
        ["stores", "add-shopify", "--token", "t", "--shop"],
        "crm-connector stores add-shopify: option '--shop' requires",
    ),
    (
        ["stores", "list", "--jsn"],
        "crm-connector stores list: no such option '--jsn' (did you mean '--json'?)",
    ),
    (["stores", "lst"], "crm-connector stores: no such command 'lst' (did you mean 'list'?)"),
    (["privacy", "forget"], "crm-connector privacy forget: missing option '--email'"),
    (["sandbox", "--port", "abc"], "crm-connector sandbox: invalid value for '--port'"),
    (["nosuch"], "crm-connector: no such command 'nosuch'"),
]


@pytest.mark.parametrize(("words", "said"), MISTYPED, ids=[" ".join(w) for w, _ in MISTYPED])
def test_a_usage_error_is_one_line_naming_the_option_and_the_fix(
    words: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(words)
    out, err = capsys.readouterr()
    command = said.split(":")[0]
    assert exited.value.code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(said), err
    assert err.rstrip().endswith(f"; see `{command} --help`")


def test_a_bare_group_still_shows_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["stores"])
    assert exited.value.code == 2  # as click has it: no command was given
    shown = capsys.readouterr()
    assert "Commands:" in shown.out + shown.err and "remove" in shown.out + shown.err


def test_db_upgrade_migrates_without_starting_redis(tmp_path: Path) -> None:
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    instance = tmp_path / "instance"
    # given the embedded default (no DATABASE_URL, no REDIS_URL)
    upgraded = run("db", "upgrade", cwd=cwd, home=home, CONNECTOR_INSTANCE_PATH=str(instance))
    # then the database is at the newest revision and no embedded Redis was started
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.startswith("database at revision") and (instance / "crm.sqlite3").exists()
    assert not (instance / "redis").exists()
    # and an unknown revision is one line naming the option, exit 2
    unknown = run(
        "db", "upgrade", "--revision", "nope", cwd=cwd, home=home, CONNECTOR_INSTANCE_PATH=str(instance)
    )
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "--revision" in unknown.stderr
