"""Verifying a Magento delivery before it acts: with no topic taken, every body is refused;
the rest (confirmations, sites that move) are the plain answers of `platforms.plain`.
"""

from __future__ import annotations

from typing import Any

from platforms.magento.webhooks import NOT_TAKEN


def refusal(topic: str, payload: Any, domain: str) -> str | None:
    return NOT_TAKEN
