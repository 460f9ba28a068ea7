"""Where a Shopify shop's URLs hang from for the current request (see sandbox/addressing.py):
`https://<shop>.myshopify.com` when the client reached the shop by its own host, else
`<sandbox origin>/shopify/<domain>`, so every URL handed back works as the client asked."""

from __future__ import annotations

from sandbox.addressing import shop_base as addressed_base
from sandbox.http import current_world


def shop_base(domain: str) -> str:
    return addressed_base(domain, f"{current_world().base_url}/shopify/{domain}")
