"""The sandbox fixtures (shared with other test packages) live in tests/conftest_sandbox.py."""

from tests.conftest_sandbox import receiver, sandbox, world  # noqa: F401
from tests.sandbox.magento_rig import magento  # noqa: F401
