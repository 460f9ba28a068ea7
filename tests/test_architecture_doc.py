"""docs/ARCHITECTURE.md stays true: every file it names (`path.py`, `path.py:function`) exists,
and every function it names is defined in that file, so a move or a rename that forgets the
page fails here. In the folders table a bare file name is looked for in its row's folders."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
REFERENCE = re.compile(r"`((?:[\w<>]+/)*[\w<>]+\.py)(?::([\w.]+))?`")
FOLDER = re.compile(r"`((?:\w+/)+)`")
PACKAGES = ("connector", "platforms", "sync", "webhooks", "sandbox")
PLATFORM_FOLDERS = ("shopify", "woocommerce")


def candidates(path: str, folders: list[str]) -> list[Path]:
    """The files a reference may mean: `<p>` stands for each platform; a path with a folder is
    read from the root or from connector/ (the page writes `crm/consent.py`); a bare name is
    any file of that name under the row's folders (else under the packages)."""
    paths = [path.replace("<p>", name) for name in PLATFORM_FOLDERS] if "<p>" in path else [path]
    found: list[Path] = []
    for p in paths:
        if "/" in p:
            found.append(ROOT / p if (ROOT / p).exists() else ROOT / "connector" / p)
            continue
        under = [ROOT / f for f in folders] or [ROOT / package for package in PACKAGES]
        matches = [m for folder in under for m in folder.rglob(p)]
        found.append(matches[0] if matches else ROOT / p)
    return found


def defined(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.ClassDef)}


def references() -> list[tuple[str, str | None, list[str]]]:
    out: list[tuple[str, str | None, list[str]]] = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        folders = FOLDER.findall(line.split("|")[1]) if line.startswith("| `") else []
        out += [(m.group(1), m.group(2), folders) for m in REFERENCE.finditer(line)]
    return out


def test_every_file_and_function_the_architecture_page_names_exists() -> None:
    # given the page's references to files and functions
    found = references()
    assert len(found) > 30
    missing: list[str] = []
    for path, function, folders in found:
        for module in candidates(path, folders):
            # when each is looked up in the tree, then the file is there, and so is the function
            if not module.exists():
                missing.append(path)
            elif function and function.split(".")[-1] not in defined(module):
                missing.append(f"{path}:{function}")
    assert missing == []
