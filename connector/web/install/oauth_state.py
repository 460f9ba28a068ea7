"""Single-use state for the install flows (Shopify's OAuth state, WooCommerce's pending
connection): kept server-side in Redis with a time to live, and deleted by the first
request that presents it, before anything is asked of the platform. A replayed cookie or
callback therefore finds nothing, whatever the browser still holds.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import redis


def _key(kind: str, state: str) -> str:
    return f"crm:oauth-state:{kind}:{state}"


def issue(conn: redis.Redis, kind: str, data: dict[str, Any], ttl_s: int) -> str:
    """A new random state holding `data`, valid for `ttl_s` seconds and for one use."""
    state = secrets.token_urlsafe(24)
    conn.set(_key(kind, state), json.dumps(data), ex=ttl_s)
    return state


def take(conn: redis.Redis, kind: str, state: object) -> dict[str, Any] | None:
    """The data of a state still pending, removed at once (atomically); None if it never
    was issued, expired, or was used already."""
    if not isinstance(state, str) or not state or len(state) > 64:
        return None
    raw = conn.getdel(_key(kind, state))
    if raw is None:
        return None
    data: dict[str, Any] = json.loads(raw)
    return data
