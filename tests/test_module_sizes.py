"""The house rule on size, over the AST of the application's packages (connector/, its
migrations excepted, platforms/, destinations/, sync/, webhooks/): no module of over 400 lines, no function
over 60; a new offender fails at once, named with its length. sandbox/ stays out: it is a
simulator of the platforms (their payloads written out field by field), run by tests and the
demo, not the connector; bench/ and tests/ are not the application either."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("connector", "platforms", "destinations", "sync", "webhooks")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def offences(path: str, source: str) -> dict[str, int]:
    """What in this module is over the limits: the module by its path, each function by
    path:qualified.name; with its length in lines."""
    found: dict[str, int] = {}
    lines = len(source.splitlines())
    if lines > MAX_MODULE_LINES:
        found[path] = lines
    for name, length in _function_lengths(ast.parse(source), ""):
        if length > MAX_FUNCTION_LINES:
            found[f"{path}:{name}"] = length
    return found


def _function_lengths(node: ast.AST, prefix: str) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}{child.name}"
            if not isinstance(child, ast.ClassDef):
                out.append((name, (child.end_lineno or child.lineno) - child.lineno + 1))
            out += _function_lengths(child, f"{name}.")
        else:
            out += _function_lengths(child, prefix)
    return out


def checked_modules() -> list[Path]:
    found = (p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))
    return sorted(p for p in found if "migrations" not in p.parts)


def all_offences() -> dict[str, int]:
    found: dict[str, int] = {}
    for module in checked_modules():
        found |= offences(module.relative_to(ROOT).as_posix(), module.read_text(encoding="utf-8"))
    return found


def test_the_check_finds_a_long_module_and_a_long_nested_function() -> None:
    # given a module of 402 lines whose class holds a method of 61 lines and one of 60
    body = "\n".join(f"        x{n} = {n}" for n in range(59))
    source = f"class Pages:\n    def long(self):\n{body}\n        return 0\n"
    source += f"    def fits(self):\n{body}\n"
    source += "\n" * (402 - len(source.splitlines()))
    # when it is checked, then the module and the long method are named, and nothing else
    assert offences("m.py", source) == {"m.py": 402, "m.py:Pages.long": 61}


def test_no_module_or_function_of_the_application_is_over_the_limits() -> None:
    # given every module of the checked packages but the migrations, each package among them
    modules = checked_modules()
    assert {m.relative_to(ROOT).parts[0] for m in modules} == set(PACKAGES)
    assert len(modules) > 80
    # when each is measured, then none is over the limits
    assert all_offences() == {}, f"over {MAX_MODULE_LINES} lines a module, {MAX_FUNCTION_LINES} a function"
