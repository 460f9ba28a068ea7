"""The OpenAPI description of `/api/v1/overview`: its period arguments and its answer, the
figures of the dashboard's Overview page (`queries.overview`), each with the previous
period's value and the change.
"""

from __future__ import annotations

from typing import Any

from connector.web.openapi_schemas import INT, NINT, NNUM, NSTR, STR, object_of

DATE = {"type": "string", "format": "date"}
PARAMS = [
    {
        "name": "period",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["7d", "30d", "90d", "12m", "custom"]},
        "description": "a preset ending today (default 30d), or custom (from, to)",
    },
    {
        "name": "from",
        "in": "query",
        "required": False,
        "schema": DATE,
        "description": "first day (UTC), included",
    },
    {
        "name": "to",
        "in": "query",
        "required": False,
        "schema": DATE,
        "description": "last day (UTC), included; default today",
    },
]


def _change(kind: dict[str, Any]) -> dict[str, Any]:
    return object_of({"value": kind, "previous": kind, "change": NNUM})


MONEY, COUNT, RATE = _change(STR), _change(INT), _change(NNUM)
LABELS = {"type": "array", "items": STR}


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


SCHEMAS = {
    "Overview": object_of(
        {
            "period": object_of(
                {
                    "preset": STR,
                    "from": STR,
                    "to": STR,
                    "days": INT,
                    "previous_from": STR,
                    "previous_to": STR,
                    "bucket": {"type": "string", "enum": ["day", "week", "month"]},
                }
            ),
            "money": _list(
                object_of(
                    {
                        "currency": NSTR,
                        "revenue": MONEY,
                        "orders": COUNT,
                        "average_order_value": MONEY,
                        "refunds": MONEY,
                    }
                )
            ),
            "customers": object_of(
                {"customers": COUNT, "new": COUNT, "returning": COUNT, "repeat_rate": RATE}
            ),
            "revenue_by_channel": _list(
                object_of(
                    {
                        "currency": NSTR,
                        "labels": LABELS,
                        "channels": _list(object_of({"channel": STR, "values": _list(STR)})),
                    }
                )
            ),
            "new_vs_returning": object_of({"labels": LABELS, "new": _list(INT), "returning": _list(INT)}),
            "top_products": _list(
                object_of(
                    {
                        "store_id": INT,
                        "product_id": NINT,
                        "title": NSTR,
                        "currency": NSTR,
                        "units": INT,
                        "revenue": STR,
                    }
                )
            ),
            "top_regions": _list(
                object_of({"currency": NSTR, "country": NSTR, "region": NSTR, "orders": INT, "revenue": STR})
            ),
            "stores": _list(
                object_of(
                    {
                        "id": INT,
                        "platform": STR,
                        "domain": STR,
                        "health": object_of({"state": STR, "label": STR, "reason": NSTR}),
                        "last_synced_at": NSTR,
                    }
                )
            ),
        }
    )
}
