"""The peer tests run third-party sync tools against the sandbox only: they never touch the
connector's database or Redis, so CI runs them once, on the embedded default, and its second
run (PostgreSQL + Redis, DATABASE_URL set) skips them saying why."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.environ.get("DATABASE_URL"):
        return
    skip = pytest.mark.skip(reason="peers read the sandbox only; run once, on the embedded default")
    for item in items:
        if item.path.parent.name == "peers":
            item.add_marker(skip)
