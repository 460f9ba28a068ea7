"""Destination tests run against the sandbox's HubSpot (fixtures in tests/conftest_sandbox.py)."""

from tests.conftest_sandbox import receiver, sandbox, world  # noqa: F401
