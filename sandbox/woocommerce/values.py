"""How the sandbox's WooCommerce writes values: site-local and GMT times (the site clock runs at
UTC-3, so `date_*` and `date_*_gmt` differ, as on real stores), money as a two-decimal string,
and a record's `_links`."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

SITE_OFFSET = timedelta(hours=-3)


def local(at: datetime | None) -> str | None:
    return None if at is None else (at + SITE_OFFSET).strftime("%Y-%m-%dT%H:%M:%S")


def gmt(at: datetime | None) -> str | None:
    return None if at is None else at.strftime("%Y-%m-%dT%H:%M:%S")


def dates(prefix: str, at: datetime | None) -> dict[str, str | None]:
    return {prefix: local(at), f"{prefix}_gmt": gmt(at)}


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def links(base: str, path: str, collection: str, up: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "self": [{"href": f"{base}/wp-json/wc/v3/{path}"}],
        "collection": [{"href": f"{base}/wp-json/wc/v3/{collection}"}],
    }
    if up:
        out["up"] = [{"href": f"{base}/wp-json/wc/v3/{up}"}]
    return out
