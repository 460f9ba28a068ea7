"""The import-layer contract (pyproject's [tool.importlinter], run by .ci/run) holds on the
tree as it is and fails on a copy of it that imports upwards or in a circle."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("connector", "platforms", "sync", "webhooks", "sandbox")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def copy_of_the_tree(to: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, to / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", to / "pyproject.toml")
    return to


def add_lines(module: Path, *lines: str) -> None:
    module.write_text(module.read_text() + "\n" + "\n".join(lines) + "\n")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120
    )


def test_the_tree_as_it_is_keeps_every_contract(tmp_path: Path) -> None:
    result = lint_imports(copy_of_the_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_database_importing_the_web_inside_a_function_breaks_the_layers(tmp_path: Path) -> None:
    tree = copy_of_the_tree(tmp_path)
    add_lines(
        tree / "connector/db/analyze.py",
        "def _upwards() -> None:",
        "    from connector.web import api",
    )
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "connector.db is not allowed to import connector.web" in result.stdout
    assert "connector.db.analyze -> connector.web.api" in result.stdout


def test_webhooks_importing_sync_breaks_the_one_way_order_between_them(tmp_path: Path) -> None:
    tree = copy_of_the_tree(tmp_path)
    add_lines(tree / "webhooks/verify.py", "from sync import retry")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "webhooks is not allowed to import sync" in result.stdout


def test_a_cycle_between_two_crm_modules_is_found(tmp_path: Path) -> None:
    tree = copy_of_the_tree(tmp_path)  # channels imports insights already
    add_lines(
        tree / "connector/crm/insights.py", "def _back() -> None:", "    from connector.crm import channels"
    )
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "No import cycle between the sub-packages of any package BROKEN" in result.stdout


def test_platforms_reaching_the_database_or_the_sandbox_is_refused(tmp_path: Path) -> None:
    tree = copy_of_the_tree(tmp_path)
    add_lines(tree / "platforms/reach.py", "import sqlalchemy", "import sandbox.world")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "platforms is not allowed to import sqlalchemy" in result.stdout
    assert "platforms.reach -> sandbox.world" in result.stdout


def test_a_module_of_connector_left_out_of_the_layers_is_named(tmp_path: Path) -> None:
    tree = copy_of_the_tree(tmp_path)
    (tree / "connector/stray.py").write_text('"""Placed nowhere."""\n')
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "connector.stray" in result.stdout


def test_importing_every_platform_adapter_loads_neither_flask_nor_the_database() -> None:
    # given a fresh interpreter, when every platform package and its modules are imported
    # (they read connector.errors and connector.config, so connector/__init__.py runs too)
    probe = (
        "import importlib, pkgutil, sys\n"
        "import platforms\n"
        "for name in platforms.names():\n"
        "    package = importlib.import_module(platforms.PLATFORMS[name])\n"
        "    for info in pkgutil.iter_modules(package.__path__):\n"
        "        importlib.import_module(f'{package.__name__}.{info.name}')\n"
        "print(sorted(m for m in ('flask', 'sqlalchemy', 'connector.db', 'sandbox') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    # then none of Flask, SQLAlchemy, the database layer or the sandbox was loaded
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
